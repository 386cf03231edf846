"""The countdown widget in JupyterLab, in Debian's Chromium, against the ModelArts simulator.

One JupyterLab (jupyter_lease server extension on) serves this module's tests; each test opens
its own notebook and kernel and runs cells with Shift+Enter, as a user does. The last test
starts its own server with a real token under a non-root base_url.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, Callable, Dict, List, Tuple

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.jupyter import JupyterServer
from tests.support.page import parse_countdown
from tests.support.scenarios import (
    EXTEND_CELLS,
    FAKE_NOTIFICATIONS,
    LOAD,
    SLEEP,
    TICKING_CELLS,
    clear_outputs,
    countdown_ticks_while_sleeping,
    extend_during_sleep,
    extend_fails_during_sleep,
    fresh_lease,
    renewals,
    wait_state,
    wait_until,
)
from tests.support.status import write_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def lab(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(app="lab")


# -- 1. the countdown ticks while a cell runs ------------------------------------------------------


def test_countdown_ticks_while_a_cell_runs(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    nb = open_notebook(lab, "ticking.ipynb", TICKING_CELLS)
    fresh_lease(lab, lease_simulator, 9 * 60 + 30)
    nb.run_cells(2)
    countdown_ticks_while_sleeping(nb)
    nb.screenshot("countdown.png")
    nb.screenshot("countdown-lab.png", full_page=True)


# -- 2. warnings fire from the browser's timer while a cell runs -----------------------------------


def test_warning_stage_banner_and_title_while_a_cell_runs(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    # The tab title is the page's one warner's (the status item's): on here, as by default, at
    # the thresholds the cell asks for.
    write_settings(lab, warnAt=["1m", "15s"])
    try:
        _warning_stage_banner_and_title(lab, lease_simulator, open_notebook)
    finally:
        write_settings(lab, notifications=False)  # the harness's quiet default


def _warning_stage_banner_and_title(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    nb = open_notebook(
        lab,
        "warning.ipynb",
        [LOAD + '%config JupyterLease.warn_at = "1m,15s"\n%lease watch', SLEEP.format(40)],
    )
    fresh_lease(lab, lease_simulator, 72)
    nb.run_cells(2)
    nb.wait_widget()
    nb.wait_running(1)
    before = nb.state()
    assert before["stage"] == "plenty", before
    assert before["banner"] == "" and not before["title"].startswith("⏳"), before

    # The banner is the widget's; the tab title is the page's one warner's (the status item's).
    after = wait_state(
        nb,
        lambda s: s["stage"] == "warning" and s["title"].startswith("⏳"),
        25,
        "the warning stage, and the page's warning in the tab title",
    )
    assert nb.is_running(1), "the sleep cell ended before the warning: the test proves nothing"
    assert after["accent"] != before["accent"] and after["timeColor"] != before["timeColor"]
    # the toast's words: the time left as the bar says it, and what to do
    assert re.match(
        r"^0:\d\d left before this instance stops — save your work or extend", after["banner"]
    ), after
    assert re.match(r"^⏳ 0:\d\d · ", after["title"]), after["title"]
    shown = parse_countdown(after["time"])
    assert shown is not None and 50 <= shown <= 60, after
    nb.screenshot("countdown-warning.png")


# -- 3. Extend while a cell runs goes through the Jupyter server, not the kernel -------------------


def test_extend_while_a_cell_runs(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    nb = open_notebook(lab, "extend.ipynb", EXTEND_CELLS)
    fresh_lease(lab, lease_simulator, 9 * 60)
    nb.run_cells(2)
    failed = extend_fails_during_sleep(nb, lease_simulator)
    assert failed["source"] == "server", failed
    extend_during_sleep(nb, lease_simulator)
    lab.interrupt(nb.kernel_id)  # the point is made: don't sit out the sleep


# -- 4. a reload shows the true deadline -----------------------------------------------------------


def test_reload_shows_the_true_remaining_time(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    # The kernel polls every 5 min here, so what the reloaded page shows cannot come from it.
    nb = open_notebook(
        lab,
        "reload.ipynb",
        [LOAD + '%config JupyterLease.poll_near = "5m"\n%lease watch'],
    )
    fresh_lease(lab, lease_simulator, 9 * 60)
    set_at = time.monotonic()
    nb.run_cells(1)
    nb.wait_widget()
    nb.save()
    time.sleep(3)

    # The lease moved on while the page was away: a reload continues the countdown.
    nb.reload()
    nb.wait_widget()
    expected = 9 * 60 - (time.monotonic() - set_at)
    shown = nb.seconds_left()
    assert shown is not None and abs(shown - expected) <= 2, (shown, expected)

    # The lease changed behind everyone's back (the console, another tab): the reloaded page
    # shows the new truth from the Jupyter server at once, not the kernel's last news.
    lease_simulator.set_lease(remaining=4 * 60)
    set_at = time.monotonic()
    lab.forget_cache()  # what the cache's expiry does within a minute
    nb.reload()
    nb.wait_widget()
    state = wait_state(
        nb,
        lambda s: (parse_countdown(s["time"]) or 999) < 5 * 60,
        timeout=3,
        what="the reloaded view to show the new lease",
    )
    expected = 4 * 60 - (time.monotonic() - set_at)
    shown = parse_countdown(state["time"])
    assert shown is not None and abs(shown - expected) <= 2, (state, expected)
    assert state["source"] == "server", state


# -- 6. the same Extend behind a real token and a non-root base_url --------------------------------


def test_extend_with_token_and_base_url(
    start_server: Callable[..., JupyterServer], lease_simulator: Simulator, open_notebook: Any
) -> None:
    server = start_server(app="lab", token=secrets.token_hex(16), base_url="/lease-test/")
    assert server.page_url("x.ipynb").startswith(f"{server.origin}/lease-test/lab/")
    nb = open_notebook(server, "extend-token.ipynb", EXTEND_CELLS)
    fresh_lease(server, lease_simulator, 9 * 60)
    nb.run_cells(2)
    extend_during_sleep(nb, lease_simulator)
    server.interrupt(nb.kernel_id)


# -- without the server extension (VS Code, a bare kernel): Extend goes through the kernel ---------


def test_extend_falls_back_to_the_kernel_without_the_server_extension(
    start_server: Callable[..., JupyterServer], lease_simulator: Simulator, open_notebook: Any
) -> None:
    server = start_server(app="lab", lease_extension=False)
    assert server.get("jupyter-lease/api/lease").status_code == 404
    nb = open_notebook(server, "fallback.ipynb", [LOAD + "%lease watch", SLEEP.format(12)])
    fresh_lease(server, lease_simulator, 9 * 60)
    nb.run_cells(2)
    nb.wait_widget()
    nb.wait_running(1)
    nb.widget.locator(".jl-extend").click()

    waiting = wait_state(
        nb, lambda s: s["message"].startswith("Waiting for the kernel"), 6, "the waiting line"
    )
    assert nb.is_running(1) and renewals(lease_simulator) == [], waiting

    state = wait_state(nb, lambda s: s["message"].startswith("Extended"), 20, "the kernel's answer")
    assert not nb.is_running(1)
    assert len(renewals(lease_simulator)) == 1
    # The Extend picked by default is c.JupyterLease.extend_default (1h), as in the panel and toast.
    assert state["time"] == "1 h 00 min" and state["source"] == "kernel", state


# -- a view that is gone stays quiet ---------------------------------------------------------------

# The page's store calls through JupyterLab's ServerConnection, which adds a cache-busting query.
EXTEND_POST = "**/jupyter-lease/api/lease/extend*"


def held_requests(nb: Any, pattern: str) -> List[Any]:
    """Requests to ``pattern`` are held (not sent) until the test lets each one go."""
    held: List[Any] = []
    nb.page.route(pattern, lambda route: held.append(route))
    return held


def title_stays_clean(nb: Any, seconds: float) -> None:
    """The tab title has no countdown prefix and no notification is raised for ``seconds``."""
    notes = nb.page.evaluate("() => window.__leaseNotes.length")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        title = nb.page.evaluate("() => document.title")
        assert not title.startswith("⏳"), title
        time.sleep(0.1)
    assert nb.page.evaluate("() => window.__leaseNotes.length") == notes


def test_a_closed_view_stays_quiet(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    """A GET or an Extend that answers after its view is gone (outputs cleared, cell re-run)
    puts no "⏳" back into the tab title, for good, and raises no notification. The title and
    the notifications are the page's warner's (the status item's): off here (the harness's
    default), so that anything seen would be the widget's."""
    write_settings(lab, notifications=False, browserNotifications=False)
    _closed_view_stays_quiet(lab, lease_simulator, open_notebook)


def _closed_view_stays_quiet(lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any):
    nb = open_notebook(
        lab, "closed.ipynb", [LOAD + '%config JupyterLease.warn_at = "5m,1m"\n%lease watch']
    )
    nb.page.evaluate(FAKE_NOTIFICATIONS)
    fresh_lease(lab, lease_simulator, 9 * 60)
    nb.run_cells(1)
    nb.wait_widget()
    assert nb.state()["stage"] == "plenty" and not nb.state()["title"].startswith("⏳")

    # 1. The view is gone when the page learns of a lease in the warning stage (the view reads
    # nothing itself: the page's store does, and the store's news reaches only live views).
    clear_outputs(nb)
    lease_simulator.set_lease(remaining=4 * 60)
    lab.forget_cache()
    # A read (another tab's, say): the server pushes what it read to the page.
    assert lab.get("jupyter-lease/api/lease").status_code == 200
    title_stays_clean(nb, 2)
    assert nb.page.evaluate("() => window.__leaseNotes") == []

    # 2. A new view, in the warning stage; Extend is clicked, and answered after the view went.
    posts = held_requests(nb, EXTEND_POST)
    nb.run_cells(1)
    wait_state(nb, lambda s: s and s["stage"] == "warning", 15, "the warning stage")
    nb.widget.locator(".jl-extend").click()
    wait_until(lambda: nb.state() and posts, 10, "the Extend POST")
    clear_outputs(nb)
    assert not nb.page.evaluate("() => document.title").startswith("⏳")
    known = len(renewals(lease_simulator))
    with nb.page.expect_response(EXTEND_POST):
        posts[0].continue_()
    nb.page.unroute(EXTEND_POST)
    assert len(renewals(lease_simulator)) == known + 1  # the renewal did happen
    title_stays_clean(nb, 2)


# -- Extend only where there is a deadline to move (last: its stopped step ends the lease for the --
# -- module's server for good, as a real stop takes the server with it) ----------------------------

WIDGET_KIND = (
    "print(get_ipython().magics_manager.registry['JupyterLease'].widgets[-1].reading['kind'])"
)


def cell_output(nb: Any, index: int) -> str:
    output = nb.cell(index).locator(".jp-OutputArea-output")
    return output.first.inner_text().strip() if output.count() else ""


def test_extend_is_offered_for_a_timed_lease_only(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    """Extend would turn an idle stop or auto-stop that is off into a hard deadline: the
    button is there for a timed lease only — not for idle, off, stopped, or unknown."""
    sim = lease_simulator
    # (what is set, the widget's synced kind, what the view shows)
    steps: List[Tuple[Callable[[], Any], str, Callable[[Dict[str, Any]], bool]]] = [
        # The kernel knows nothing; the page's one store still holds the server's last reading
        # (the server learns of the 403 on its next read and pushes it): the widget shows the
        # page's truth, a timed lease, with its Extend — or, once the 403 is known, unknown.
        (lambda: sim.inject("403", count=1000), "unknown",
         lambda s: (s["stage"] == "unknown" and s["label"] == "lease unknown")
         or s["stage"] == "plenty"),
        (sim.clear_faults, "timed", lambda s: s["stage"] == "plenty"),
        (lambda: sim.set_lease(lease_type="IDLE"), "idle",
         lambda s: s["label"].startswith("stops after 2 h") and s["label"].endswith(" idle")),
        (lambda: sim.set_lease(lease_type="TIMING", enabled=False), "off",
         lambda s: s["label"] == "auto-stop is off"),
        # A stopped instance is a kind of reading of its own (read from ShowNotebook).
        (lambda: sim.set_lease(enabled=True, status="STOPPED"), "stopped",
         lambda s: s["stage"] == "stopped"),
    ]  # fmt: skip
    nb = open_notebook(lab, "kinds.ipynb", [LOAD + "%lease watch", "%lease", WIDGET_KIND])
    fresh_lease(lab, sim, 2 * 3600)
    try:
        for step, (arrange, kind, shown) in enumerate(steps):
            arrange()
            lab.forget_cache()
            # The first step starts the watcher and its view; `%lease` then polls it at once.
            nb.run_cells(1, first=min(step, 1))
            state = wait_state(
                nb, lambda s, f=shown: s and f(s), 20, f"the view of the {kind} lease (step {step})"
            )
            offered = state["stage"] == "plenty"  # the one running, timed lease of the list
            assert nb.widget.locator(".jl-extend").is_visible() == offered, state
            nb.run_cells(1, first=2)  # the synced state, as the kernel holds it
            wait_until(lambda k=kind: cell_output(nb, 2) == k, 10, f"kind {kind} in the kernel")
    finally:
        sim.clear_faults()
        sim.set_lease(remaining=9 * 60, lease_type="TIMING", enabled=True, status="RUNNING")

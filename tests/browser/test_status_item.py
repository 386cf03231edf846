"""The front-end extension's status item, in JupyterLab 4 and Notebook 7, in Debian's Chromium,
against the ModelArts simulator: a real token and a non-root base_url, and no cell run except
where a busy kernel is the point (an Extend from the toast while ``time.sleep`` runs).

One JupyterLab and one Notebook 7 server serve the module; each test opens its own pages.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Callable, Dict

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import FAKE_NOTIFICATIONS, SLEEP, fresh_lease, renewals, wait_until
from tests.support.status import (
    ITEM,
    PANEL,
    item_seconds,
    item_state,
    refresh,
    screenshot,
    screenshot_bottom,
    toasts,
    visibility,
    wait_item,
    write_settings,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

APPS = ["lab", "notebook"]
# A claim is decided once its lock (tabs.ts: named after the warning, "…|key") is held by the
# tab that won it and no request for such a lock is waiting (the warner's lock, elect.ts, always
# has the other tabs waiting for it).
CLAIMS_DECIDED = """async () => {
  const { held, pending } = await navigator.locks.query();
  const claims = (locks) => locks.filter((lock) => lock.name.includes("|"));
  return claims(pending).length === 0 && claims(held).length > 0;
}"""


@pytest.fixture(scope="module")
def servers(start_server: Callable[..., JupyterServer]) -> Dict[str, JupyterServer]:
    return {
        app: start_server(app=app, token=secrets.token_hex(16), base_url=f"/user/{app}-lease/")
        for app in APPS
    }


@pytest.fixture(params=APPS)
def server(request: pytest.FixtureRequest, servers: Dict[str, JupyterServer]) -> JupyterServer:
    """Each server with the default settings (a test may write its own before opening a page)."""
    chosen = servers[request.param]
    write_settings(chosen)
    return chosen


def sample(page: Any, seconds: float) -> list:
    """(monotonic time, seconds shown) about every 0.5 s."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out.append((time.monotonic(), item_seconds(item_state(page)["text"])))
        time.sleep(0.5)
    return out


# -- 1. the item shows the simulator's lease and ticks, without any cell ------------------------


def test_item_shows_the_lease_and_ticks(
    server: JupyterServer, lease_simulator: Simulator, browser_pages: Any
) -> None:
    write_settings(server, warnAt=["5m", "1m"])  # 9:30 left is "plenty"
    fresh_lease(server, lease_simulator, 9 * 60 + 30)
    (page,) = browser_pages(server)
    samples = sample(page, 4)
    shown = [s for _, s in samples]
    assert None not in shown and all(b <= a for a, b in zip(shown, shown[1:])), shown
    elapsed = samples[-1][0] - samples[0][0]
    assert abs((shown[0] - shown[-1]) - elapsed) <= 1.5, (shown, elapsed)
    assert 9 * 60 < shown[-1] <= 9 * 60 + 30, shown
    state = item_state(page)
    assert state["text"].startswith("⏳ 9:") and state["stage"] == "plenty", state
    assert state["stale"] == "false" and state["ids"] == [], state  # never ModelArts' lease-dur
    tooltip = state["tooltip"]
    assert "stops " in tooltip and "UTC" in tooltip, tooltip
    assert f"source: ModelArts notebook {lease_simulator.notebook_id[:8]}" in tooltip, tooltip
    assert page.locator("#lease-dur").count() == 0
    screenshot(page, f"status-item-{server.app}.png", ITEM, pad=6)


# -- 2. the warning stage, from the browser's own clock -------------------------------------------


def test_item_turns_to_the_warning_stage(
    server: JupyterServer, lease_simulator: Simulator, browser_pages: Any
) -> None:
    write_settings(server, warnAt=["1m", "15s"], notifications=False)
    fresh_lease(server, lease_simulator, 66)
    (page,) = browser_pages(server, clock=True)
    before = item_state(page)
    assert before["stage"] == "plenty", before
    page.clock.run_for(8000)  # past the 1 min threshold on the page's clock
    after = wait_item(page, "el.dataset.stage === 'warning'", timeout=5)
    assert after["color"] != before["color"], (before, after)
    assert item_seconds(after["text"]) <= 60, after
    assert toasts(page) == [], "notifications are off in the settings"


# -- 3. the toast's Extend 1 h renews while a cell runs time.sleep ---------------------------------


def test_toast_extends_while_a_cell_runs(
    server: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    write_settings(server, warnAt=["1m", "15s"])
    fresh_lease(server, lease_simulator, 75)
    nb = open_notebook(server, "busy.ipynb", [SLEEP.format(90)])
    nb.run_cells(1)
    nb.wait_running(0)
    known = len(renewals(lease_simulator))
    toast = nb.page.locator(".Toastify__toast", has_text="left before this instance stops")
    toast.wait_for(state="visible", timeout=40_000)
    assert nb.is_running(0), "the sleep cell ended before the warning"
    if server.app == "lab":
        screenshot(nb.page, "status-toast-lab.png", ".Toastify__toast", pad=8)
        screenshot_bottom(nb.page, "status-lab.png")
    toast.get_by_role("button", name="Extend 1 h").click()
    renewed = wait_until(lambda: renewals(lease_simulator)[known:], 10, "RenewLease (PATCH)")
    assert len(renewed) == 1 and renewed[0]["status"] == 200, renewed
    state = wait_item(nb.page, "/^⏳ (59 min|1 h 00 min)$/.test(el.textContent)", timeout=10)
    assert nb.is_running(0), "the cell ended before the item showed the new time"
    assert state["stage"] == "plenty", state


# -- 4. two tabs opened with less than a threshold left: exactly one toast -----------------------


def test_two_tabs_opened_late_warn_once_and_share_an_extend(
    servers: Dict[str, JupyterServer], lease_simulator: Simulator, browser_pages: Any
) -> None:
    lab = servers["lab"]
    write_settings(lab, warnAt=["10m", "5m", "1m"])
    fresh_lease(lab, lease_simulator, 4 * 60)
    # Both hidden: a system notification is for a page nobody looks at.
    hidden = [f"({FAKE_NOTIFICATIONS})()", visibility(hidden=True)]
    first, second = browser_pages(lab, n=2, scripts=hidden)
    wait_until(lambda: toasts(first) + toasts(second), 15, "a toast in either tab")
    # Both tabs asked for the claim when they first showed a time; once no Web Lock is held or
    # asked for, each has decided, and a warning comes with its system notification at once.
    wait_until(lambda: first.evaluate(CLAIMS_DECIDED), 10, "both tabs' claims to be decided")
    notes = [page.evaluate("() => window.__leaseNotes") for page in (first, second)]
    assert sum(len(n) for n in notes) == 1, notes
    shown = {"first": toasts(first), "second": toasts(second)}
    assert sum(len(t) for t in shown.values()) == 1, shown
    assert "3:" in "".join(shown["first"] + shown["second"]), shown  # the 5 min threshold's
    owner, other = (first, second) if shown["first"] else (second, first)
    # The owner's title shows the time left from its next repaint (every second inside 10 min).
    wait_until(lambda: owner.title().startswith("⏳ 3:"), 5, "the owner's title prefix")
    assert not other.title().startswith("⏳"), other.title()

    known = len(renewals(lease_simulator))
    owner.locator(".Toastify__toast").get_by_role("button", name="Extend 1 h").click()
    wait_until(lambda: renewals(lease_simulator)[known:], 10, "RenewLease (PATCH)")
    hour = "/^⏳ (59 min|1 h 00 min)$/.test(el.textContent)"
    wait_item(owner, hour, timeout=10)
    seen = time.monotonic()
    wait_item(other, hour, timeout=5)
    assert time.monotonic() - seen < 1.0, "the other tab took longer than 1 s"
    wait_until(lambda: not owner.title().startswith("⏳"), 3, "the owner's title prefix to go")


# -- 5. a reload shows the true deadline, also with ModelArts' clock 10 min ahead ----------------


def test_reload_shows_the_true_deadline(
    servers: Dict[str, JupyterServer], lease_simulator: Simulator, browser_pages: Any
) -> None:
    lab = servers["lab"]
    write_settings(lab)
    # ModelArts' clock (and Date headers) 10 min ahead of ours; more fails the gateway's 15 min
    # signature window
    lease_simulator.advance(600)
    try:
        fresh_lease(lab, lease_simulator, 9 * 60 + 30)
        (page,) = browser_pages(lab)
        assert 9 * 60 + 20 <= item_seconds(item_state(page)["text"]) <= 9 * 60 + 30
        time.sleep(3)
        page.reload(wait_until="domcontentloaded")
        state = wait_item(page)
        remaining = _sim_remaining(lease_simulator)
        assert abs(item_seconds(state["text"]) - remaining) <= 2, (state, remaining)
    finally:
        lease_simulator.advance(-600)


def _sim_remaining(simulator: Simulator) -> float:
    """Seconds left by the simulator's own (shifted) clock."""
    state = simulator.state()
    lease = state["notebooks"][simulator.notebook_id]["lease"]
    return (lease["create_at"] + lease["duration"]) / 1000 - state["now"]


# -- 6. the server extension failing (5xx): stale, still counting from the last known ------------


def test_server_extension_failing_makes_the_item_stale(
    server: JupyterServer, lease_simulator: Simulator, browser_pages: Any
) -> None:
    fresh_lease(server, lease_simulator, 9 * 60 + 30)
    (page,) = browser_pages(server)
    assert item_state(page)["stale"] == "false"
    lease_simulator.inject("500", count=100)
    server.forget_cache()  # nothing known: the server extension answers 502
    try:
        refresh(page)
        state = wait_item(page, "el.dataset.stale === 'true'", timeout=30)
        assert state["text"].startswith("⏳ 9:") and state["text"].endswith(" · stale"), state
        assert "ModelArts.6102" in state["tooltip"] or "HTTP 5" in state["tooltip"], state
    finally:
        lease_simulator.clear_faults()
    refresh(page)
    wait_item(page, "el.dataset.stale === 'false'", timeout=30)


# -- 7. the panel: details, Extend with a choice, the last error ----------------------------------


def test_panel_extends_and_shows_the_last_error(
    servers: Dict[str, JupyterServer], lease_simulator: Simulator, browser_pages: Any
) -> None:
    lab = servers["lab"]
    write_settings(lab)
    fresh_lease(lab, lease_simulator, 40 * 60)
    (page,) = browser_pages(lab)
    page.locator(ITEM).click()
    panel = page.locator(PANEL)
    panel.wait_for(state="visible")
    assert panel.locator(".jp-LeasePanel-headline").inner_text().endswith("min left")
    assert "UTC" in panel.locator(".jp-LeasePanel-detail").inner_text()
    assert lease_simulator.notebook_id in panel.locator(".jp-LeasePanel-source").inner_text()
    options = panel.locator(".jp-LeasePanel-choice option").all_inner_texts()
    assert options[0] == "1h" and "72h" in options, options
    screenshot(page, "status-panel-lab.png", PANEL, pad=8)

    known = len(renewals(lease_simulator))
    lease_simulator.inject("403", method="PATCH")
    panel.get_by_role("button", name="Extend", exact=True).click()
    error = panel.locator(".jp-LeasePanel-error")
    error.wait_for(state="visible", timeout=15_000)
    assert "ModelArts.0108" in error.inner_text() and "\n" not in error.inner_text()

    panel.locator(".jp-LeasePanel-choice").select_option("2h")
    panel.get_by_role("button", name="Extend", exact=True).click()
    wait_item(page, "el.textContent === '⏳ 2 h 00 min'", timeout=15)
    assert [r["status"] for r in renewals(lease_simulator)[known:]] == [403, 200]
    page.keyboard.press("Escape")
    panel.wait_for(state="detached")

"""The warnings of the page set, in JupyterLab 4 in Debian's Chromium against the simulator, on
Playwright's fake clock (tests/support/clocked.py): one warner tab, one live toast per threshold
in the tab in use, exactly one system notification per threshold while the pages are hidden,
none after the stop; the stop told in plain words, with no Extend; a forged channel message
ignored; Extend offering only what lengthens the lease.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.clocked import (
    RECORDED_NOTIFICATIONS,
    clocked_opener,
    notes,
    page_now,
    pause_at,
    step_until,
    threshold_instant,
)
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import fresh_lease, wait_until
from tests.support.status import (
    ITEM,
    PANEL,
    TOAST_TEXT,
    item_seconds,
    item_state,
    refresh,
    wait_item,
    write_settings,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# All within 60 s of the pages' first read: a warning from an older reading re-reads first
# (warnings.ts FRESH_MS), and a read measures the host's clock against the page's, which the
# test moves faster than the server's.
THRESHOLDS_S = [45, 30, 15]
STEP_MS = 1000
STOPPED_ITEM = "the instance is not running"

# Every lease toast that appears on the page (a replaced one is a new node), with the page's
# clock and its words then.
TOAST_LOG = """(() => {
  window.__toasts = [];
  const seen = new WeakSet();
  new MutationObserver(() => {
    for (const t of document.querySelectorAll(".Toastify__toast")) {
      if (seen.has(t)) continue;
      seen.add(t);
      window.__toasts.push({at: Date.now(), text: t.textContent});
    }
  }).observe(document, {childList: true, subtree: true});
})();"""

# The words of the lease toasts on screen now; not one on its way out (a replaced toast takes
# a moment to leave, on the page's clock).
SHOWN = """() => [...document.querySelectorAll(".Toastify__toast")]
  .filter((t) => !/-exit/.test(t.className) && t.style.height !== "0px")
  .map((t) => t.textContent)
  .filter((t) => /left before this instance stops|run out|stopped|not running/.test(t))"""


@pytest.fixture(scope="module")
def lab(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(app="lab", token=secrets.token_hex(16), base_url="/user/warn/")


@pytest.fixture
def tabs(chromium: Any) -> Iterator[Callable[..., List[Any]]]:
    """``tabs(server, n, hidden=[...], notifications=...)``: clocked tabs, the toast log in each;
    the context closed after the test."""
    with clocked_opener(chromium, lambda p: p.add_init_script(TOAST_LOG)) as open_:
        yield open_


def shown(page: Any) -> List[str]:
    return page.evaluate(SHOWN)


def toast_log(page: Any) -> List[Dict[str, Any]]:
    return [t for t in page.evaluate("() => window.__toasts") if TOAST_TEXT in t["text"]]


def toast_seconds(text: str) -> Optional[int]:
    match = re.search(r"(\d+):(\d\d) left", text)
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


def live_toast_agrees(page: Any) -> bool:
    """The toast on screen (if any) says the bar's time left, within 1 s."""
    bar = item_seconds(item_state(page)["text"])
    for text in shown(page):
        said = toast_seconds(text)
        if said is not None and (bar is None or abs(said - bar) > 1):
            return False
    return True


def step_and_watch(pages: List[Any], until_ms: int, watched: Any) -> None:
    """Step the clock to ``until_ms``; after each step, every lease toast in ``watched`` (the
    page that warns) says the bar's time within 1 s (given a moment to repaint), and no other
    page shows one."""
    while page_now(pages[0]) < until_ms:
        step_until(pages, min(until_ms, page_now(pages[0]) + STEP_MS), STEP_MS)
        if watched is not None:
            what = f"the toast to say the bar's time: {shown(watched)}, {item_state(watched)}"
            wait_until(lambda: live_toast_agrees(watched), 2, what)
            assert len(shown(watched)) <= 1, shown(watched)  # replaced, never stacked
            for other in pages:
                assert other is watched or shown(other) == [], "a toast in a hidden tab"


def advance_until(page: Any, predicate: Callable[[], Any], what: str, steps: int = 60) -> None:
    """Move the page's clock a step at a time (its timers render what it has to show) until
    ``predicate()`` holds, at most ``steps`` steps."""
    for _ in range(steps):
        if predicate():
            return
        page.clock.run_for(STEP_MS)
        page.wait_for_timeout(50)  # real time for what the step started (a read, a render)
    assert predicate(), f"{what}: {item_state(page)}, {shown(page)}"


def lease_of(server: JupyterServer, simulator: Simulator, pages: List[Any], left: float) -> None:
    """Pause the pages' clock, then give the lease ``left`` seconds and let the first page read
    it (it shares the answer with the others): thresholds counted from a page that is ready,
    however long it took to open."""
    # A moment ahead of the page's clock (pausing in its past is refused): 1.5 s covers the
    # round trip to the page on a loaded machine (200 ms did not, once).
    pause_at(pages[0], page_now(pages[0]) + 1500)
    known = [page.evaluate("() => window.__lease.answers.length") for page in pages]
    simulator.set_lease(remaining=left, status="RUNNING")
    server.forget_cache()
    refresh(pages[0])
    for page, before in zip(pages, known):
        page.wait_for_function(
            f"() => window.__lease.answers.slice({before}).some((a) => a.hostOffsetMs !== null)",
            polling=50,
        )


def stop_instance(server: JupyterServer, simulator: Simulator) -> None:
    """The simulator's control API: the instance is STOPPED (ShowNotebook says so), and the
    server's next read asks ModelArts (a second before the pages' deadline: a read past it would
    measure the host's clock against the page's, which the test moved ahead)."""
    simulator.set_lease(status="STOPPED")
    server.forget_cache()


# -- 1. one tab, three tabs: one live toast per threshold in the tab in use; none after the stop -


@pytest.mark.parametrize(
    "n, all_hidden", [(1, False), (3, False), (3, True)], ids=["one-tab", "three-tabs", "hidden"]
)
def test_each_threshold_warns_once_live_and_none_after_the_stop(
    start_server: Callable[..., JupyterServer],
    lease_simulator: Simulator,
    tabs: Any,
    n: int,
    all_hidden: bool,
) -> None:
    """Three thresholds, then the deadline, then the stop. With a tab in use (the first; the
    others hidden) every toast is there and stays true to the bar; with every tab hidden, the one
    warner also raises exactly one system notification per threshold (the real Notification, the
    permission granted), and no tab another. A server of its own: a server that saw the stop
    serves it for the rest of its life."""
    lab = start_server(app="lab", token=secrets.token_hex(16), base_url="/user/stop/")
    write_settings(lab, warnAt=[f"{t}s" for t in THRESHOLDS_S])
    fresh_lease(lab, lease_simulator, 600)
    hidden = [all_hidden] + [True] * (n - 1)
    pages = tabs(lab, n, hidden=hidden, notifications=RECORDED_NOTIFICATIONS)
    lease_of(lab, lease_simulator, pages, THRESHOLDS_S[0] + 5)
    crossings = [threshold_instant(pages[0], t) for t in THRESHOLDS_S]
    deadline = threshold_instant(pages[0], 0)
    step_and_watch(pages, int(deadline) - 1000, None if all_hidden else pages[0])
    stop_instance(lab, lease_simulator)

    logs = [toast_log(page) for page in pages]
    assert sum(len(log) for log in logs) == len(THRESHOLDS_S), logs
    if not all_hidden:
        assert len(logs[0]) == len(THRESHOLDS_S), logs  # all in the tab in use
    fired = sorted(t["at"] for log in logs for t in log)
    for crossing, at in zip(crossings, fired):
        # The toast is in the page's DOM by the end of the next step: JupyterLab renders it
        # on timers of the page's clock, which moves only in steps here.
        assert 0 <= at - crossing <= 2 * STEP_MS + 100, (crossing, at, logs)
    raised = [note for page in pages for note in notes(page)]
    if all_hidden:
        assert len(raised) == len(THRESHOLDS_S), raised
        for crossing in crossings:
            assert len([x for x in raised if 0 <= x["at"] - crossing <= STEP_MS + 100]) == 1
    else:
        assert raised == [], "a system notification from a page in use"

    step_until(pages, int(deadline) + 45_000, STEP_MS)  # the read after the deadline: stopped
    for page in pages:
        advance_until(page, lambda p=page: item_state(p)["text"] == STOPPED_ITEM, "stopped")
    assert sum(len(toast_log(page)) for page in pages) == len(THRESHOLDS_S), "a warning after"
    on_screen = [text for page in pages for text in shown(page)]
    # The stop's toast in either honest wording: the server's stopped reading ("not running"),
    # or — where a GET in flight outlived the 30 s bound on this fast-forwarded page clock (seen
    # on a loaded machine) — the server lost after the deadline ("stopped on its timer at …").
    # The item above says the server's reading either way.
    honest = ("not running", "stopped on its timer")
    assert len(on_screen) == 1 and any(w in on_screen[0] for w in honest), on_screen
    assert not any("0:00 left" in text or "Extend" in text for text in on_screen), on_screen
    step_until(pages, int(deadline) + 120_000, 5000)
    assert sum(len(toast_log(page)) for page in pages) == len(THRESHOLDS_S)


# -- 2. the warner follows the tab in use ---------------------------------------------------------


def test_the_next_warning_goes_to_the_tab_shown(
    lab: JupyterServer, lease_simulator: Simulator, tabs: Any
) -> None:
    write_settings(lab, warnAt=["45s", "20s"])
    fresh_lease(lab, lease_simulator, 600)
    first, second = pages = tabs(lab, 2, hidden=[False, True])
    lease_of(lab, lease_simulator, pages, 50)
    step_until(pages, int(threshold_instant(first, 45)) + 1500, STEP_MS)
    assert len(toast_log(first)) == 1 and toast_log(second) == []
    first.evaluate("() => window.__leaseShow(false)")  # the user switches tabs
    second.evaluate("() => window.__leaseShow(true)")
    step_until(pages, int(threshold_instant(first, 20)) + 1500, STEP_MS)
    assert len(toast_log(first)) == 1, toast_log(first)
    assert len(toast_log(second)) == 1, toast_log(second)
    assert "0:19 left" in toast_log(second)[0]["text"], toast_log(second)


# -- 3. the page loses its server after the deadline: every view says stopped, no Extend ---------


def test_a_server_lost_after_the_deadline_is_a_stop_in_plain_words(
    start_server: Callable[..., JupyterServer], lease_simulator: Simulator, tabs: Any
) -> None:
    server = start_server(app="lab", token=secrets.token_hex(16), base_url="/user/lost/")
    write_settings(server, warnAt=["20s"])
    fresh_lease(server, lease_simulator, 600)
    (page,) = pages = tabs(server, 1, hidden=[False])
    lease_of(server, lease_simulator, pages, 25)
    step_until(pages, int(threshold_instant(page, 0)) - 1000, STEP_MS)
    server.stop()  # on a real instance the machine, and its Jupyter server, stop at the deadline
    # Within the poll interval: a read past the deadline (the item's repaint, every 30 s) fails.
    says_stopped = lambda: "stopped on its timer" in item_state(page)["text"]  # noqa: E731
    advance_until(page, says_stopped, "the item to say stopped", steps=35)
    state = item_state(page)
    assert "Restart it from the console" in state["tooltip"], state
    assert "Unsaved changes in open notebooks are at risk" in state["tooltip"], state
    toast = lambda: any("stopped on its timer" in t for t in shown(page))  # noqa: E731
    advance_until(page, toast, "the stop toast", steps=5)
    assert not any("Extend" in t or "0:00 left" in t for t in shown(page)), shown(page)
    page.evaluate(f"() => document.querySelector('{ITEM}').click()")
    panel = page.locator(PANEL)
    panel.wait_for(state="visible")
    assert "stopped on its timer" in panel.locator(".jp-LeasePanel-headline").inner_text()
    detail = panel.locator(".jp-LeasePanel-detail").inner_text()
    assert detail.startswith("Stopped at ") and "Restart it from the console" in detail, detail
    assert panel.locator(".jp-LeasePanel-extend").is_hidden()


# -- 4. a forged channel message changes nothing --------------------------------------------------


def test_a_forged_channel_message_from_2199_changes_nothing(
    lab: JupyterServer, lease_simulator: Simulator, tabs: Any
) -> None:
    """A message on the views' BroadcastChannel with ``read_at_ms`` in 2199 (and a deadline
    3 days away), then a plausible one from a peer that read later: the page takes the second,
    never the first (which, taken, would have won every later comparison)."""
    write_settings(lab)
    fresh_lease(lab, lease_simulator, 3600)
    (page,) = tabs(lab, 1, hidden=[False])
    page.evaluate(
        f"""() => {{
          window.__texts = [];
          const el = document.querySelector("{ITEM}");
          new MutationObserver(() => window.__texts.push(el.textContent))
            .observe(el, {{subtree: true, childList: true, characterData: true}});
        }}"""
    )
    page.evaluate(
        """(channel) => {
          const real = window.__lease.answers.at(-1).reading;
          const send = (reading) => new BroadcastChannel(channel).postMessage(JSON.stringify(
            {type: "answer", from: "forger", reading, hostOffsetMs: 0, settings: null,
             keepAlive: null}));
          send({...real, deadline_ms: real.deadline_ms + 3 * 86400e3,
                read_at_ms: Date.UTC(2199, 0, 1)});
          send({...real, deadline_ms: real.deadline_ms + 1800e3, read_at_ms: real.read_at_ms + 1});
        }""",
        "jupyter-lease:" + lab.url(""),
    )
    wait_item(page, "/^⏳ 1 h (29|30) min$/.test(el.textContent)", timeout=5)
    texts = page.evaluate("() => window.__texts")
    assert not any(" d " in text for text in texts), texts
    refresh(page)  # the server's own answer wins over any peer's
    wait_item(page, "/^⏳ (59 min|1 h 00 min)$/.test(el.textContent)", timeout=10)


# -- 5. Extend offers only what lengthens the lease, the one default first ------------------------


def test_extend_offers_only_choices_that_lengthen(
    lab: JupyterServer, lease_simulator: Simulator, tabs: Any
) -> None:
    write_settings(lab, extendDefault="8h")
    fresh_lease(lab, lease_simulator, 2 * 3600 + 120)
    (page,) = tabs(lab, 1, hidden=[False], notifications="")  # the browser's, not yet allowed
    page.locator(ITEM).click()
    panel = page.locator(PANEL)
    panel.wait_for(state="visible")
    options = panel.locator(".jp-LeasePanel-choice option").all_inner_texts()
    assert options == ["4h", "8h", "24h", "72h"], options  # 1h and 2h would shorten it
    assert panel.locator(".jp-LeasePanel-choice").input_value() == "8h"
    # The permission for system notifications: asked once, with its reason, from a click.
    ask = panel.locator(".jp-LeasePanel-permission")
    assert "a warning reaches you while this tab is hidden" in ask.inner_text()
    ask.get_by_role("button", name="Allow").click()
    ask.wait_for(state="hidden")
    page.keyboard.press("Escape")
    page.locator(ITEM).click()
    panel.wait_for(state="visible")
    assert ask.is_hidden(), "asked twice"

"""Scenario steps shared by the JupyterLab and Notebook 7 tests."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Tuple

from jupyter_lease.simulator.app import Simulator

from .jupyter import JupyterServer
from .page import NotebookPage

__all__ = [
    "FAKE_NOTIFICATIONS",
    "LOAD",
    "SLEEP",
    "clear_outputs",
    "countdown_ticks_while_sleeping",
    "extend_during_sleep",
    "extend_fails_during_sleep",
    "fresh_lease",
    "renewals",
    "wait_state",
    "wait_until",
]

LOAD = "%load_ext jupyter_lease\n"
SLEEP = "import time\ntime.sleep({})"
# With these thresholds a lease under 10 min (shown as m:ss) is still "plenty" (green).
TICKING_CELLS = [LOAD + '%config JupyterLease.warn_at = "5m,1m"\n%lease watch', SLEEP.format(30)]
EXTEND_CELLS = [LOAD + "%lease watch", SLEEP.format(60)]


# The page's Notification, replaced by one that only counts (headless Chromium shows none).
FAKE_NOTIFICATIONS = """() => {
  window.__leaseNotes = [];
  window.Notification = class {
    constructor(title) { window.__leaseNotes.push(title); }
    static get permission() { return "granted"; }
    static requestPermission() { return Promise.resolve("granted"); }
    close() {}
  };
}"""


def clear_outputs(nb: NotebookPage) -> None:
    """Clear every output, as Edit > Clear Outputs of All Cells does: the widget views go."""
    nb.page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    wait_until(lambda: nb.widget.count() == 0, 10, "the countdown view to go")


def fresh_lease(server: JupyterServer, simulator: Simulator, remaining: float) -> None:
    """A lease ending ``remaining`` s from now, not known to the server or any kernel yet."""
    simulator.set_lease(remaining=remaining, status="RUNNING")
    server.forget_cache()
    simulator.clear_log()


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2
) -> Any:
    """The first truthy value of ``predicate()``; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_state(
    nb: NotebookPage, check: Callable[[Dict[str, Any]], Any], timeout: float, what: str
) -> Dict[str, Any]:
    """The widget's first state (see ``NotebookPage.state``) for which ``check`` is truthy."""
    return wait_until(
        lambda: (lambda state: state if check(state) else None)(nb.state()), timeout, what
    )


def renewals(simulator: Simulator) -> List[Dict[str, Any]]:
    """RenewLease calls (PATCH …/lease) in the simulator's request log."""
    return [
        r for r in simulator.requests() if r["method"] == "PATCH" and r["path"].endswith("/lease")
    ]


def sample_countdown(nb: NotebookPage, seconds: float) -> List[Tuple[float, float]]:
    """(monotonic time, seconds shown) about every 0.5 s for ``seconds``."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        shown = nb.seconds_left()
        assert shown is not None, nb.state()
        samples.append((time.monotonic(), shown))
        time.sleep(0.5)
    return samples


def countdown_ticks_while_sleeping(nb: NotebookPage) -> Dict[str, Any]:
    """With ``TICKING_CELLS`` run on a lease of ~9.5 min: the widget's text decreases with the
    wall clock for 6 s while the sleep cell keeps the kernel busy. Returns the widget's state."""
    nb.wait_widget()
    nb.wait_running(1)

    samples = sample_countdown(nb, 6)

    assert nb.is_running(1), "the sleep cell finished too early for this test to mean anything"
    shown = [s for _, s in samples]
    assert all(b <= a for a, b in zip(shown, shown[1:])), shown
    elapsed = samples[-1][0] - samples[0][0]
    assert abs((shown[0] - shown[-1]) - elapsed) <= 1.5, (shown, elapsed)
    assert 8 * 60 < shown[-1] <= 9 * 60 + 30, shown
    state = nb.state()
    assert state["stage"] == "plenty" and state["label"] == "left", state
    return state


def extend_during_sleep(nb: NotebookPage, simulator: Simulator) -> Dict[str, Any]:
    """With ``EXTEND_CELLS`` run on a lease under 10 min: click Extend (2h) while the sleep
    cell runs; RenewLease reaches ModelArts and the widget shows the new time, both while the
    cell is still running. Returns the widget's state."""
    nb.wait_widget()
    nb.wait_running(1)
    known = len(renewals(simulator))
    before = nb.seconds_left()
    assert before is not None and before < 10 * 60

    nb.widget.locator(".jl-select").select_option("2h")
    clicked = time.monotonic()
    nb.widget.locator(".jl-extend").click()

    renewed = wait_until(lambda: renewals(simulator)[known:], timeout=10, what="RenewLease (PATCH)")
    assert nb.is_running(1), "the cell ended before the renewal"
    assert len(renewed) == 1 and renewed[0]["status"] == 200, renewed

    wait_until(
        lambda: (nb.seconds_left() or 0) > 1.9 * 3600,
        timeout=10,
        what="the widget to show the new time",
    )
    shown_after = time.monotonic() - clicked
    state = nb.state()
    assert nb.is_running(1), "the cell ended before the widget showed the new time"
    assert state["time"] == "2 h 00 min", state
    # The Jupyter server's answer: the kernel would answer only after the cell.
    assert state["message"].startswith("Extended: 2 h 00 min left"), state
    assert state["stage"] == "plenty" and state["banner"] == "", state
    assert shown_after < 10, shown_after
    return state


def extend_fails_during_sleep(nb: NotebookPage, simulator: Simulator) -> Dict[str, Any]:
    """Like :func:`extend_during_sleep` with ModelArts refusing the renewal (403): the widget
    shows the server's one-line error at once and keeps the old countdown."""
    nb.wait_widget()
    nb.wait_running(1)
    known = len(renewals(simulator))
    simulator.inject("403", method="PATCH")
    nb.widget.locator(".jl-extend").click()
    renewed = wait_until(lambda: renewals(simulator)[known:], timeout=10, what="RenewLease (PATCH)")
    assert renewed[0]["status"] == 403, renewed
    state = wait_state(nb, lambda s: "ModelArts.0108" in s["message"], 10, "the error line")
    assert nb.is_running(1), "the cell ended before the error was shown"
    assert "\n" not in state["message"] and len(state["message"]) <= 300, state
    shown = nb.seconds_left()
    assert shown is not None and shown < 10 * 60, state
    return state

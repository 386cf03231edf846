"""Every view agrees within a second: a JupyterLab 4 tab (a notebook with the cell widget and the
status bar's item) and a Notebook 7 tab (the top bar's item and its panel, open) on one server;
an extend from a cell, from a terminal, from the other tab's panel and from the server's
keep-alive (a busy kernel, the lease inside the margin). For each, when each view first shows the
new time is recorded in its page (a MutationObserver on the browser's clock, which is this
machine's), and the lag is the last view's moment minus the moment the change was done: the
terminal's command returned; else the first view's moment (the cell's widget, the panel where its
Extend was made, any view for keep-alive: they all learn of it from the push). Shared by
tests/browser/test_views_agree.py and the benchmark (benchmarks/bench_agree.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any, Callable, Dict

from jupyter_lease.simulator.app import Simulator
from tests.support.busy import FAST, turn_on
from tests.support.busy import keep_alive as keep_alive_view
from tests.support.jupyter import JupyterServer
from tests.support.page import COUNTDOWN, NotebookPage
from tests.support.scenarios import LOAD, wait_until
from tests.support.status import ITEM, PANEL

# Records, once per name, the browser's Date.now() when `selector`'s text first matches.
RECORD = """([name, selector, pattern]) => {
  window.__leaseSeen = window.__leaseSeen || {};
  const re = new RegExp(pattern);
  const check = () => {
    const el = document.querySelector(selector);
    if (el && re.test(el.textContent.trim()) && !(name in window.__leaseSeen)) {
      window.__leaseSeen[name] = Date.now();
    }
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, characterData: true});
  check();
}"""
# (view, selector, pattern of `h` hours) in the JupyterLab tab ("lab") or Notebook 7's ("nb7").
VIEWS = {
    "bar": ("lab", ITEM, "^⏳ {h}$"),
    "panel": ("nb7", f"{PANEL} .jp-LeasePanel-headline", "^{h} left$"),
    "widget": ("lab", f"{COUNTDOWN} .jl-time", "^{h}$"),
    "top_bar": ("nb7", ITEM, "^⏳ {h}$"),
}


def hours(h: int) -> str:
    return f"({h - 1} h 59 min|{h} h 00 min)"


def terminal_extend(server: JupyterServer, duration: str) -> float:
    """`jupyter lease extend` as a user types it beside the server; when it returned (ms)."""
    env = {k: v for k, v in server.env.items() if k != "JUPYTER_LEASE_SCREENSHOTS"}
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "jupyter-lease"), "extend", duration],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return time.time() * 1000


def views_follow(pages: Dict[str, Any], shown: str, act: Callable[[], Any]) -> Dict[str, float]:
    """Arm the recorders for the time ``shown`` (a regex), ``act()`` (returns when it was done,
    ms, or None: the first view's moment), wait until every view shows it; ``{view: ms after}``."""
    tag = f"t{time.monotonic_ns()}"
    for view, (tab, selector, pattern) in VIEWS.items():
        pages[tab].evaluate(RECORD, [f"{tag}-{view}", selector, pattern.format(h=shown)])
    done = act()

    last: Dict[str, Any] = {}

    def seen() -> Any:
        for view, (tab, selector, _) in VIEWS.items():
            at = pages[tab].evaluate(f"() => (window.__leaseSeen || {{}})['{tag}-{view}']")
            shown = pages[tab].evaluate(
                "(s) => { const e = document.querySelector(s); return e && e.textContent; }",
                selector,
            )
            last[view] = (at, shown)
        return {v: at for v, (at, _) in last.items()} if all(a for a, _ in last.values()) else None

    try:
        at = wait_until(seen, 30, f"every view to show {shown}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; (seen at, showing): {last}") from None
    start = min(at.values()) if done is None else min(done, min(at.values()))
    return {view: round(ms - start, 1) for view, ms in at.items()}


# The server's keep-alive, fast (tests/support/busy.py's FAST): it reads every second and
# renews by 1 h when less than 10 min is left while a kernel is busy.
KEEP_ALIVE_CONFIG = "\n".join(f"c.JupyterLease.{k} = {v!r}" for k, v in FAST.items())
# The notebook the origins need: the widget, an extend from a cell, a busy cell for keep-alive.
CELLS = [LOAD + "%lease watch", "%lease extend 3h", "import time; time.sleep(120)"]


def four_origins(
    server: JupyterServer, sim: Simulator, nb: NotebookPage, nb7: Any
) -> Dict[str, Dict[str, float]]:
    """The lags of every view after an extend from each origin: ``nb`` has ``CELLS``, the
    first run; ``nb7`` is open_views'; the server runs with ``KEEP_ALIVE_CONFIG``."""
    pages = {"lab": nb.page, "nb7": nb7}
    lags = {}
    lags["cell"] = views_follow(pages, hours(3), lambda: nb.run_cells(1, first=1))
    lags["terminal"] = views_follow(pages, hours(5), lambda: terminal_extend(server, "5h"))

    def other_tab() -> None:
        panel = nb7.locator(PANEL)
        panel.locator(".jp-LeasePanel-choice").select_option("8h")
        panel.get_by_role("button", name="Extend", exact=True).click()

    lags["other_tab"] = views_follow(pages, hours(8), other_tab)

    def keep_alive() -> None:
        nb.run_cells(1, first=2)  # a busy kernel
        nb.wait_running(2)
        # Inside the margin: renewed by 1 h. First the lease (a new one forgets the policy of
        # the last: the lease's own record), then the policy for it.
        sim.set_lease(remaining=5 * 60, status="RUNNING")
        server.forget_cache()  # what the cache's expiry does within a poll interval
        bar = nb.page.locator(ITEM)
        wait_until(lambda: re.match(r"^⏳ [45]:\d\d$", bar.inner_text()), 15, "the new lease")
        turn_on(server)

    try:
        lags["keep_alive"] = views_follow(pages, "1 h 0[3-5] min", keep_alive)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the server's keep-alive: {keep_alive_view(server)}") from None
    finally:
        server.interrupt(nb.kernel_id)
    return lags


def open_views(server: JupyterServer, nb: NotebookPage) -> Any:
    """A Notebook 7 tab in the same browser context, its panel open (the lab tab's would close
    when a cell is clicked)."""
    nb7 = nb.page.context.new_page()
    nb7.set_default_timeout(30_000)
    nb7.goto(server.url("tree") + (f"?token={server.token}" if server.token else ""))
    nb7.locator(ITEM).wait_for(state="visible")
    nb7.locator(ITEM).click()
    nb7.locator(PANEL).wait_for(state="visible")
    return nb7

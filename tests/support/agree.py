"""Every view agrees within a second: a JupyterLab 4 tab (a notebook with the cell widget, the
status bar's item and its panel open) and a Notebook 7 tab (the top bar's item) on one server;
an extend from a cell, from a terminal and from the other tab's panel. For each, when each view
first shows the new time is recorded in its page (a MutationObserver on the browser's clock, which
is this machine's), and the lag is the last view's moment minus the moment the change was done
(the terminal's command returned; the first view showed it for the cell and the panel, whose
Extend shows at once where it was made). Shared by tests/browser/test_views_agree.py and the
benchmark (benchmarks/bench_agree.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Callable, Dict

from tests.support.jupyter import JupyterServer
from tests.support.page import COUNTDOWN, NotebookPage
from tests.support.scenarios import wait_until
from tests.support.status import ITEM, PANEL

# Records, once per name, the browser's Date.now() when `selector`'s text first matches.
_RECORD = """([name, selector, pattern]) => {
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
    "panel": ("lab", f"{PANEL} .jp-LeasePanel-headline", "^{h} left$"),
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


def views_follow(pages: Dict[str, Any], h: int, act: Callable[[], Any]) -> Dict[str, float]:
    """Arm the recorders for ``h`` hours, ``act()`` (returns when it was done, ms, or None: the
    first view's moment), wait until every view shows it; ``{view: ms after the change}``."""
    tag = f"h{h}-{time.monotonic_ns()}"
    for view, (tab, selector, pattern) in VIEWS.items():
        pages[tab].evaluate(_RECORD, [f"{tag}-{view}", selector, pattern.format(h=hours(h))])
    done = act()

    def seen() -> Any:
        got = {
            view: pages[tab].evaluate(f"() => (window.__leaseSeen || {{}})['{tag}-{view}']")
            for view, (tab, _, _) in VIEWS.items()
        }
        return got if all(v is not None for v in got.values()) else None

    at = wait_until(seen, 20, f"every view to show {h} h")
    start = min(at.values()) if done is None else min(done, min(at.values()))
    return {view: round(ms - start, 1) for view, ms in at.items()}


def four_origins(server: JupyterServer, nb: NotebookPage, nb7: Any) -> Dict[str, Dict[str, float]]:
    """The lags of every view after an extend from each origin (the notebook's cell 1 is
    ``%lease extend 3h``, its widget shown by cell 0; the lab tab's panel is open)."""
    pages = {"lab": nb.page, "nb7": nb7}
    lags = {}
    lags["cell"] = views_follow(pages, 3, lambda: nb.run_cells(1, first=1))
    lags["terminal"] = views_follow(pages, 5, lambda: terminal_extend(server, "5h"))

    def other_tab() -> None:
        nb7.locator(ITEM).click()
        panel = nb7.locator(PANEL)
        panel.locator(".jp-LeasePanel-choice").select_option("8h")
        panel.get_by_role("button", name="Extend", exact=True).click()

    lags["other_tab"] = views_follow(pages, 8, other_tab)
    return lags


def open_views(server: JupyterServer, nb: NotebookPage) -> Any:
    """The lab tab's panel opened, and a Notebook 7 tab in the same browser context."""
    nb.page.locator(ITEM).click()
    nb.page.locator(PANEL).wait_for(state="visible")
    nb7 = nb.page.context.new_page()
    nb7.set_default_timeout(30_000)
    nb7.goto(server.url("tree") + (f"?token={server.token}" if server.token else ""))
    nb7.locator(ITEM).wait_for(state="visible")
    return nb7

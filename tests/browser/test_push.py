"""The server pushes: a lease changed outside the page (here by `jupyter lease extend` in a
terminal; a cell or another server writes the same cache file) shows in the status item within
1 s, in JupyterLab 4 and Notebook 7 behind a token and a non-root base_url, and the page then
reads over HTTP only as a safety net.

The page's event socket is open before the change is made (a page that connects later gets the
state with the server's heartbeat). The moment the item first shows the new time is recorded in
the page (a MutationObserver on the browser's clock, which is this machine's clock); the moment
the change was made is taken when the command that made it returned.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from typing import Any, Callable

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import fresh_lease, wait_until
from tests.support.status import ITEM

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

WITHIN_MS = 1000
# Marks when the page's event socket (JupyterLab's serviceManager.events) is open: a change made
# before it was open reaches the page with the server's next heartbeat instead (10 s).
_EVENTS_OPEN = """(() => {
  const Base = window.WebSocket;
  window.__leaseEventsOpen = false;
  window.WebSocket = class extends Base {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes("api/events/subscribe")) {
        this.addEventListener("open", () => { window.__leaseEventsOpen = true; });
      }
    }
  };
})();"""
_RECORD = """([selector, pattern]) => {
  window.__leaseSeenAt = null;
  const re = new RegExp(pattern);
  const check = () => {
    const el = document.querySelector(selector);
    if (el && re.test(el.textContent.trim()) && window.__leaseSeenAt === null) {
      window.__leaseSeenAt = Date.now();
    }
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module", params=["lab", "notebook"])
def server(request: Any, start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(
        app=request.param, token=secrets.token_hex(16), base_url=f"/user/push-{request.param}/"
    )


def _extend_from_a_terminal(server: JupyterServer, duration: str) -> float:
    """`jupyter lease extend` as a user types it beside the server; when it returned (ms)."""
    env = {k: v for k, v in server.env.items() if k != "JUPYTER_LEASE_SCREENSHOTS"}
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "jupyter-lease"), "extend", duration],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return time.time() * 1000


def _seen_at(page: Any) -> float:
    return wait_until(
        lambda: page.evaluate("() => window.__leaseSeenAt"), 15, "the item to show the new time"
    )


def test_an_extend_in_a_terminal_shows_in_the_item_within_1_s(
    server: JupyterServer, lease_simulator: Simulator, browser_pages: Any
) -> None:
    fresh_lease(server, lease_simulator, 40 * 60)
    (page,) = browser_pages(server, scripts=[_EVENTS_OPEN])
    wait_until(lambda: page.evaluate("() => window.__leaseEventsOpen"), 30, "the event socket")
    reads = []
    page.on("request", lambda r: reads.append(r.url) if "jupyter-lease/api/lease" in r.url else 0)
    for hours in (3, 5):
        page.evaluate(_RECORD, [ITEM, f"^⏳ ({hours - 1} h 59|{hours} h 00) min$"])
        done = _extend_from_a_terminal(server, f"{hours}h")
        lag = _seen_at(page) - done
        assert lag < WITHIN_MS, f"the item followed a terminal's extend after {lag:.0f} ms"
    # The page learnt both from the push: it sent no read of its own since it opened.
    assert reads == [], reads

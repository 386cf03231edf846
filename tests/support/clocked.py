"""Playwright's fake clock on the status item's pages: a probe in every page (the answers the
views share, the system notifications raised, the lease GETs, the Web Lock requests), and steps
of the page's clock that wait, after each, until nothing the step started is still pending
(tests/browser/test_status_clock.py, test_warnings.py)."""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from .browser import VIEWPORT
from .jupyter import LEASE, JupyterServer
from .scenarios import wait_until
from .status import page_url, visibility, wait_item

__all__ = [
    "FAKE_NOTIFICATIONS",
    "LEASE_API",
    "RECORDED_NOTIFICATIONS",
    "notes",
    "open_clocked",
    "page_now",
    "pause_at",
    "settled",
    "step_until",
    "threshold_instant",
]

LEASE_API = "/jupyter-lease/api/lease"

# In every page before its own scripts: the answers the item shares with the server's other views
# (channel.js), to know the deadline on the page's clock; system notifications (the page's
# Notification, replaced; raised only while the page is hidden: the pages here are), each with
# the page's Date.now(); the lease GETs started (answered as
# by a server without push where the test says so); the Web Lock
# requests waiting and the locks held.
PROBE = """((channel) => {
  window.__lease = {answers: [], notes: [], gets: 0, waits: 0, held: 0};
  const probe = window.__lease;
  new BroadcastChannel(channel).onmessage = (e) => probe.answers.push(JSON.parse(e.data));
  %(notifications)s
  const fetch0 = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    if (!new URL(url, location.href).pathname.endsWith("%%(api)s")) return fetch0(input, init);
    probe.gets++;
    if (!window.__leaseWithoutPush) return fetch0(input, init);
    // The answer as a server without the event bus (jupyter_server 1.x) gives it.
    return fetch0(input, init).then(async (response) => {
      const body = await response.json();
      delete body.push;
      const {status, headers} = response;
      return new Response(JSON.stringify(body), {status, headers});
    });
  };
  const locks = navigator.locks;
  if (locks) {
    const request = locks.request.bind(locks);
    locks.request = (name, ...rest) => {
      const callback = rest.pop();
      probe.waits++;
      return request(name, ...rest, (lock) => {
        probe.waits--;
        probe.held++;
        return new Promise((resolve) => resolve(callback(lock))).finally(() => probe.held--);
      });
    };
  }
})(%%(channel)s);"""

# The page's Notification replaced by one that only records (headless Chromium shows none).
FAKE_NOTIFICATIONS = """window.Notification = class {
    constructor(title, options) { probe.notes.push({title, body: options.body, at: Date.now()}); }
    static get permission() { return "granted"; }
    static requestPermission() { return Promise.resolve("granted"); }
    close() {}
  };"""

# The real Notification (the context granted the permission), each construction recorded.
RECORDED_NOTIFICATIONS = """window.Notification = class extends window.Notification {
    constructor(title, options) {
      super(title, options);
      probe.notes.push({title, body: options.body, at: Date.now()});
    }
  };"""

STATE = """() => {
  const probe = window.__lease;
  return {unanswered: probe.gets > probe.answers.length, waits: probe.waits, held: probe.held};
}"""


def page_now(page: Any) -> int:
    return int(page.evaluate("() => Date.now()"))


def pause_at(page: Any, ms: float) -> None:
    """Pause the clock of ``page``'s context at ``ms`` (epoch ms; Playwright takes seconds)."""
    page.clock.pause_at(ms / 1000)


def settled(pages: List[Any]) -> bool:
    """Every lease GET answered (and shared: heard on the channel), and no Web Lock request
    waiting unless a tab holds a lock (tabs.ts: a won claim's lock stays held)."""
    states = [page.evaluate(STATE) for page in pages]
    if any(s["unanswered"] for s in states):
        return False
    return not sum(s["waits"] for s in states) or sum(s["held"] for s in states) > 0


def step_until(pages: List[Any], until_ms: int, step_ms: int) -> None:
    """Move the (paused) clock of ``pages`` to ``until_ms`` in steps, settling after each."""
    while page_now(pages[0]) < until_ms:
        pages[0].context.clock.run_for(min(step_ms, until_ms - page_now(pages[0])))
        wait_until(lambda: settled(pages), 10, "the pages to settle", interval=0.01)


def threshold_instant(page: Any, threshold_s: float) -> float:
    """When the page's time left crosses ``threshold_s``, on its own clock: the last answer's
    deadline minus the source's and the serving host's clock offsets (derive, present.js; the
    host's offset as the last GET measured it: a push measures none)."""
    reading = page.evaluate("() => window.__lease.answers.at(-1)")["reading"]
    host = page.evaluate(
        "() => window.__lease.answers.filter((a) => a.hostOffsetMs !== null).at(-1).hostOffsetMs"
    )
    local = reading["deadline_ms"] - (reading["clock_offset_ms"] or 0) - host
    return local - threshold_s * 1000


def notes(page: Any) -> List[Dict[str, Any]]:
    """The system notifications the page raised, each with its time on the page's clock."""
    return page.evaluate("() => window.__lease.notes")


def server_knows_the_lease(server: JupyterServer) -> None:
    """Until the server has read the lease a test just set (``fresh_lease`` empties its cache):
    a GET answers the last view at once and reads behind it, so a page opened sooner may start
    from the previous test's lease — on a loaded machine, and with its clock fast-forwarded
    from there, its thresholds were a lease away (test_the_warning_comes_within_1_s…)."""
    wait_until(
        lambda: server.get(LEASE).status_code == 200 and server.cache_files(),
        15,
        "the server's read of the lease",
    )
    server.get(LEASE)  # the read that wrote the file is the view remembered now


def open_clocked(
    chromium: Any,
    server: JupyterServer,
    n: int = 1,
    on_page: Optional[Callable[[Any], None]] = None,
    hidden: Sequence[bool] = (),
    notifications: str = FAKE_NOTIFICATIONS,
) -> List[Any]:
    """``n`` tabs of one new browser context, its clock installed (flowing from now until the
    test pauses it) and the probe in each, all sent to the item's page at once (``on_page(page)``
    first), each showing a time. ``hidden[i]``: tab ``i`` says it is hidden (default: all are).
    The caller closes ``pages[0].context``."""
    server_knows_the_lease(server)
    context = chromium.new_context(viewport=VIEWPORT)
    if notifications == RECORDED_NOTIFICATIONS:
        context.grant_permissions(["notifications"])
    context.clock.install()
    channel = "jupyter-lease:" + server.url("")
    probe = PROBE % {"notifications": notifications}
    context.add_init_script(probe % {"api": LEASE_API, "channel": json.dumps(channel)})
    pages = [context.new_page() for _ in range(n)]
    for i, page in enumerate(pages):
        page.set_default_timeout(30_000)
        page.add_init_script(visibility(hidden=hidden[i] if i < len(hidden) else True))
        if on_page is not None:
            on_page(page)
    for page in pages:  # not waiting for one tab before opening the next
        workspace = f"clock-{secrets.token_hex(3)}"
        page.goto(page_url(server, workspace=workspace), wait_until="commit")
    for page in pages:
        wait_item(page)
        page.wait_for_function("() => window.__lease.answers.length > 0", polling=100)
    for page in pages:  # JupyterLab has settled its workspace (it may reload a tab to "auto-…")
        page.wait_for_function(RESTORED, polling=100)
        wait_item(page)
        page.wait_for_function("() => window.__lease.answers.length > 0", polling=100)
        warm_toasts(page)
    return pages


@contextlib.contextmanager
def clocked_opener(
    chromium: Any, on_page: Optional[Callable[[Any], None]] = None
) -> Iterator[Callable[..., List[Any]]]:
    """``open_(server, n, on_page=None, **kwargs)``: :func:`open_clocked` (``on_page`` given
    here runs first on every page, then the call's own), every context closed at the end."""
    contexts: List[Any] = []

    def open_(
        server: JupyterServer, n: int = 1, each: Optional[Callable[[Any], None]] = None, **kw: Any
    ) -> List[Any]:
        def prepare(page: Any) -> None:
            for hook in (on_page, each):
                if hook is not None:
                    hook(page)

        pages = open_clocked(chromium, server, n, prepare, **kw)
        contexts.append(pages[0].context)
        return pages

    try:
        yield open_
    finally:
        for context in contexts:
            with contextlib.suppress(Exception):
                context.close()


def warm_toasts(page: Any) -> None:
    """Show and dismiss one notification while the clock still flows: JupyterLab loads its toast
    code on the first one, and a load that ends after a later step (the clock paused) would
    show a warning late, or after its replacement."""
    page.evaluate(
        """async () => {
          const id = await window.jupyterapp.commands.execute("apputils:notify",
            {message: "warm-up", type: "default", options: {autoClose: false}});
          window.__leaseWarmUp = id;
        }"""
    )
    page.locator(".Toastify__toast", has_text="warm-up").wait_for(state="visible")
    page.evaluate(
        """() => window.jupyterapp.commands.execute("apputils:dismiss-notification",
             {id: window.__leaseWarmUp})"""
    )
    page.locator(".Toastify__toast", has_text="warm-up").wait_for(state="detached")


RESTORED = """() => {
  const app = window.jupyterapp;
  if (!app) return false;
  if (window.__leaseRestored === undefined) {
    window.__leaseRestored = false;
    app.restored.then(() => (window.__leaseRestored = true));
  }
  return window.__leaseRestored;
}"""

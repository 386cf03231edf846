"""The status-bar benchmark's rig: one JupyterLab 4 (in ``.venv-bench``, with the peers) on
127.0.0.1 with a token and a non-root base URL, Debian's Chromium through Playwright, and the
measuring instruments: which front ends a page loads, its requests by URL prefix, and its main
thread's busy time from the Chrome DevTools Protocol.

The server and the browser are the browser tests' own (``tests/browser``): started in ``with``
blocks and stopped whatever happens, every Playwright wait bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Tuple

from jupyter_lease.simulator.app import Simulator
from tests.support.browser import VIEWPORT, headless_chromium, missing_browser
from tests.support.jupyter import JupyterServer
from tests.support.status import page_url, write_settings

from ._peers import LABEXTENSIONS, PREFIXES

__all__ = [
    "MainThread",
    "Requests",
    "chromium",
    "enable_only",
    "items",
    "lab_server",
    "open_lab",
    "wait_items",
]

# JS: is each front end's item on the page? (server-timer's span has no class of its own.)
ITEMS = """() => ({
  ours: !!document.querySelector(".jp-LeaseItem"),
  server_timer: [...document.querySelectorAll("#jp-main-statusbar span")]
    .some((s) => s.textContent.includes("server terminates")),
  resource_usage: !!document.querySelector("#jp-main-statusbar .jp-StatusBar-TextItem") &&
    [...document.querySelectorAll("#jp-main-statusbar *")]
      .some((e) => e.children.length === 0 && /^Mem: /.test(e.textContent)),
})"""
_STATUSBAR = "() => !!document.querySelector('#jp-main-statusbar')"
PAGE_TIMEOUT_MS = 60_000


@contextlib.contextmanager
def lab_server(
    sim: Simulator, name: str, *, quiet: bool = False, **options: Any
) -> Iterator[JupyterServer]:
    """JupyterLab (a token, base URL ``/user/<name>/``) with the lease API on ``sim``, in a
    temporary root; stopped after. ``options``: :class:`JupyterServer`'s (``python=`` the bench
    venv's, ``config=``); ``quiet``: our notifications off (a toast would be work the peers
    don't do in the status-bar windows)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_LEASE_")}
    env.update(sim.environ())
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as root:
        server = JupyterServer(
            Path(root),
            env,
            app="lab",  # the shared harness's default is a bare jupyter_server
            token=secrets.token_hex(16),
            base_url=f"/user/{name}/",
            **options,
        )
        if quiet:
            write_settings(server, notifications=False)
        try:
            yield server.start(timeout=120)
        finally:
            server.stop()


def enable_only(server: JupyterServer, names: Iterable[str]) -> None:
    """Page loads from now on run only these of ``LABEXTENSIONS``' front ends (JupyterLab reads
    ``labconfig/page_config.json`` for every page it serves; each is set true or false)."""
    keep = set(names)
    disabled = {package: key not in keep for key, package in LABEXTENSIONS.items()}
    folder = server.root / "config" / "labconfig"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    missing = missing_browser()
    if missing:
        raise RuntimeError(f"the status-bar benchmark needs {missing}")
    with headless_chromium() as browser:
        yield browser


class Requests:
    """A page's requests under ``PREFIXES``: (monotonic time sent, key, path without query)."""

    def __init__(self, page: Any, server: JupyterServer) -> None:
        self.base = server.url("")
        self.seen: List[Tuple[float, str, str]] = []
        page.on("request", self._on_request)

    def _on_request(self, request: Any) -> None:
        if not request.url.startswith(self.base):
            return
        path = request.url[len(self.base) :].split("?", 1)[0]
        for key, prefix in PREFIXES.items():
            if path.startswith(prefix):
                self.seen.append((time.monotonic(), key, path))

    def times(self, key: str) -> List[float]:
        return [t for t, k, _ in self.seen if k == key]

    def paths(self, key: str) -> Dict[str, int]:
        """How many requests went to each path of ``key``'s."""
        counts: Dict[str, int] = {}
        for _, k, path in self.seen:
            if k == key:
                counts[path] = counts.get(path, 0) + 1
        return counts


@contextlib.contextmanager
def open_lab(browser: Any, server: JupyterServer, workspace: str) -> Iterator[Tuple[Any, Requests]]:
    """JupyterLab in a browser context of its own (its own renderer, no tab to share answers
    with), its status bar shown, its requests recorded from the first; closed after the block."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        requests = Requests(page, server)
        page.goto(page_url(server, workspace), wait_until="domcontentloaded")
        page.wait_for_function(_STATUSBAR, timeout=PAGE_TIMEOUT_MS, polling=200)
        yield page, requests
    finally:
        with contextlib.suppress(Exception):
            context.close()


def items(page: Any) -> Dict[str, bool]:
    return page.evaluate(ITEMS)


def wait_items(page: Any, wanted: Iterable[str], timeout_s: float = 60) -> None:
    """Until the wanted front ends' items are all on the page (each first paints after its
    first request)."""
    keys = json.dumps(sorted(wanted))
    page.wait_for_function(
        f"() => {{ const on = ({ITEMS})(); return {keys}.every((k) => on[k]); }}",
        timeout=timeout_s * 1000,
        polling=250,
    )


class MainThread:
    """The page's main-thread busy time (s) from CDP ``Performance.getMetrics``, in thread CPU
    time where Chromium offers it (a shared machine's preemption then does not count)."""

    NAMES = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        try:
            self.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
            self.domain = "threadTicks"
        except Exception:  # an older Chromium: wall time of the tasks
            self.cdp.send("Performance.enable", {"timeDomain": "timeTicks"})
            self.domain = "timeTicks"

    def read(self) -> Dict[str, float]:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in metrics if m["name"] in self.NAMES}

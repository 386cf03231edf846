"""Fixtures for the real-browser tests: Debian's Chromium through Playwright, a ModelArts
simulator and a JupyterLab / Notebook 7 server per module, a fresh browser context per test.

Without Playwright or /usr/bin/chromium these tests are skipped — except in CI (``$CI`` set),
where tests/conftest.py makes a skipped browser test a failure. Screenshots for the README are
written only when ``JUPYTER_LEASE_SCREENSHOTS`` names a directory
(``JUPYTER_LEASE_SCREENSHOTS=docs/img``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.browser import (
    VIEWPORT,
    headless_chromium,
    missing_browser,
    require,
    require_module,
)
from tests.support.jupyter import JupyterServer
from tests.support.page import NotebookPage, screenshot_dir
from tests.support.status import page_url, wait_item


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the browser tests. Package scope, not session: Playwright's
    sync API keeps an asyncio loop running in the main thread while it is started, and the
    tests after this package call asyncio.run()."""
    require(missing_browser())
    with headless_chromium() as browser:
        yield browser


def _server_env(simulator: Simulator) -> Dict[str, str]:
    """os.environ without any lease settings of the developer's, plus the simulator's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_LEASE_")}
    env.update(simulator.environ())
    return env


@pytest.fixture(scope="module")
def lease_simulator(chromium: Any, sim: Simulator) -> Simulator:
    """The module's simulator (tests/support/fixtures.py), once a browser is known to exist."""
    return sim


@pytest.fixture(scope="module")
def start_server(
    lease_simulator: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., JupyterServer]]:
    """``start_server(app="lab"|"notebook", token=..., base_url=...)``: started, stopped after
    the module (also when a test fails)."""
    servers: List[JupyterServer] = []

    def start(**kwargs: Any) -> JupyterServer:
        app = kwargs.setdefault("app", "lab")
        require_module("jupyterlab" if app == "lab" else "notebook")
        root = tmp_path_factory.mktemp(f"jupyter-{app}")
        server = JupyterServer(root, _server_env(lease_simulator), **kwargs)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"_lease_rep_{report.when}", report)


@pytest.fixture
def open_notebook(
    chromium: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[JupyterServer, str, Sequence[str]], NotebookPage]]:
    """``open_notebook(server, "name.ipynb", [cell, ...])``: the notebook written to the server's
    root and opened in a fresh browser context, its kernel idle. Afterwards the kernels are
    shut down and the context closed; on failure a screenshot and the server log's tail are
    kept in the test's tmp_path."""
    opened: List[NotebookPage] = []
    contexts: List[Any] = []

    def open_(server: JupyterServer, name: str, cells: Sequence[str]) -> NotebookPage:
        server.write_notebook(name, cells)
        # Screenshots for the README: sharp on high-density screens too.
        scale = 2 if screenshot_dir() is not None else 1
        context = chromium.new_context(viewport=VIEWPORT, device_scale_factor=scale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        notebook = NotebookPage(page, server, name)
        opened.append(notebook)
        return notebook.open()

    try:
        yield open_
    finally:
        report = getattr(request.node, "_lease_rep_call", None)
        failed = report is not None and report.failed
        for notebook in opened:
            if failed:
                shot = tmp_path / f"failed-{notebook.name}.png"
                try:
                    notebook.page.screenshot(path=str(shot))
                    print(f"screenshot of the failed page: {shot}")
                except Exception:
                    pass
                print(f"--- server log tail ({notebook.server.log_path}):")
                print(notebook.server.log()[-4000:])
            notebook.server.shutdown_kernels()
        for context in contexts:
            with contextlib.suppress(Exception):
                context.close()


@pytest.fixture
def browser_pages(
    chromium: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., List[Any]]]:
    """``browser_pages(server, n=1)``: ``n`` tabs of one browser context (they share storage,
    as a user's tabs do), each open on ``page_url(server)`` with the item showing a time.
    ``clock=True``: Playwright's fake clock installed first (flowing until a test moves it)."""
    contexts: List[Any] = []
    opened: List[Any] = []

    def open_(
        server: JupyterServer, n: int = 1, scripts: Sequence[str] = (), clock: bool = False
    ) -> List[Any]:
        scale = 2 if screenshot_dir() is not None else 1
        context = chromium.new_context(viewport=VIEWPORT, device_scale_factor=scale)
        contexts.append(context)
        if clock:
            context.clock.install()
        for script in scripts:
            context.add_init_script(script)
        pages = []
        for _ in range(n):
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(page_url(server), wait_until="domcontentloaded")
            pages.append(page)
            opened.append(page)
        for page in pages:
            wait_item(page)
        return pages

    try:
        yield open_
    finally:
        report = getattr(request.node, "_lease_rep_call", None)
        if report is not None and report.failed:
            for i, page in enumerate(opened):
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(tmp_path / f"failed-{i}.png"))
                    print(f"screenshot of the failed page: {tmp_path / f'failed-{i}.png'}")
        for context in contexts:
            with contextlib.suppress(Exception):
                context.close()

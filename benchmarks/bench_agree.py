"""Views agree after an extend (issue 19): how long after an extend from a cell, a terminal,
another tab and the server's keep-alive the last of the views — JupyterLab's status bar, the
cell widget, Notebook 7's top bar and its panel — shows it. One JupyterLab 4 (this venv's, with
the server's keep-alive made fast), Debian's Chromium; the measurement is the browser test's
(tests/support/agree.py, tests/browser/test_views_agree.py)."""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List

from tests.support.agree import CELLS, KEEP_ALIVE_CONFIG, four_origins, open_views
from tests.support.browser import VIEWPORT
from tests.support.jupyter import JupyterServer
from tests.support.page import NotebookPage

from ._browser import chromium, lab_server
from ._core import Config, Figure
from ._rigs import simulator

AGREE_KEYS = ["views_agree_after_extend_s"]


def _round(browser: Any, server: JupyterServer, sim: Any, r: int) -> Dict[str, Dict[str, float]]:
    sim.set_lease(remaining=40 * 60, status="RUNNING")
    server.forget_cache()
    name = f"agree-{r}.ipynb"
    server.write_notebook(name, CELLS)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        nb = NotebookPage(page, server, name).open()
        nb.run_cells(1)
        nb.wait_widget()
        return four_origins(server, sim, nb, open_views(server, nb))
    finally:
        server.shutdown_kernels()
        with contextlib.suppress(Exception):
            context.close()


def agree_figures(cfg: Config) -> List[Figure]:
    rounds = cfg.pick(3, 1)
    with simulator() as sim, lab_server(
        sim, "agree", config=KEEP_ALIVE_CONFIG
    ) as server, chromium() as browser:
        runs = [_round(browser, server, sim, r) for r in range(rounds)]
    worst = {o: max(max(run[o].values()) for run in runs) for o in runs[0]}
    value = max(worst.values()) / 1000
    said = ", ".join(f"{origin} {ms:.0f} ms" for origin, ms in worst.items())
    return [
        Figure(
            "views_agree_after_extend_s",
            round(value, 3),
            rounds,
            "s",
            summary=f"the last of bar, widget, top bar, panel after an extend from: {said}",
            details={"rounds": runs, "worst_ms": worst},
        )
    ]

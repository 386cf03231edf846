"""The countdown widget in Notebook 7, in Debian's Chromium, against the ModelArts simulator.

One Notebook 7 server (jupyter_lease server extension on) serves this module's tests; each
test opens its own notebook and kernel and runs cells with Shift+Enter.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import (
    EXTEND_CELLS,
    TICKING_CELLS,
    countdown_ticks_while_sleeping,
    extend_during_sleep,
    fresh_lease,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def notebook7(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(app="notebook")


def test_countdown_ticks_while_a_cell_runs(
    notebook7: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    nb = open_notebook(notebook7, "ticking.ipynb", TICKING_CELLS)
    fresh_lease(notebook7, lease_simulator, 9 * 60 + 30)
    nb.run_cells(2)
    countdown_ticks_while_sleeping(nb)


def test_extend_while_a_cell_runs(
    notebook7: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    nb = open_notebook(notebook7, "extend.ipynb", EXTEND_CELLS)
    fresh_lease(notebook7, lease_simulator, 9 * 60)
    nb.run_cells(2)
    extend_during_sleep(nb, lease_simulator)

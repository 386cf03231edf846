"""Views agree within 1 s (issue 19): an extend from a cell (``%lease extend``), from a terminal
(``jupyter lease extend``), from another tab (Notebook 7's panel) and from the server's
keep-alive shows in every view — the
JupyterLab status bar, its panel, the cell widget, Notebook 7's top bar — within 1 s, behind a
token and a non-root base_url. The widget is a view of the page's one store: it learns of a
change from the server's push like the bar does (tests/support/agree.py measures).
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.agree import CELLS, KEEP_ALIVE_CONFIG, four_origins, open_views
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import fresh_lease

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

WITHIN_MS = 1000


@pytest.fixture(scope="module")
def lab(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(
        app="lab", token=secrets.token_hex(16), base_url="/user/agree/", config=KEEP_ALIVE_CONFIG
    )


def test_an_extend_from_anywhere_shows_in_every_view_within_1_s(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    fresh_lease(lab, lease_simulator, 40 * 60)
    nb = open_notebook(lab, "agree.ipynb", CELLS)
    nb.run_cells(1)
    nb.wait_widget()
    # A view of the lab extension's store, not a page lease of its own.
    assert nb.widget.get_attribute("data-page") == "lab"
    nb7 = open_views(lab, nb)
    lags = four_origins(lab, lease_simulator, nb, nb7)
    print(f"views agree after: {lags}")
    for origin, views in lags.items():
        assert max(views.values()) < WITHIN_MS, (origin, views)

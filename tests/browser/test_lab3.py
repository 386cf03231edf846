"""The older ModelArts stack: JupyterLab 3.6 with the ipywidgets 7 front end on jupyter_server
1.24 (Python 3.9), the kernel on Python 3.7 with the images' pins (ipykernel 6.7.0, IPython
7.34.0, jupyter-client 7.3.4, ipywidgets 7.8).

Both environments are venvs that ``ci/compat.sh`` builds from ``ci/constraints-lab3.txt`` and
``ci/constraints-py37-modelarts.txt`` and names in ``$JUPYTER_LEASE_LAB3_PYTHON`` and
``$JUPYTER_LEASE_PY37_PYTHON``; without them these tests are skipped (failed under ``$CI``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Callable, Dict

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.browser import require
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import (
    EXTEND_CELLS,
    TICKING_CELLS,
    countdown_ticks_while_sleeping,
    extend_during_sleep,
    fresh_lease,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SERVER_PYTHON_ENV = "JUPYTER_LEASE_LAB3_PYTHON"
KERNEL_PYTHON_ENV = "JUPYTER_LEASE_PY37_PYTHON"


def _python(variable: str) -> str:
    path = os.environ.get(variable, "")
    if not (path and os.path.isfile(path) and os.access(path, os.X_OK)):
        require(f"${variable} naming a Python (ci/compat.sh builds and sets it)")
    return path


@pytest.fixture(scope="module")
def lab3(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    server = start_server(
        app="lab", python=_python(SERVER_PYTHON_ENV), kernel_python=_python(KERNEL_PYTHON_ENV)
    )
    # The stack is the one claimed: jupyter_server 1.x, and the notebook kernel on Python 3.7.
    assert server.get("api").json()["version"].startswith("1."), server.get("api").text
    spec = server.get("api/kernelspecs").json()["kernelspecs"]["python3"]["spec"]
    assert spec["argv"][0] == os.environ[KERNEL_PYTHON_ENV], spec
    return server


def test_widget_ticks_while_a_cell_runs_on_lab3_and_a_py37_kernel(
    lab3: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    nb = open_notebook(lab3, "ticking3.ipynb", TICKING_CELLS)
    fresh_lease(lab3, lease_simulator, 9 * 60 + 30)
    nb.run_cells(2)
    countdown_ticks_while_sleeping(nb)
    # JupyterLab 3.6 may load the prebuilt extension (its status item then shows; jupyter_server
    # 1.x has no event bus, so the page polls) or not (the widgets' own page lease, from the same
    # modules): either way the widget ticks, as above.
    assert nb.widget.get_attribute("data-page") in ("lab", "widget")


def test_extend_goes_through_the_server_extension_mid_cell_on_lab3(
    lab3: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    nb = open_notebook(lab3, "extend3.ipynb", EXTEND_CELLS)
    fresh_lease(lab3, lease_simulator, 8 * 60)
    nb.run_cells(2)
    extend_during_sleep(nb, lease_simulator)


def _doctor_versions(python: str, server: JupyterServer) -> Dict[str, Dict[str, str]]:
    out = subprocess.run(
        [python, "-m", "jupyter_lease", "doctor", "--json"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    sections = {s["title"]: s["rows"] for s in json.loads(out.stdout)["sections"]}
    return {r["setting"]: r for r in sections["Versions"]}


def test_doctor_sees_lab3_and_flags_ipywidgets_8_against_its_widgets_7_front_end(
    lab3: JupyterServer,
) -> None:
    kernel = _doctor_versions(os.environ[KERNEL_PYTHON_ENV], lab3)
    assert kernel["Python"]["value"].startswith("3.7."), kernel["Python"]
    assert kernel["jupyter_server"]["value"].startswith("1.24."), kernel
    assert kernel["server app"]["value"].startswith("JupyterLab 3.6."), kernel
    assert kernel["widget front end"]["value"].startswith("ipywidgets 7 "), kernel
    assert kernel["lease server extension"]["value"] == "enabled", kernel
    assert kernel["compatibility"]["status"] == "ok", kernel["compatibility"]

    import ipywidgets  # the test environment's: ipywidgets 8, the known-bad combination here

    if not ipywidgets.__version__.startswith("8."):
        pytest.skip(f"needs ipywidgets 8 in the test environment, not {ipywidgets.__version__}")
    bad = _doctor_versions(sys.executable, lab3)["compatibility"]
    assert bad["status"] == "failed", bad
    assert "model not found" in bad["hint"] and 'pip install "ipywidgets>=7.6,<8"' in bad["hint"]

"""The example notebooks run top to bottom in a real kernel against the simulator."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_lease.cli.demo import NOTEBOOKS  # shipped in the package

pytestmark = pytest.mark.kernel
CELL_TIMEOUT, STARTUP_TIMEOUT = 30, 60  # s; the test's own timeout is above their sum


@pytest.mark.timeout(STARTUP_TIMEOUT + 4 * CELL_TIMEOUT + 30)  # 4 code cells
def test_checkpoint_before_stop_notebook(simulator, tmp_path, monkeypatch):
    simulator.set_lease(remaining=11 * 60)  # inside keep_alive's 15-minute margin
    for key, value in simulator.environ().items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NOTEBOOKS / "checkpoint_before_stop.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=CELL_TIMEOUT, startup_timeout=STARTUP_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # fmt: skip
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "starting at epoch 0" in text
    assert "w=" in text and "renewals made: 1, errors: []" in text
    assert simulator.count(method="PATCH") == 1
    assert (tmp_path / "checkpoint.json").exists()
    for secret in (simulator.sk, simulator.ak):
        assert secret not in nbformat.writes(nb)

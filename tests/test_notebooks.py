"""The example notebooks run top to bottom in a real kernel against the simulator."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.kernel
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_checkpoint_before_stop_notebook(simulator, tmp_path, monkeypatch):
    simulator.set_lease(remaining=11 * 60)  # inside keep_alive's 15-minute margin
    for key, value in simulator.environ().items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NOTEBOOKS / "checkpoint_before_stop.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "starting at epoch 0" in text
    assert "w=" in text and "renewals made: 1, errors: []" in text
    assert simulator.count(method="PATCH") == 1
    assert (tmp_path / "checkpoint.json").exists()
    for secret in (simulator.sk, simulator.ak):
        assert secret not in nbformat.writes(nb)

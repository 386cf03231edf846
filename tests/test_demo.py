"""The README's main job, headless: `jupyter lease demo --execute` in a real kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jupyter_lease._simulator import DEFAULT_AK, DEFAULT_SK

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_demo_executes_and_saves_a_clean_notebook(tmp_path):
    output = tmp_path / "demo-executed.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_lease", "demo", "--execute", "--output", str(output)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
        env={
            k: v
            for k, v in os.environ.items()
            if not k.startswith("JUPYTER_LEASE_") or k == "JUPYTER_LEASE_CACHE_DIR"
        },
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checkpoint saved" in proc.stdout  # on_warning fired during the training cell
    assert "jupyter_lease: extended; 1 h 00 min left." in proc.stdout
    assert "1 RenewLease calls" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    saved = output.read_text()
    assert DEFAULT_SK not in saved and DEFAULT_AK not in saved
    nb = json.loads(saved)
    widgets = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    states = [w["state"] for w in widgets.values() if w["state"].get("_model_name") == "AnyModel"]
    assert any(s.get("deadline_ms") for s in states)  # the countdown's state is saved, secret-free
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []

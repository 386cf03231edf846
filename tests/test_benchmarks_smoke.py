"""`python -m benchmarks --quick` still runs and reports every figure (targets are judged by the
full run, not here: a quick run is too short to be fair to ratios)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._core import TARGETS

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(330)  # above the run's own 300 s
def test_quick_benchmark_run_reports_every_key(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    text = json.dumps(data)
    for key in TARGETS:
        assert key in text, f"{key} missing from the benchmark report"
    assert "| key | value | target |" in proc.stdout

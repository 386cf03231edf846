"""What scripts and logs rely on, through the real CLI: ``watch`` into a pipe exits 1 with the
error when the lease cannot be read (never "checking the lease…" and exit 0); ``doctor --check``
exits 1 when it says NOT READY; doctor cuts long cells at a word, never inside one; a Slurm job
id is shown, never masked as a secret."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from jupyter_lease.simulator.app import Simulator
from tests.support.cli import assert_one_line_error, run


def test_watch_into_a_pipe_with_the_simulator_down_exits_1_with_the_error():
    sim = Simulator().start()
    env = sim.environ()
    sim.stop()  # its port now refuses connections
    started = time.monotonic()
    proc = run(["watch", "--for", "20s"], env_overrides=env)
    line = assert_one_line_error(proc, 1)
    assert "connection refused" in line, line
    assert time.monotonic() - started < 15  # the first failed read, not the --for limit


def test_doctor_check_exits_1_when_not_ready_and_0_when_ready(simulator):
    ready = run(["doctor", "--check"], simulator)
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout.startswith("jupyter_lease doctor: ready")
    simulator.inject("403", count=10)
    refused = run(["doctor", "--check"], simulator)
    assert refused.stdout.startswith("jupyter_lease doctor: NOT READY"), refused.stdout
    assert "NOT READY" in assert_one_line_error(refused, 1)


def _doctor_in_a_job_without_slurm(tmp_path: Path, *args: str):
    empty = tmp_path / "bin"
    empty.mkdir(parents=True, exist_ok=True)
    env = {"PATH": str(empty), "SLURM_JOB_ID": "1234567"}  # no squeue, no scontrol
    return run(["doctor", *args], env_overrides=env)


def test_doctor_in_a_slurm_job_shows_the_job_id_and_cuts_only_between_words(tmp_path):
    proc = _doctor_in_a_job_without_slurm(tmp_path, "--check")
    assert proc.stdout.startswith("jupyter_lease doctor: NOT READY"), proc.stdout
    assert_one_line_error(proc, 1)
    whole = _doctor_in_a_job_without_slurm(tmp_path, "--json", "--check")
    rows = [r for s in json.loads(whole.stdout)["sections"] for r in s["rows"]]
    assert "***" not in proc.stdout + whole.stdout, proc.stdout
    assert "and SLURM_JOB_ID=1234567 (a Slurm job)" in rows[0]["source"], rows[0]
    cells = [value for row in rows for value in row.values()]
    clipped = [line for line in proc.stdout.splitlines() if "…" in line]
    assert clipped, proc.stdout  # the test shows nothing unless some cell was long
    for line in clipped:
        for cell in re.split(r"\s{2,}", line.strip()):
            if cell.endswith("…"):  # a whole-word prefix of a cell of the full (JSON) report
                assert any(c.startswith(cell[:-2] + " ") for c in cells), (cell, clipped)
    assert not re.search(r"\S…", proc.stdout), clipped

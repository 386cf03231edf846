"""`jupyter lease …` as a user runs it: a real process, its own lease cache, one line on error."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Optional

from jupyter_lease.simulator.app import Simulator

__all__ = ["assert_one_line_error", "run"]


def run(args, sim: Optional[Simulator] = None, env_overrides=None, timeout=60):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_LEASE_", "HUAWEICLOUD_"))
    }
    if sim is not None:
        env.update(sim.environ())
    # Each run has its own lease cache, as a fresh machine would (never the user's runtime dir).
    # Inside this test process's private root (tests/conftest.py), removed with it at the end.
    private = os.environ.get("JUPYTER_RUNTIME_DIR")
    env["JUPYTER_LEASE_CACHE_DIR"] = tempfile.mkdtemp(prefix="jl-cli-cache-", dir=private)
    env.update(env_overrides or {})
    return subprocess.run(
        [sys.executable, "-m", "jupyter_lease", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc, code):
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("jupyter lease: error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]

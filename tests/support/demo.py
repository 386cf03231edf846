"""Running ``jupyter lease demo`` headless, as people run it (tests/test_demo.py and the
installed-wheel runs in tests/test_install.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Tuple

from jupyter_lease.simulator.app import DEFAULT_AK, DEFAULT_SK

DEMO_TIMEOUT = 240  # s, one headless demo run (about a minute on an idle machine)
Command = Tuple[List[str], Path]  # the arguments, the directory to run them in
Run = Tuple[subprocess.CompletedProcess, Path, Path]  # the process, its cwd, its TMPDIR


def demo_env(tmpdir: Path) -> Dict[str, str]:
    """No lease settings of the developer's; the lease cache and temporary folders (the demo's
    own) under tmpdir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_LEASE_")}
    env.update(TMPDIR=str(tmpdir), JUPYTER_LEASE_CACHE_DIR=str(tmpdir / "lease-cache"))
    return env


def side_by_side(
    commands: Dict[str, Command], timeout: float, env: Dict[str, str]
) -> Dict[str, subprocess.CompletedProcess]:
    """Runs the commands at once and waits for all of them, ``timeout`` seconds in total."""
    procs = {
        name: subprocess.Popen(
            args, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for name, (args, cwd) in commands.items()
    }
    deadline = time.monotonic() + timeout
    try:
        done = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
            done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        return done
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def saved_notebook(proc: subprocess.CompletedProcess) -> Path:
    found = re.search(r"^Executed notebook saved to (.+)$", proc.stdout, re.MULTILINE)
    assert found, proc.stdout
    return Path(found.group(1))


def assert_demo_ran_clean(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checkpoint saved" in proc.stdout  # on_warning fired during the training cell
    assert "jupyter_lease: extended; 1 h 00 min left." in proc.stdout
    assert "1 RenewLease calls" in proc.stdout
    assert proc.stderr == ""  # no traceback, no kernel warnings (e.g. about unencrypted TCP)


def assert_saved_clean(proc: subprocess.CompletedProcess) -> None:
    """The notebook a run with ``--output`` saved: widget state kept, no secret, no error."""
    saved = saved_notebook(proc).read_text()
    assert DEFAULT_SK not in saved and DEFAULT_AK not in saved
    nb = json.loads(saved)
    widgets = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    states = [w["state"] for w in widgets.values() if w["state"].get("_model_name") == "AnyModel"]
    # The countdown's state (the one Reading JSON) is saved, secret-free.
    assert any((s.get("reading") or {}).get("deadline_ms") for s in states), states
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []

"""Slurm test helpers: squeue/scontrol stand-ins, Python run against the cluster (as root or
as an ordinary user), and waiting for a file a job writes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from .jupyter import JupyterServer
from .slurm_cluster import SlurmCluster

# A squeue or scontrol that behaves as the test says, in front of the real one.
_STAND_IN = """#!/bin/sh
echo $$ >> "{dir}/{name}.pids"
case "{mode}" in
  slow) /bin/sleep 60 & echo $! >> "{dir}/{name}.pids"; wait ;;
  fail) echo "{name}: error: Unable to contact slurm controller (connect failure)" >&2; exit 1 ;;
  garbage) echo "{{not json"; echo "1 RUNNING"; exit 0 ;;
  nojson) case "$1" in --json) echo "{name}: unrecognized option '--json'" >&2; exit 1 ;; esac ;;
esac
exec {real} "$@"
"""


class StandIns:
    """``path`` holds squeue and scontrol stand-ins: :meth:`set` one to real (pass-through),
    slow, fail, garbage, nojson or missing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.real = {name: shutil.which(name) for name in ("squeue", "scontrol")}
        for name in self.real:
            self.set(name, "real")

    def set(self, name: str, mode: str) -> None:
        target = self.path / name
        if target.exists():
            target.unlink()
        if mode != "missing":
            text = _STAND_IN.format(dir=self.path, name=name, mode=mode, real=self.real[name])
            target.write_text(text)
            target.chmod(0o755)

    def pids(self, name: str) -> list:
        path = self.path / f"{name}.pids"
        return [int(x) for x in path.read_text().split()] if path.exists() else []


REPO = Path(__file__).resolve().parents[2]  # the checkout


def run_python(
    cluster: SlurmCluster, code: str, *, user: str = "", env: Optional[Dict[str, str]] = None
) -> Any:
    """Run ``code`` against the cluster, as root in this venv's Python or as ``user`` in the
    system's (a venv's interpreter may sit under /root, which others cannot enter: the
    provider needs nothing but the standard library); its stdout as JSON."""
    env = dict(env or cluster.env)
    command = [sys.executable, "-c", code]
    if user:
        python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        env["PYTHONPATH"] = str(REPO)
        command = ["runuser", "-u", user, "--", python, "-c", code]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for_file(path: Path, timeout: float = 60.0) -> str:
    """The file's text once it exists and is complete (a line ending in a newline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text()
            if text.endswith("\n"):
                return text
        time.sleep(0.1)
    raise TimeoutError(f"{path} was not written within {timeout:.0f} s")


TOKEN = "slurm-token-0123456789abcdef"


class ServerInJob(JupyterServer):
    """``python -m jupyter_server`` as a step of job ``job_id``."""

    def __init__(self, root: Path, env: Dict[str, str], job_id: int, **options) -> None:
        super().__init__(root, env, **options)
        self.job_id = job_id

    def command(self) -> List[str]:
        return ["srun", f"--jobid={self.job_id}", "--overlap", "--quiet", *super().command()]


def raw_ids(cluster: SlurmCluster, first: int, state: str = "RUNNING") -> Dict[str, int]:
    """``{"1234_0": 1235, …}``: what squeue shows (``%i``) → the job's own number (``%A``),
    once both tasks or components are in ``state``."""
    deadline = time.monotonic() + 60
    while True:
        done = cluster.run("squeue", "-h", "-t", state, "-o", "%i %A")
        pairs = [line.split() for line in done.stdout.splitlines() if line.strip()]
        found = {shown: int(own) for shown, own in pairs if re.match(rf"{first}[_+]\d+$", shown)}
        if len(found) == 2 or time.monotonic() > deadline:
            return found
        time.sleep(0.2)

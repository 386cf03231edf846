"""`jupyter lease demo` as a user's machine sees it: SIGTERM stops JupyterLab and its kernel
(the process table shows no orphan), every run removes its temporary folder, and a headless run
writes nothing into the user's home or Jupyter runtime dir (its own dirs, never the user's: a
demo on a real ModelArts instance leaves no lease cache or keep-alive state behind)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest
import requests

from tests.support.demo import DEMO_TIMEOUT
from tests.support.scenarios import wait_until

DEMO = [sys.executable, "-m", "jupyter_lease", "demo"]
_USER_DIRS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR", "JUPYTER_LEASE_CACHE_DIR")


def _env(tmp: Path) -> Dict[str, str]:
    """No lease settings of the developer's; temporary folders under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_LEASE_")}
    env["TMPDIR"] = str(tmp)
    return env


def _descendants(pid: int) -> Set[int]:
    """Every live process below ``pid``, from the process table (/proc)."""
    parents: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[0] != "Z":
                parents[int(entry)] = stat[1]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _stat(pid: int) -> Tuple[str, int] | None:
    """(state, parent pid), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0], int(fields[1])


def _alive(pids: Set[int]) -> List[int]:
    return sorted(p for p in pids if (_stat(p) or ("Z",))[0] != "Z")


@pytest.mark.kernel
@pytest.mark.slow  # a JupyterLab 4 demo: once, in make test
@pytest.mark.timeout(180)
def test_sigterm_stops_jupyterlab_and_its_kernel_and_removes_the_folder(tmp_path):
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [*DEMO, "--no-browser"], stdout=out, stderr=subprocess.STDOUT, env=_env(tmp_path)
        )
    started: Set[int] = set()
    try:
        url = re.compile(r"(http://127\.0\.0\.1:\d+/)\S*\?token=(\w+)")
        found = wait_until(lambda: url.search(log.read_text()), 90, "JupyterLab's URL in the log")
        base, token = found.groups()
        # --port's default is 0, "any free port" as its help says: not 8888 (or jupyter_server's
        # retries around it, 8788-8988) as before.
        assert not 8788 <= int(base.rsplit(":", 1)[1].strip("/")) <= 8988, base
        headers = {"Authorization": f"token {token}"}
        kernel = wait_until(lambda: _start_kernel(base, headers), 30, "a kernel started")
        assert kernel.status_code == 201, kernel.text
        started = wait_until(lambda: _descendants(demo.pid) if len(_descendants(demo.pid)) >= 2
                            else set(), 60, "JupyterLab and a kernel running")  # fmt: skip
        demo.send_signal(signal.SIGTERM)
        demo.wait(60)
        left = _alive(started)
        deadline = time.monotonic() + 30
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = _alive(started)
        assert left == [], f"left running after SIGTERM: {left}\n{log.read_text()[-2000:]}"
        assert [p.name for p in tmp_path.glob("jupyter-lease-demo-*")] == []
    finally:
        for pid in _alive(started | _descendants(demo.pid) | {demo.pid}):
            os.kill(pid, signal.SIGKILL)  # only what this test started


def _start_kernel(base: str, headers: dict) -> Optional[requests.Response]:
    """POST a kernel; None while the server refuses connections (seen once under load just
    after the URL was logged)."""
    try:
        return requests.post(f"{base}api/kernels", headers=headers, json={}, timeout=60)
    except requests.ConnectionError:
        return None


def test_the_port_help_says_what_the_default_does():
    done = subprocess.run([*DEMO, "--help"], capture_output=True, text=True, timeout=60)
    assert "--port PORT" in done.stdout and "(default 0: any free port)" in done.stdout


@pytest.mark.kernel
@pytest.mark.slow
def test_a_headless_demo_writes_nothing_into_the_users_dirs(tmp_path):
    user = tmp_path / "user"
    (user / "runtime").mkdir(parents=True)
    env = _env(tmp_path)
    for name in _USER_DIRS:  # the defaults under HOME, as on a user's machine
        env.pop(name, None)
    env.update(HOME=str(user), JUPYTER_RUNTIME_DIR=str(user / "runtime"))
    output = tmp_path / "out" / "demo.ipynb"
    proc = subprocess.run(
        [*DEMO, "--execute", "--output", str(output)],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=DEMO_TIMEOUT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 RenewLease calls" in proc.stdout and output.is_file()
    written = sorted(str(p.relative_to(user)) for p in user.rglob("*"))
    assert written == ["runtime"], written
    assert [p.name for p in tmp_path.glob("jupyter-lease-demo-*")] == []

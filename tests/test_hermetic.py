"""The suite keeps out of the user's own Jupyter: proven with a decoy.

A stand-in user home holds a running Jupyter server with the jupyter_lease extension (what a
`make demo` or the user's own JupyterLab leaves in ``~/.local/share/jupyter/runtime``), serving
another simulated instance. Then the keep-alive tests that used to register with such a server
("renewals made: 0") run in a child pytest whose environment names no Jupyter dir at all, as on
a developer's machine. They must pass, and the stand-in home must hold nothing new afterwards:
no IPython profile, no kernel or server file, no config, no lease cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set

import pytest
import requests

from jupyter_lease.simulator.app import Simulator
from tests.support.hermetic import HERMETIC_DIRS

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
REPO = Path(__file__).resolve().parent.parent
CHILD_TESTS = [
    "tests/test_api.py",
    "-k",
    "keep_alive",
    "tests/test_notebooks.py::test_checkpoint_before_stop_notebook",
]


def _user_env(home: Path) -> Dict[str, str]:
    """The environment of a user who set nothing: every Jupyter dir follows HOME."""
    env = {k: v for k, v in os.environ.items() if k not in HERMETIC_DIRS}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    env["HOME"] = str(home)
    return env


def _tree(root: Path) -> Set[str]:
    """Every path below root but the decoy's own lease cache (it rewrites that as it polls)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if "jupyter_lease" not in p.name}


def _start_decoy(home: Path, env: Dict[str, str]) -> subprocess.Popen:
    log = open(home.parent / "decoy.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", "--port=0"]
        + ["--ServerApp.token=decoy", "--allow-root"],
        cwd=str(home),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for_decoy(runtime: Path, proc: subprocess.Popen) -> None:
    import json
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the decoy server exited"
        for info_file in runtime.glob("jpserver-*.json"):
            info = json.loads(info_file.read_text() or "{}")
            url = info.get("url", "") + "jupyter-lease/api/lease"
            try:
                answer = requests.get(url, headers={"Authorization": "token decoy"}, timeout=5)
            except requests.RequestException:
                continue
            if answer.status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError("the decoy server did not serve its lease within 60 s")


@pytest.mark.timeout(300)
def test_the_suite_ignores_a_jupyter_server_in_the_users_runtime_dir(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    decoy_lease = Simulator().start()
    env = {**_user_env(home), **decoy_lease.environ()}
    decoy = _start_decoy(home, env)
    try:
        runtime = home / ".local" / "share" / "jupyter" / "runtime"
        _wait_for_decoy(runtime, decoy)
        before = _tree(home)
        child = subprocess.run(
            [sys.executable, "-m", "pytest", *CHILD_TESTS, "-p", "no:cacheprovider", "-q"]
            + ["-n", "0"],
            cwd=str(REPO),
            env=_user_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=240,
        )
        output = child.stdout.decode(errors="replace")
        assert child.returncode == 0, output[-3000:]
        assert " passed" in output and "skipped" not in output, output[-3000:]
        assert _tree(home) - before == set(), "the suite wrote into the user's home"
        assert decoy_lease.count(method="PATCH") == 0, "the suite renewed the decoy's lease"
    finally:
        decoy.terminate()
        decoy.wait(timeout=30)
        decoy_lease.stop()

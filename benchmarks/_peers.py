"""The status-bar benchmark's own venv: the same JupyterLab 4 as the dev environment, with
jupyter_lease (editable, its built front end linked in) and the real peers from PyPI.

Its own venv, not an extra of the dev one: a labextension or server extension installed into
the dev venv is loaded by every JupyterLab the browser tests start, so the peers' status-bar
items and their requests would be in every test page. Built once into ``.venv-bench`` (git-
ignored, removed by ``make clean``); rebuilt when what it pins changes or the front end was
rebuilt (an editable install copies the built labextension: its build hash is in the stamp).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from ._core import REPO

if sys.version_info >= (3, 8):
    from importlib import metadata
else:  # the 3.7 core suite imports this module through the smoke test
    import importlib_metadata as metadata

__all__ = ["PEERS", "PREFIXES", "LABEXTENSIONS", "ensure_venv", "requirements"]

VENV = REPO / ".venv-bench"
STAMP = VENV / ".bench-installed"
INSTALL_TIMEOUT_S = 900  # a cold pip cache downloads JupyterLab and its dependencies

# The peers, pinned: the figures compare against these releases.
PEERS = {"jupyter-resource-usage": "1.3.0", "jupyterlab-server-timer": "0.1.3"}
# Their front ends' package names (what `disabledExtensions` takes), ours included.
LABEXTENSIONS = {
    "ours": "jupyter-lease",
    "server_timer": "jupyterlab-server-timer",
    "resource_usage": "@jupyter-server/resource-usage",
}
# The URL prefix (under the base URL) of every request each front end makes.
PREFIXES = {
    "ours": "jupyter-lease/",
    "server_timer": "jupyterlab-server-timer/",
    "resource_usage": "api/metrics/",
}


def requirements() -> List[str]:
    """The dev venv's JupyterLab and ipykernel (the same front end the tests drive), the peers."""
    same = [f"{name}=={metadata.version(name)}" for name in ("jupyterlab", "ipykernel")]
    return same + [f"{name}=={version}" for name, version in PEERS.items()]


def _run(args: List[str], env: Dict[str, str]) -> None:
    proc = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
    )
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise RuntimeError(f"{' '.join(args[:4])} … failed:\n" + "\n".join(tail))


def ensure_venv() -> Path:
    """The venv's Python, built first if missing or built for other pins."""
    built = REPO / "jupyter_lease" / "labextension" / "package.json"
    if not built.exists():
        raise RuntimeError(
            "the front end is not built: npm ci && npm run build (or pip install -e .)"
        )
    build = json.loads(built.read_text())["jupyterlab"]["_build"]
    wanted = json.dumps(
        {"requirements": requirements(), "python": sys.version, "build": build}, sort_keys=True
    )
    python = VENV / "bin" / "python"
    if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python
    print(f"building {VENV.name} (JupyterLab + the peers, once) …", file=sys.stderr, flush=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    STAMP.unlink(missing_ok=True)
    _run([sys.executable, "-m", "venv", "--clear", str(VENV)], env)
    _run([str(python), "-m", "pip", "install", "-q", *requirements(), "-e", str(REPO)], env)
    STAMP.write_text(wanted)
    return python

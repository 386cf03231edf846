"""The one real Jupyter server the tests start: a subprocess with its own HOME and Jupyter dirs.

``JupyterServer`` runs ``python -m jupyter_server`` (``app="server"``), ``python -m jupyterlab``
(``"lab"``) or ``python -m notebook`` (``"notebook"``) on 127.0.0.1 with the given environment
(the simulator's), a token and a base_url when asked, the jupyter_lease server extension enabled
or disabled on the command line (``lease_extension=True/False``) or left to the config files
(``None``: what a user's install does), a ``jupyter_server_config.py`` of its own (``config``),
and another interpreter for the server or the ``python3`` kernel (``python``, ``kernel_python``).

Every process started here is stopped by ``JupyterServer.stop()``: the server (its process
group), then any kernel it left behind (found by this server's own runtime directory in the
kernel's command line — jupyter_client starts kernels in their own session).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import requests

from .ports import free_port

__all__ = [
    "EXTEND",
    "LEASE",
    "TOKEN",
    "XSRF",
    "JupyterServer",
    "clean_env",
    "notebook_json",
    "write_kernelspec",
]

# What jupyter_server logs when its --port was taken meanwhile (port_retries=0 makes it exit).
PORT_TAKEN = "could not be started because port"
# The lease API, under a server's base_url.
LEASE = "jupyter-lease/api/lease"
EXTEND = "jupyter-lease/api/lease/extend"
TOKEN = "test-token-0123456789abcdef"
XSRF = "5f3b2c1d0e9a8b7c6d5e4f3a2b1c0d9e"  # any value: the cookie and the header must match
# What must never reach the environment of a "not configured" server.
_LEASE_ENV_PREFIXES = ("JUPYTER_LEASE_", "HUAWEICLOUD_", "MA_", "MODELARTS_")
_APPS = {
    "server": ("jupyter_server", ""),
    "lab": ("jupyterlab", "LabApp"),
    "notebook": ("notebook", "JupyterNotebookApp"),
}


def clean_env() -> Dict[str, str]:
    """os.environ without any lease, Huawei Cloud or ModelArts settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_LEASE_ENV_PREFIXES)}


def notebook_json(cells: Sequence[str]) -> Dict[str, Any]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_kernelspec(data_dir: Path, python: str) -> Path:
    """A ``python3`` kernelspec in ``data_dir`` that runs ipykernel on ``python``."""
    spec = data_dir / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return spec


def _quiet_lab_settings(config_dir: Path) -> None:
    # JupyterLab's news toast would cover the notebook: off. The status item's warnings (toasts,
    # tab title) are tested in test_status_item.py; in the cell widget's tests they would be a
    # second source of "⏳" titles.
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    item = config_dir / "lab" / "user-settings" / "jupyter-lease"
    item.mkdir(parents=True, exist_ok=True)
    (item / "plugin.jupyterlab-settings").write_text(json.dumps({"notifications": False}))


class JupyterServer:
    """One Jupyter server process; :meth:`start` waits until it answers ``api/status``."""

    def __init__(
        self,
        root: Path,
        env: Dict[str, str],
        *,
        app: str = "server",
        token: str = "",
        base_url: str = "/",
        lease_extension: Optional[bool] = True,
        python: str = sys.executable,
        kernel_python: Optional[str] = None,
        config: str = "",
    ) -> None:
        """``config``: the server's ``jupyter_server_config.py`` (e.g. ``c.JupyterLease.…``);
        ``python`` runs the server (another venv's: JupyterLab 3 on jupyter_server 1.x);
        ``kernel_python``, when given, is the ``python3`` kernel's interpreter (a kernelspec in
        this server's own data dir, searched before the server's own ``python3`` kernel)."""
        if app not in _APPS:
            raise ValueError(app)
        self.app, self.token, self.lease_extension = app, token, lease_extension
        self.python = python
        self.base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.port = free_port()
        self.root = root
        self.notebooks = root / "notebooks"
        self.runtime_dir = root / "runtime"
        self.cache_dir = root / "lease-cache"
        dirs = {name: root / name for name in ("home", "config", "data", "ipython")}
        for path in (*dirs.values(), self.notebooks, self.runtime_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)
        if app != "server":
            _quiet_lab_settings(dirs["config"])
        self.env = {
            **env,
            "HOME": str(dirs["home"]),
            "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(self.runtime_dir),
            "IPYTHONDIR": str(dirs["ipython"]),
            "JUPYTER_LEASE_CACHE_DIR": str(self.cache_dir),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        if kernel_python is not None:
            write_kernelspec(dirs["data"], kernel_python)
            # jupyter_core 5 searches a venv's own share/jupyter before the user's data dir.
            self.env["JUPYTER_PREFER_ENV_PATH"] = "0"
        if config:
            (dirs["config"] / "jupyter_server_config.py").write_text(config)
        self.log_path = root / "server.log"
        self.proc: Optional[subprocess.Popen] = None
        self._log_file: Any = None

    # -- lifecycle ---------------------------------------------------------------------------

    def command(self) -> List[str]:
        """The server's command line (a subclass may wrap it, e.g. in ``srun``)."""
        module, app_class = _APPS[self.app]
        command = [
            self.python,
            "-m",
            module,
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.notebooks}",
            f"--ServerApp.base_url={self.base_url}",
            # ServerApp.token, not IdentityProvider.token: jupyter_server 1.x ignores the latter.
            f"--ServerApp.token={self.token}",
            "--ServerApp.password=",
        ]
        if self.lease_extension is not None:  # None: the config files decide, as for a user
            command.append(
                f"--ServerApp.jpserver_extensions={{'jupyter_lease': {self.lease_extension}}}"
            )
        if app_class:
            command.append(f"--{app_class}.expose_app_in_browser=True")
        return command

    def launch(self) -> JupyterServer:
        """Start the process without waiting (start several, then :meth:`wait_ready` each)."""
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(
            self.command(),
            env=self.env,
            cwd=str(self.notebooks),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> JupyterServer:
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        moves = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if PORT_TAKEN in self.log() and moves < 3:  # see tests/support/ports.py
                    moves += 1
                    self._relaunch_elsewhere()
                    continue
                raise RuntimeError(f"the Jupyter server exited early:\n{self.log()[-3000:]}")
            try:
                if self.get("api/status", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no Jupyter server after {timeout} s:\n{self.log()[-3000:]}")

    def _relaunch_elsewhere(self) -> None:
        """The port was taken between asking for it and binding it: another one."""
        if self._log_file is not None:
            self._log_file.close()
        self.port = free_port()
        self.launch()

    def start(self, timeout: float = 60.0) -> JupyterServer:
        return self.launch().wait_ready(timeout)

    def stop(self) -> None:
        """Stop the server and every kernel it started; idempotent, never raises."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                try:  # a clean shutdown also shuts the kernels down
                    self.post("api/shutdown", timeout=5)
                    proc.wait(timeout=10)
                except Exception:
                    pass
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
        for pid in self._leftover_kernels():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _leftover_kernels(self) -> List[int]:
        """Processes whose command line names this server's runtime dir (its kernels)."""
        marker = str(self.runtime_dir).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry.name))
        return found

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # -- HTTP --------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        return f"{self.origin}{self.base_url}{path.lstrip('/')}"

    def _headers(self, auth: bool = True) -> Dict[str, str]:
        return {"Authorization": f"token {self.token}"} if auth and self.token else {}

    def get(self, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return requests.get(self.url(path), headers=self._headers(auth), **kwargs)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        xsrf: Optional[str] = XSRF,
        auth: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """POST as the browser does: the ``_xsrf`` cookie echoed in ``X-XSRFToken`` (a token-
        authenticated request needs neither; without a token they only have to match)."""
        headers = self._headers(auth)
        cookies = {}
        if xsrf is not None:
            headers["X-XSRFToken"] = xsrf
            cookies["_xsrf"] = XSRF
        if body is not None:
            kwargs["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
        kwargs.setdefault("timeout", 60)
        return requests.post(self.url(path), headers=headers, cookies=cookies, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """DELETE as the browser does (the ``_xsrf`` cookie echoed in ``X-XSRFToken``)."""
        headers = {**self._headers(), "X-XSRFToken": XSRF}
        kwargs.setdefault("timeout", 60)
        return requests.delete(self.url(path), headers=headers, cookies={"_xsrf": XSRF}, **kwargs)

    def interrupt(self, kernel_id: str) -> None:
        self.post(f"api/kernels/{kernel_id}/interrupt", timeout=10)

    def shutdown_kernels(self) -> None:
        """Shut every kernel down (between tests: two cores are better spent on the next one)."""
        try:
            kernels = self.get("api/kernels", timeout=10).json()
        except (requests.RequestException, ValueError):
            return
        for kernel in kernels:
            with contextlib.suppress(requests.RequestException):
                self.delete(f"api/kernels/{kernel['id']}", timeout=10)

    # -- notebooks and the lease cache -------------------------------------------------------------

    def write_notebook(self, name: str, cells: Sequence[str]) -> str:
        (self.notebooks / name).write_text(json.dumps(notebook_json(cells), indent=1))
        return name

    def page_url(self, name: str) -> str:
        # Lab: a workspace of its own per notebook, or Lab reopens the previous test's notebooks.
        stem = re.sub(r"[^A-Za-z0-9-]", "-", name.rsplit(".", 1)[0])
        path = f"lab/workspaces/{stem}/tree/{name}" if self.app == "lab" else f"notebooks/{name}"
        return self.url(path) + (f"?token={self.token}" if self.token else "")

    def cache_files(self) -> List[Path]:
        return sorted(self.cache_dir.glob("jupyter_lease-*.json"))

    def forget_cache(self) -> None:
        """Drop the shared lease cache (server and kernels): the next read goes to ModelArts.

        What the cache's expiry does after at most one poll interval; tests don't wait for it.
        """
        for path in self.cache_files():
            path.unlink()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)  # the server was started in its own session: pgid == pid

"""A JupyterLab / Notebook 7 server in a subprocess, and a notebook page driven like a user would.

``JupyterServer`` runs ``python -m jupyterlab`` or ``python -m notebook`` on 127.0.0.1 with its
own HOME and Jupyter dirs, the jupyter_lease server extension enabled explicitly, and the given
environment (the simulator's). ``NotebookPage`` wraps a Playwright page showing one notebook:
wait for the kernel, run cells with Shift+Enter, read prompts and the countdown widget.

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
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import requests

__all__ = [
    "COUNTDOWN",
    "JupyterServer",
    "NotebookPage",
    "parse_countdown",
    "screenshot_dir",
]

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front
COUNTDOWN = f"{PANEL} .jl-countdown"
SCREENSHOTS_ENV = "JUPYTER_LEASE_SCREENSHOTS"
_MSS = re.compile(r"^(\d+):(\d\d)$")
_HM = re.compile(r"^(?:(\d+) h )?(\d+) min$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_countdown(text: str) -> Optional[float]:
    """Seconds shown by the widget's time text (``9:05`` or ``2 h 00 min``), or None."""
    text = text.strip()
    match = _MSS.match(text)
    if match:
        return int(match.group(1)) * 60 + int(match.group(2))
    match = _HM.match(text)
    if match:
        return int(match.group(1) or 0) * 3600 + int(match.group(2)) * 60
    return None


def screenshot_dir() -> Optional[Path]:
    """Where to save screenshots (``$JUPYTER_LEASE_SCREENSHOTS``), or None: don't."""
    value = os.environ.get(SCREENSHOTS_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


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


class JupyterServer:
    """``python -m jupyterlab`` (``app="lab"``) or ``python -m notebook`` (``app="notebook"``)."""

    def __init__(
        self,
        root: Path,
        env: Dict[str, str],
        *,
        app: str = "lab",
        token: str = "",
        base_url: str = "/",
        lease_extension: bool = True,
        python: str = sys.executable,
        kernel_python: Optional[str] = None,
        config: str = "",
    ) -> None:
        """``config``: the server's ``jupyter_server_config.py`` (e.g. ``c.JupyterLease.…``);
        ``python`` runs the server (another venv's: JupyterLab 3 on jupyter_server 1.x);
        ``kernel_python``, when given, is the ``python3`` kernel's interpreter (a kernelspec in
        this server's own data dir, searched before the server's own ``python3`` kernel)."""
        if app not in ("lab", "notebook"):
            raise ValueError(app)
        self.app, self.token, self.lease_extension = app, token, lease_extension
        self.python = python
        self.base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.port = _free_port()
        self.root = root
        self.notebooks = root / "notebooks"
        self.runtime_dir = root / "runtime"
        self.cache_dir = root / "lease-cache"
        dirs = {name: root / name for name in ("home", "config", "data", "ipython")}
        for path in (*dirs.values(), self.notebooks, self.runtime_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)
        # JupyterLab's news toast would cover the notebook: off.
        settings = dirs["config"] / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        # The status item's warnings (toasts, tab title) are tested in test_status_item.py; in
        # the cell widget's tests they would be a second source of "⏳" titles.
        item = dirs["config"] / "lab" / "user-settings" / "jupyter-lease"
        item.mkdir(parents=True, exist_ok=True)
        (item / "plugin.jupyterlab-settings").write_text(json.dumps({"notifications": False}))
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
        module = "jupyterlab" if self.app == "lab" else "notebook"
        app_class = "LabApp" if self.app == "lab" else "JupyterNotebookApp"
        return [
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
            f"--ServerApp.jpserver_extensions={{'jupyter_lease': {self.lease_extension}}}",
            f"--{app_class}.expose_app_in_browser=True",
        ]

    def start(self, timeout: float = 60.0) -> JupyterServer:
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Jupyter server exited early:\n{self.log()[-3000:]}")
            try:
                if self.get("api/status", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no Jupyter server after {timeout} s:\n{self.log()[-3000:]}")

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
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- HTTP --------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        return f"{self.origin}{self.base_url}{path.lstrip('/')}"

    def _headers(self) -> Dict[str, str]:
        # A token-authenticated request skips the XSRF check; without a token, the _xsrf cookie
        # and header only have to match.
        headers = {"X-XSRFToken": "lease-tests"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        return headers

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.get(self.url(path), headers=self._headers(), **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.post(
            self.url(path), headers=self._headers(), cookies={"_xsrf": "lease-tests"}, **kwargs
        )

    def interrupt(self, kernel_id: str) -> None:
        self.post(f"api/kernels/{kernel_id}/interrupt")

    def shutdown_kernels(self) -> None:
        """Shut every kernel down (between tests: two cores are better spent on the next one)."""
        try:
            kernels = self.get("api/kernels").json()
        except (requests.RequestException, ValueError):
            return
        for kernel in kernels:
            with contextlib.suppress(requests.RequestException):
                requests.delete(
                    self.url(f"api/kernels/{kernel['id']}"),
                    headers=self._headers(),
                    cookies={"_xsrf": "lease-tests"},
                    timeout=10,
                )

    # -- notebooks and the lease cache -------------------------------------------------------------

    def write_notebook(self, name: str, cells: Sequence[str]) -> str:
        (self.notebooks / name).write_text(json.dumps(notebook_json(cells), indent=1))
        return name

    def page_url(self, name: str) -> str:
        # Lab: a workspace of its own per notebook, or Lab reopens the previous test's notebooks.
        stem = re.sub(r"[^A-Za-z0-9-]", "-", name.rsplit(".", 1)[0])
        path = f"lab/workspaces/{stem}/tree/{name}" if self.app == "lab" else f"notebooks/{name}"
        return self.url(path) + (f"?token={self.token}" if self.token else "")

    def forget_lease_cache(self) -> None:
        """Drop the shared lease cache (server and kernels): the next read goes to ModelArts.

        What the cache's expiry does after at most one poll interval; tests don't wait for it.
        """
        for path in self.cache_dir.glob("jupyter_lease-*.json"):
            path.unlink()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)  # the server was started in its own session: pgid == pid


# -- the page --------------------------------------------------------------------------------------

_CURRENT_KERNEL = """() => {
  const app = window.jupyterapp;
  const widget = app && app.shell && app.shell.currentWidget;
  const context =
    widget && (widget.sessionContext || (widget.context && widget.context.sessionContext));
  const kernel = context && context.session && context.session.kernel;
  if (!kernel || kernel.connectionStatus !== "connected") return null;
  return {id: kernel.id, status: kernel.status};
}"""


class NotebookPage:
    """One notebook open in JupyterLab or Notebook 7 (Playwright sync API)."""

    def __init__(self, page: Any, server: JupyterServer, name: str) -> None:
        self.page, self.server, self.name = page, server, name

    def open(self, timeout: float = 60.0) -> NotebookPage:
        self.page.goto(self.server.page_url(self.name), wait_until="domcontentloaded")
        self.wait_kernel_idle(timeout)
        return self

    def reload(self, timeout: float = 60.0) -> None:
        self.page.reload(wait_until="domcontentloaded")
        self.wait_kernel_idle(timeout)

    def kernel(self) -> Optional[Dict[str, Any]]:
        return self.page.evaluate(_CURRENT_KERNEL)

    def wait_kernel_idle(self, timeout: float = 60.0) -> str:
        """Until the notebook's kernel exists, is connected and idle (JupyterLab shows "idle"
        before the kernel exists: running cells earlier opens a kernel dialog)."""
        handle = self.page.wait_for_function(
            f"() => {{ const k = ({_CURRENT_KERNEL})(); return k && k.status === 'idle' && k; }}",
            timeout=timeout * 1000,
            polling=200,
        )
        return str(handle.json_value()["id"])

    @property
    def kernel_id(self) -> str:
        info = self.kernel()
        assert info is not None, "no kernel connected"
        return str(info["id"])

    def cell(self, index: int) -> Any:
        return self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(index)

    def run_cells(self, count: int, first: int = 0) -> None:
        """Select cell ``first`` and press Shift+Enter ``count`` times, as a user does."""
        self.cell(first).locator(".jp-InputPrompt").click()
        for _ in range(count):
            self.page.keyboard.press("Shift+Enter")

    def prompt(self, index: int) -> str:
        return self.cell(index).locator(".jp-InputPrompt").inner_text().strip()

    def is_running(self, index: int) -> bool:
        return self.prompt(index).startswith("[*]")

    def wait_running(self, index: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_running(index):
            if time.monotonic() > deadline:
                raise AssertionError(f"cell {index} did not start: prompt {self.prompt(index)!r}")
            time.sleep(0.1)

    def save(self) -> None:
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")

    # -- the countdown widget ------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        return self.page.locator(COUNTDOWN).first

    def wait_widget(self, timeout: float = 30.0) -> None:
        """Until the countdown shows a time (not "checking the lease…")."""
        self.widget.wait_for(state="visible", timeout=timeout * 1000)
        self.page.wait_for_function(
            f"""() => {{
              const t = document.querySelector("{COUNTDOWN} .jl-time");
              return t && !t.hidden && /\\d/.test(t.textContent);
            }}""",
            timeout=timeout * 1000,
            polling=100,
        )

    def state(self) -> Dict[str, Any]:
        """What the widget shows now, read in one go."""
        return self.page.evaluate(
            f"""() => {{
              const root = document.querySelector("{COUNTDOWN}");
              if (!root) return null;
              const text = (sel) => {{
                const el = root.querySelector(sel);
                return el && !el.hidden ? el.textContent : "";
              }};
              return {{
                time: text(".jl-time"),
                label: text(".jl-label"),
                banner: text(".jl-banner"),
                message: text(".jl-message"),
                error: text(".jl-error"),
                stage: root.dataset.stage,
                source: root.dataset.source,
                accent: getComputedStyle(root).borderLeftColor,
                timeColor: getComputedStyle(root.querySelector(".jl-time")).color,
                title: document.title,
              }};
            }}"""
        )

    def seconds_left(self) -> Optional[float]:
        state = self.state()
        return None if state is None else parse_countdown(state["time"])

    def screenshot(self, name: str, *, full_page: bool = False) -> Optional[Path]:
        """Save a PNG into ``$JUPYTER_LEASE_SCREENSHOTS`` when it is set."""
        directory = screenshot_dir()
        if directory is None:
            return None
        path = directory / name
        if full_page:
            # The notebook, not the file browser or a screen of empty space.
            if self.server.app == "lab":
                self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            size = self.page.viewport_size
            self.page.set_viewport_size({"width": size["width"], "height": 480})
            self.page.wait_for_timeout(400)
            # Without JupyterLab's status bar: its kernel state follows the widget messages'
            # subshell and reads "Idle" while the cell runs.
            box = self.page.locator("#jp-bottom-panel, .jp-StatusBar-Widget").first.bounding_box()
            height = box["y"] if box and box["y"] > 100 else 480
            clip = {"x": 0, "y": 0, "width": size["width"], "height": height}
            self.page.screenshot(path=str(path), clip=clip)
            self.page.set_viewport_size(size)
        else:
            self.widget.screenshot(path=str(path), animations="disabled")
        return path

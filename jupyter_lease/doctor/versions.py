"""Versions for ``doctor``: this Python's packages, the running Jupyter server's, and the
combinations known not to work.

The kernel side is read from installed distributions' metadata (nothing is imported). The
server is asked over HTTP on 127.0.0.1, found through its runtime file (``jpserver-*.json``,
the same files discovery reads); its token goes only into the ``Authorization`` header, never
into a URL, a row or an error line. Every request has a short timeout, so asking a server
that hangs costs at most a few seconds; a server that cannot be asked is one row saying why.
"""

from __future__ import annotations

import json
import os
import platform
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .._errors import scrub
from ..core.reading import clip_words

__all__ = [
    "ENABLE_HINT",
    "KERNEL_PACKAGES",
    "ServerVersions",
    "compatibility",
    "kernel_versions",
    "probe_server",
]

# (label, distribution name): what decides whether the widget can be displayed and run.
KERNEL_PACKAGES = (
    ("IPython", "ipython"),
    ("ipykernel", "ipykernel"),
    ("jupyter_client", "jupyter_client"),
    ("ipywidgets", "ipywidgets"),
    ("anywidget", "anywidget"),
)
WIDGETS_MANAGER = "@jupyter-widgets/jupyterlab-manager"
_PAGE_CONFIG = re.compile(
    r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.S
)
_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+))?")
PIP_WIDGETS_7 = 'pip install "ipywidgets>=7.6,<8"'
# For a server that did not load the extension: where the server's environment is read-only
# (ModelArts), a user-level install and config entry do it.
ENABLE_HINT = (
    "pip install jupyter_lease in the server's environment (with the server's Python, --user "
    "where that environment is read-only), then jupyter lease enable --user and restart the server"
)


def _distribution_version(name: str) -> Optional[str]:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # Python 3.7: the backport (a dependency there)
        from importlib_metadata import PackageNotFoundError, version  # type: ignore
    try:
        return str(version(name))
    except PackageNotFoundError:
        return None


def kernel_versions() -> Dict[str, Optional[str]]:
    """``{"Python": "3.7.10", "IPython": "7.34.0", ..., "anywidget": None}`` (None: missing)."""
    found: Dict[str, Optional[str]] = {"Python": platform.python_version()}
    for label, dist in KERNEL_PACKAGES:
        found[label] = _distribution_version(dist)
    return found


def major_minor(version: Optional[str]) -> Optional[Tuple[int, int]]:
    match = _VERSION.match(version or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


@dataclass(frozen=True)
class ServerVersions:
    """What a running server said. ``None``: it did not say (or was not asked)."""

    url: str  # origin and base_url, never the token
    jupyter_server: Optional[str] = None
    app: Optional[str] = None  # "JupyterLab 3.6.8", "Jupyter Notebook 7.2.1"
    widgets_manager: Optional[str] = None  # the widget front end's version, see widgets_front_end
    lease_extension: Optional[bool] = None
    error: str = ""

    @property
    def widgets_front_end(self) -> Optional[int]:
        """The ipywidgets major the front end speaks: jupyterlab-manager 5.x (jupyterlab_widgets
        3.x) is widgets 8; 3.x (jupyterlab_widgets 1.x) is widgets 7."""
        parsed = major_minor(self.widgets_manager)
        if parsed is None:
            return None
        return 8 if parsed[0] >= 5 else 7


def _server_info(runtime_dir: Optional[str], environ: Mapping[str, str]) -> Optional[dict]:
    from ..server.running import running_servers

    for path, info in running_servers(environ, runtime_dir):
        if os.path.basename(path).startswith("jpserver-") and isinstance(info.get("port"), int):
            return info
    return None


def probe_server(
    runtime_dir: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    *,
    timeout: float = 2.0,
) -> Optional[ServerVersions]:
    """Ask the running Jupyter server what it runs; None when no runtime file names one."""
    info = _server_info(runtime_dir, os.environ if environ is None else environ)
    if info is None:
        return None
    base_url = "/" + str(info.get("base_url") or "/").strip("/") + "/"
    base_url = "/" if base_url == "//" else base_url
    url = f"http://127.0.0.1:{info['port']}{base_url}"
    if info.get("secure"):
        return ServerVersions(url, error="an https server: not asked")
    token = str(info.get("token") or "")
    try:
        return _ask(url, token, timeout)
    except Exception as exc:  # doctor always produces a report: the failure becomes its row
        line = scrub(" ".join(f"{type(exc).__name__}: {exc}".split()), [token])
        return ServerVersions(url, error=clip_words(line, 200))


def _ask(url: str, token: str, timeout: float) -> ServerVersions:
    import requests

    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only: never through a proxy from the environment
    if token:
        session.headers["Authorization"] = f"token {token}"

    def get(path: str) -> Any:
        return session.get(url + path, timeout=timeout, allow_redirects=False)

    with session:
        api = get("api")
        api.raise_for_status()
        server_version = api.json().get("version")
        app = _app_version(get("lab")) or _app_version(get("tree"))
        manager = get(f"lab/extensions/{WIDGETS_MANAGER}/package.json")
        manager_version = manager.json().get("version") if manager.status_code == 200 else None
        lease = get("jupyter-lease/api/lease").status_code
    # 404: no such route, the extension is not loaded; 403 (a login is missing) says nothing.
    loaded = {404: False, 200: True, 502: True, 503: True}.get(lease)
    return ServerVersions(
        url,
        jupyter_server=str(server_version) if server_version else None,
        app=app,
        widgets_manager=str(manager_version) if manager_version else None,
        lease_extension=loaded,
    )


def _app_version(response: Any) -> Optional[str]:
    """``"JupyterLab 3.6.8"`` from a page's embedded config (Lab 3/4, Notebook 7), or None."""
    if response.status_code != 200:
        return None
    match = _PAGE_CONFIG.search(response.text)
    if not match:
        return None
    try:
        config = json.loads(match.group(1))
    except ValueError:
        return None
    name, version = config.get("appName"), config.get("appVersion")
    return f"{name} {version}" if name and version else None


def compatibility(
    kernel: Mapping[str, Optional[str]], server: Optional[ServerVersions]
) -> List[Tuple[str, str]]:
    """``(status, one line)`` per known problem; empty when nothing known is wrong."""
    problems: List[Tuple[str, str]] = []
    widgets = major_minor(kernel.get("ipywidgets"))
    if widgets is None:
        problems.append(("missing", 'no ipywidgets here: pip install "ipywidgets>=7.6,<9"'))
    elif widgets < (7, 6):
        problems.append(
            ("failed", f"ipywidgets {kernel['ipywidgets']} is too old: {PIP_WIDGETS_7}")
        )
    if kernel.get("anywidget") is None:
        problems.append(("missing", 'no anywidget here: pip install "anywidget>=0.9"'))
    front_end = server.widgets_front_end if server is not None else None
    if front_end == 7 and widgets is not None and widgets >= (8, 0):
        problems.append(
            (
                "failed",
                f"ipywidgets {kernel['ipywidgets']} here but the server's widget front end is "
                f"ipywidgets 7 (jupyterlab_widgets 1.x): widgets show 'Error displaying widget: "
                f"model not found' — {PIP_WIDGETS_7} in this kernel's environment",
            )
        )
    if server is not None and server.lease_extension is False:
        problems.append(
            (
                "warning",
                "the server runs without the jupyter_lease extension: Extend waits for the "
                f"running cell — {ENABLE_HINT}",
            )
        )
    return problems

"""A real JupyterHub for tests: ``jupyterhub`` with the Python configurable-http-proxy, the real
``jupyterhub-idle-culler`` as a service, a ``SimpleLocalProcessSpawner`` starting this venv's
``jupyterhub-singleuser`` with jupyter_lease, all in a temp dir, on free ports, as this user.

Nothing here sleeps to synchronise: every wait is on a condition with a deadline.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TypeVar

import requests

from .ports import free_port
from .scenarios import wait_until

T = TypeVar("T")
BIN = Path(sys.executable).parent


def wait_for(what: str, check: Callable[[], Optional[T]], timeout: float, every: float = 0.2) -> T:
    """``check()`` until it returns something truthy (scenarios.wait_until, what first)."""
    return wait_until(check, timeout, what, every)


def missing_hub() -> str:
    """Why a real hub cannot start here, or ""."""
    for command in ("jupyterhub", "jupyterhub-singleuser", "configurable-http-proxy"):
        if not (BIN / command).exists():
            return f"{command} is not installed (pip install 'jupyter_lease[test]')"
    try:
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError:
        return "jupyterhub-idle-culler is not installed (pip install jupyterhub-idle-culler)"
    return ""


class Hub:
    """One hub. ``culler``: the culler's flags; ``user_env``: the single-user servers' extra
    environment (the culler settings the site passes); ``scopes``: server_token_scopes."""

    def __init__(
        self,
        root: Path,
        *,
        culler: List[str],
        user_env: Dict[str, str],
        scopes: Optional[List[str]] = None,
    ) -> None:
        self.root = root
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.token = secrets.token_hex(16)
        self.proxy_token = secrets.token_hex(16)
        self.culler, self.user_env, self.scopes = culler, user_env, scopes
        self.process: Optional[subprocess.Popen] = None
        self.log_path = root / "hub.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> str:
        home = self.root / "home"
        home.mkdir(exist_ok=True)
        env = {
            "JUPYTERHUB_ACTIVITY_INTERVAL": "5",
            "JUPYTER_CONFIG_DIR": str(self.root / "jupyter-config"),
            "JUPYTER_DATA_DIR": str(self.root / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(self.root / "jupyter-runtime"),
            "IPYTHONDIR": str(self.root / "ipython"),
            "JUPYTER_LEASE_CACHE_DIR": str(self.root / "lease-cache"),
            **self.user_env,
        }
        culler = [sys.executable, "-m", "jupyterhub_idle_culler", *self.culler]
        lines = [
            f"c.JupyterHub.ip = '127.0.0.1'; c.JupyterHub.port = {self.port}",
            f"c.JupyterHub.hub_ip = '127.0.0.1'; c.JupyterHub.hub_port = {self.hub_port}",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.api_port}'",
            f"c.ConfigurableHTTPProxy.auth_token = {self.proxy_token!r}",
            "c.JupyterHub.authenticator_class = 'dummy'; c.Authenticator.allow_all = True",
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.SimpleLocalProcessSpawner.home_dir_template = {str(home / '{username}')!r}",
            f"c.Spawner.cmd = [{str(BIN / 'jupyterhub-singleuser')!r}]",
            "c.Spawner.args = ['--allow-root', "
            "\"--ServerApp.jpserver_extensions={'jupyter_lease': True}\"]",
            "c.Spawner.default_url = '/lab'",
            f"c.Spawner.environment = {env!r}",
            "c.JupyterHub.last_activity_interval = 10",
            "c.JupyterHub.db_url = 'sqlite:///jh.sqlite'",
            "c.JupyterHub.cleanup_servers = True",
            "c.JupyterHub.load_roles = [",
            "  {'name': 'culler', 'scopes': ['list:users', 'read:users:activity', "
            "'read:servers', 'delete:servers'], 'services': ['culler']},",
            "  {'name': 'tester', 'scopes': ['admin:users', 'admin:servers', 'tokens', "
            "'access:servers'], 'services': ['tester']}]",
            "c.JupyterHub.services = [",
            f"  {{'name': 'culler', 'command': {culler!r}}},",
            f"  {{'name': 'tester', 'api_token': {self.token!r}}}]",
        ]
        if self.scopes is not None:
            lines.append(f"c.Spawner.server_token_scopes = {self.scopes!r}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 60.0) -> Hub:
        (self.root / "jupyterhub_config.py").write_text(self._config())
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", "jupyterhub_config.py"],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for("the hub's API", self._up, timeout)
        return self

    def _up(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the hub exited ({self.process.returncode}):\n{self.log()}")
        try:
            return requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the hub stops its servers and proxy
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    # -- the Hub's API, as the test's admin service ----------------------------------------------

    def api(
        self, method: str, path: str, body: Any = None, timeout: float = 10
    ) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        data = None if body is None else json.dumps(body)
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, data=data, timeout=timeout
        )

    def spawn(self, user: str, timeout: float = 60.0) -> str:
        """Create ``user``, start their server, wait until it is ready; the user's token."""
        self.api("POST", f"/users/{user}")
        answer = self.api("POST", f"/users/{user}/server", timeout=timeout)  # waits for it
        assert answer.status_code in (201, 202), answer.text
        wait_for(f"{user}'s server", lambda: self.ready(user), timeout)
        token = self.api("POST", f"/users/{user}/tokens", {"expires_in": 3600})
        assert token.status_code in (200, 201), token.text
        return str(token.json()["token"])

    def server(self, user: str) -> Optional[Dict[str, Any]]:
        model = self.api("GET", f"/users/{user}").json()
        return (model.get("servers") or {}).get("")

    def ready(self, user: str) -> bool:
        server = self.server(user)
        return bool(server and server.get("ready"))

    def running(self, user: str) -> bool:
        """The server is there and not being stopped (a cull starts with ``pending: stop``:
        the culler's decision, not the seconds the server then takes to exit, is the cull)."""
        server = self.server(user)
        return server is not None and server.get("pending") != "stop"

    def target(self, user: str) -> str:
        """The single-user server's own address (the proxy's route target), to reach it
        without passing the proxy."""
        routes = requests.get(
            f"http://127.0.0.1:{self.api_port}/api/routes",
            headers={"Authorization": f"token {self.proxy_token}"},
            timeout=5,
        ).json()
        for prefix, route in routes.items():
            if route.get("user") == user or prefix.rstrip("/").endswith(f"/user/{user}"):
                return str(route["target"])
        raise AssertionError(f"no proxy route for {user}: {routes}")


def require_hub() -> None:
    """Skip with the reason when jupyterhub, the idle culler or the Python proxy is missing (in
    CI such a skip is a failure: tests/conftest.py)."""
    import pytest

    missing = missing_hub()
    if missing:
        pytest.skip(f"the real-hub tests need {missing}")


EVERY = 5  # the test hubs' --cull-every (s)
SLACK = 10.0  # the allowance beyond bound + cull period (activity-report lag, load)
LEASE = "jupyter-lease/api/lease"


def bound(view: Dict[str, Any]) -> float:
    """The shown lower bound on this host's clock (epoch seconds)."""
    reading = view["reading"]
    assert reading["kind"] == "timed" and reading["lower_bound"] is True, reading
    return (reading["deadline_ms"] - reading["clock_offset_ms"]) / 1000


def culled_at(hub: Hub, user: str, by: float) -> float:
    """When the culler began stopping ``user``'s server (polled every 0.2 s), by ``by``."""
    wait_for(f"{user}'s server to be culled", lambda: not hub.running(user), by - time.time())
    return time.time()


def until(moment: float) -> None:
    wait_for(f"the clock to reach {moment:.0f}", lambda: time.time() >= moment, 120, 0.1)


class Proxied:
    """The user's server through the hub's proxy, with the user's token (as a script would)."""

    def __init__(self, hub: Hub, user: str, token: str) -> None:
        self.base = f"{hub.url}/user/{user}/"
        self.headers = {"Authorization": f"token {token}"}

    def get(self, path: str = LEASE) -> Dict[str, Any]:
        answer = requests.get(self.base + path, headers=self.headers, timeout=20)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def extend(self, duration: str) -> requests.Response:
        body = {"duration": duration}
        return requests.post(self.base + LEASE + "/extend", json=body, headers=self.headers)


class Direct:
    """The user's server at its own address, not through the hub's proxy (whose traffic the
    Hub counts as the server's activity), with the user's token: the part of
    :class:`~tests.support.jupyter.JupyterServer` that tests/support/busy.py uses."""

    def __init__(self, hub: Hub, user: str, token: str) -> None:
        self.base = f"{hub.target(user)}/user/{user}/"
        self.token = token

    def url(self, path: str = "") -> str:
        return self.base + path.lstrip("/")

    def _headers(self) -> Dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 20)
        return requests.get(self.url(path), headers=self._headers(), **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return requests.post(self.url(path), headers=self._headers(), json=body, **kwargs)

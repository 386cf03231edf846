"""Talk to this machine's Jupyter server about keep alive while busy (CLI and ``keep_alive()``).

The server is found through its runtime file (``jpserver-<pid>.json`` in the Jupyter runtime
dir: the kernel's own server first, then the most recent live one) and reached on 127.0.0.1
with the token from that file; given a lease (:func:`~..watch.sources.lease_identity`), only a
server that says it serves that very lease will do: a runtime dir can be shared by servers of
several leases (two notebooks, a script next to another user's lab). The token is sent in a
header only: it never appears in a message, a log line or an exception (errors name the server
by its port).
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Dict, Mapping, Optional, Tuple

from .._errors import ConfigurationError, NetworkError, UsageError, scrub

__all__ = ["KEEP_ALIVE_PATH", "ServerLink", "answer", "find_server"]

KEEP_ALIVE_PATH = "jupyter-lease/api/keep-alive"
TIMEOUT = (2.0, 10.0)


class ServerLink:
    """One Jupyter server with the extension: ``call("GET", "")`` → (status, JSON body)."""

    def __init__(self, info: Mapping[str, Any]) -> None:
        port = int(info["port"])
        inner = str(info.get("base_url") or "/").strip("/")
        scheme = "https" if info.get("secure") else "http"
        self.name = f"the Jupyter server on port {port}"
        self._base = f"{scheme}://127.0.0.1:{port}/" + (f"{inner}/" if inner else "")
        self._token = str(info.get("token") or "")

    def call(
        self, method: str, path: str = "", body: Optional[Dict[str, Any]] = None
    ) -> Tuple[int, Dict[str, Any]]:
        import requests

        # A token-less server still checks XSRF on POST: any value, sent as cookie and header.
        xsrf = secrets.token_hex(16)
        headers = {"X-XSRFToken": xsrf}
        if self._token:
            headers["Authorization"] = f"token {self._token}"
        url = self._base + KEEP_ALIVE_PATH + path
        try:
            response = requests.request(
                method, url, json=body, headers=headers, cookies={"_xsrf": xsrf}, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise NetworkError(f"{self.name} did not answer ({type(exc).__name__})") from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        return response.status_code, data if isinstance(data, dict) else {}


def find_server(
    environ: Optional[Mapping[str, str]] = None, lease: Optional[str] = None
) -> ServerLink:
    """The running server whose extension answers — for ``lease`` when given, the one that
    serves that lease; :class:`ConfigurationError` (one line) when there is none."""
    from .running import default_runtime_dir, running_servers

    env = os.environ if environ is None else environ
    runtime = default_runtime_dir(env)
    parent = _int(env.get("JPY_PARENT_PID")) or os.getppid()
    others = []
    for _, info in running_servers(env, runtime, parent):
        try:
            link = ServerLink(info)
            status, data = link.call("GET")
        except (KeyError, TypeError, ValueError, NetworkError):
            continue
        if status == 200 and (lease is None or data.get("lease") == lease):
            return link
        if status == 200:
            others.append(f"{link.name} serves {str(data.get('lease'))[:80]}")
    if lease is not None and others:
        raise ConfigurationError(f"no running Jupyter server serves {lease} ({others[0]})")
    raise ConfigurationError(
        "no running Jupyter server with jupyter_lease's extension was found"
        + (f" (runtime dir {runtime})" if runtime else "")
    )


def answer(link: ServerLink, method: str, path: str = "", body: Any = None) -> Dict[str, Any]:
    """The JSON body of a 200, else the server's one-line error as the matching exception."""
    status, data = link.call(method, path, body)
    if status == 200:
        return data
    line = scrub(str(data.get("error") or f"HTTP {status}"))
    if status in (400, 404, 409):
        raise UsageError(line)
    raise NetworkError(f"{link.name}: {line}")


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value else None
    except ValueError:
        return None

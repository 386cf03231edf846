"""The simulator's control API under ``/_sim/`` (JSON, no auth, loopback only), which lets a
kernel or the demo in another process drive it. It refuses anything a web page could send:
any site open in the user's browser can reach 127.0.0.1 (see :func:`control_refusal`).

A mixin of :class:`~.app.Simulator`.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from .._errors import UsageError
from .http import Request, Response, is_loopback, json_response


class ControlRoutes:
    """``/_sim/...``: state, lease, notebooks, clock, faults, log."""

    def _control(self, request: Request) -> Response:
        """``/_sim/...``: JSON in and out, no auth, never from a web page (see module doc)."""
        refusal = control_refusal(request)
        if refusal is not None:
            return refusal
        try:
            data = json.loads(request.body) if request.body.strip() else {}
            if not isinstance(data, dict):
                raise UsageError("the control API takes a JSON object")
            return json_response(
                200, self._control_call(request.method, request.path.rstrip("/"), data)
            )
        except NoRoute:
            return json_response(404, {"error": f"no control call {request.method} {request.path}"})
        except (UsageError, TypeError, ValueError, KeyError, OverflowError) as exc:
            return json_response(400, {"error": " ".join(str(exc).split())})

    def _control_call(self, method: str, path: str, data: Dict[str, Any]) -> Any:
        if (method, path) == ("GET", "/_sim/state"):
            return self.state()
        if (method, path) == ("POST", "/_sim/lease"):
            return self.set_lease(**data)
        if (method, path) == ("POST", "/_sim/notebooks"):
            return self.add_notebook(**data)
        if (method, path) == ("POST", "/_sim/clock"):
            return {"now": self.advance(data["advance"])}
        if (method, path) == ("POST", "/_sim/faults"):
            self.inject(**data)
            return {"faults": self._faults.pending()}
        if (method, path) == ("DELETE", "/_sim/faults"):
            self.clear_faults()
            return {"faults": []}
        if (method, path) == ("GET", "/_sim/log"):
            return self.requests()
        if (method, path) == ("DELETE", "/_sim/log"):
            self.clear_log()
            return {"requests": 0}
        raise NoRoute


class NoRoute(Exception):
    pass


def control_refusal(request: Request) -> Optional[Response]:
    """Why a control request is refused (a 403 or 415), or ``None``.

    A page in the user's browser can send a "simple" cross-origin POST (``text/plain``, no
    preflight) to 127.0.0.1, or reach it by DNS rebinding under its own host name: so the
    control API wants a loopback client, a loopback ``Host``, no ``Origin`` (browsers send one
    with every POST) and, for anything but GET, ``Content-Type: application/json`` (which a
    page cannot send cross-origin without a preflight that this server never answers).
    """
    headers = request.headers
    if not is_loopback(request.client):
        return _refused(403, "the control API answers loopback clients only")
    host = _host_name(headers.get("host", ""))
    if host and not is_loopback(host):
        return _refused(403, "the control API answers requests to a loopback host only")
    if "origin" in headers or headers.get("sec-fetch-site", "none") != "none":
        return _refused(403, "the control API refuses requests from web pages (Origin header)")
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "GET" and media != "application/json":
        return _refused(415, "the control API takes Content-Type: application/json")
    return None


def _host_name(value: str) -> str:
    """The host of a ``Host`` header: ``[::1]:8000`` -> ``::1``, ``localhost:80`` -> localhost."""
    value = value.strip()
    if value.startswith("["):
        return value[1:].split("]")[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _refused(status: int, message: str) -> Response:
    return json_response(status, {"error": message})

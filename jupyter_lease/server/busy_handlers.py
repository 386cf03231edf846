"""HTTP API of keep alive while busy (imported only by :func:`._busy_server.start_keep_alive`).

    GET    {base_url}jupyter-lease/api/keep-alive        state, renewals, what it waits for
    POST   {base_url}jupyter-lease/api/keep-alive        {"on": true, "until_ms": epoch ms |
                                                          "until": epoch s, "for": "8h",
                                                          "via": "panel"}   {"on": false}
    POST   {base_url}jupyter-lease/api/keep-alive/work   {"id": "…", "ttl": 120, "label": "…",
                                                          "for": "6h", "margin": 900,
                                                          "step": 3600, "lease": "modelarts:…"}
                                                         register / heartbeat (409: refused)
    DELETE {base_url}jupyter-lease/api/keep-alive/work?id=…                  the work has ended

"until" is an instant, never a time of day: "18:00" means a different instant in the zone of
whoever picked it, so the page and the CLI turn it into one where the person is. A cap further
than ``c.JupyterLease.renew_max_cap`` (24 h) from now is refused (400).

Same rules as the lease handlers (:mod:`._server_handlers`): a login, the ``jupyter_lease``
authorization resource, XSRF on every POST/DELETE that is not token-authenticated, JSON
answers, errors as one line.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Dict, Optional

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from .._errors import DurationError, UsageError
from ..core.duration import parse_duration
from .busy_policy import clock_time
from .busy_work import WorkRefused
from .handlers import _LeaseAPIHandler

__all__ = ["register"]

KEEP_ALIVE_PATH = "jupyter-lease/api/keep-alive"
WORK_PATH = "jupyter-lease/api/keep-alive/work"
_MAX_BODY = 4096
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_VIA = ("panel", "widget", "cli", "api", "code")
_MAX_EPOCH = 7_258_118_400.0


def register(web_app: Any, keeper: Any, base_url: str) -> None:
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base_url, KEEP_ALIVE_PATH), KeepAliveHandler, {"keeper": keeper}),
            (url_path_join(base_url, WORK_PATH), WorkHandler, {"keeper": keeper}),
        ],
    )


class _KeeperHandler(_LeaseAPIHandler):
    def initialize(self, keeper: Any) -> None:  # type: ignore[override]
        self.keeper = keeper
        self.service = keeper.service

    def _body(self) -> Dict[str, Any]:
        raw = self.request.body or b"{}"
        if len(raw) > _MAX_BODY:
            raise UsageError("the request body is too large")
        try:
            data = json.loads(raw)
        except ValueError:
            raise UsageError("the body must be a JSON object") from None
        if not isinstance(data, dict):
            raise UsageError("the body must be a JSON object")
        return data

    async def _view(self) -> None:
        await self._answer(self.service.offload.run(self.keeper.view), "keep alive while busy")

    async def _then_view(self, change: Any) -> Dict[str, Any]:
        offload = self.service.offload
        await offload.run(change)
        return await offload.run(self.keeper.view)

    def _fail(self, exc: Any, what: str) -> None:
        if isinstance(exc, WorkRefused):  # a valid request this server will not take
            self._reply(409, {"error": str(exc)})
            return
        super()._fail(exc, what)


def _seconds(value: Any, name: str) -> Optional[float]:
    """A duration as text ("8h") or seconds; None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_duration(value).total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DurationError(f'"{name}" must be a duration such as "8h"')
    if not 0 < value <= 365 * 86400:
        raise DurationError(f'"{name}" must be between 1 s and 365 days')
    return float(value)


def _until(data: Dict[str, Any], now: float) -> Optional[float]:
    """``until_ms`` (epoch ms) or ``until`` (epoch s) as epoch seconds; in the future."""
    ms = "until_ms" in data
    value, scale = (data.get("until_ms"), 1000.0) if ms else (data.get("until"), 1.0)
    if value is None:
        return None
    if isinstance(value, str):
        raise UsageError(
            'give "until_ms" as an instant (epoch ms): a time of day such as '
            f"{value.strip()[:8]!r} would be read in this server's time zone, not yours"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError('"until_ms" must be an instant in epoch milliseconds')
    if not now < value / scale <= _MAX_EPOCH:
        raise UsageError('"until" must be in the future')
    return float(value) / scale


def _work(data: Dict[str, Any]) -> Dict[str, Any]:
    """A registration's lease, cap, margin and step (seconds); UsageError when unreadable."""
    lease = data.get("lease")
    if lease is not None and not isinstance(lease, str):
        raise UsageError('"lease" must be the lease\'s identity, a string')
    asked: Dict[str, Any] = {"lease": lease}
    for name in ("for", "margin", "step"):
        asked[name] = _seconds(data.get(name), name)
    return asked


class KeepAliveHandler(_KeeperHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self._view()

    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            data = self._body()
            on = data.get("on")
            if not isinstance(on, bool):
                raise UsageError('give {"on": true, "until": "18:00"} or {"on": false}')
            via = data.get("via") if data.get("via") in _VIA else "api"
            user = getattr(self.current_user, "username", "") or ""
            by = f"{via} ({user[:24]})" if user else str(via)
            until = _until(data, self.keeper.clock()) if on else None
            total = _seconds(data.get("for"), "for") if on else None
        except UsageError as exc:
            self._fail(exc, "keep alive while busy")
            return
        asked = " ".join(
            part
            for part in (
                f"until {clock_time(until)}" if until is not None else "",
                f"for {data['for']}" if total is not None else "",
            )
            if part
        )
        keeper = self.keeper
        if on:
            change = lambda: keeper.turn_on(until, total, str(asked)[:60], by)  # noqa: E731
        else:
            change = lambda: keeper.turn_off(by)  # noqa: E731
        await self._answer(self._then_view(change), "keep alive while busy")


class WorkHandler(_KeeperHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            data = self._body()
            work_id = data.get("id")
            if not isinstance(work_id, str) or not _ID.fullmatch(work_id):
                raise UsageError('"id" must be 1-64 letters, digits or _.:-')
            ttl = _seconds(data.get("ttl", 120), "ttl")
            label = data.get("label") if isinstance(data.get("label"), str) else "code"
            assert ttl is not None
            asked = _work(data)
        except UsageError as exc:
            self._fail(exc, "registering work")
            return
        label = " ".join(label.split())[:80] or "code"
        keeper = self.keeper
        change = lambda: keeper.register(work_id, label, ttl, asked)  # noqa: E731
        await self._answer(self._then_view(change), "registering work")

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        work_id = self.get_query_argument("id", "")
        if not self.keeper.declared.pop(work_id):
            self._reply(404, {"error": "no such work registration"})
            return
        await self._view()

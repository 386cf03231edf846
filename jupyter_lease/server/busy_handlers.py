"""HTTP API of keep alive while busy (imported only by :func:`._busy_server.start_keep_alive`).

    GET    {base_url}jupyter-lease/api/keep-alive        state, renewals, what it waits for
    POST   {base_url}jupyter-lease/api/keep-alive        {"on": true, "until": "18:00" | epoch s,
                                                          "for": "8h", "via": "panel"}
                                                         {"on": false}
    POST   {base_url}jupyter-lease/api/keep-alive/work   {"id": "…", "ttl": 120, "label": "…",
                                                          "for": "6h"}  register / heartbeat
    DELETE {base_url}jupyter-lease/api/keep-alive/work?id=…                  the work has ended

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
from .busy_policy import parse_until
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


def _until(value: Any, now: float) -> Optional[float]:
    """ "18:00" (the next one, this host's wall clock) or epoch seconds; must be in the future."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_until(value, now)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError('"until" must be a time such as "18:00" or epoch seconds')
    if not now < value <= _MAX_EPOCH:
        raise UsageError('"until" must be in the future')
    return float(value)


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
            until = _until(data.get("until"), self.keeper.clock()) if on else None
            total = _seconds(data.get("for"), "for") if on else None
        except UsageError as exc:
            self._fail(exc, "keep alive while busy")
            return
        asked = " ".join(
            part
            for part in (
                f"until {data['until']}" if until is not None else "",
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

    async def _then_view(self, change: Any) -> Dict[str, Any]:
        offload = self.service.offload
        await offload.run(change)
        return await offload.run(self.keeper.view)


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
            self.keeper.register(
                work_id,
                " ".join(label.split())[:80] or "code",
                ttl,
                _seconds(data.get("for"), "for"),
            )
        except UsageError as exc:
            self._fail(exc, "registering work")
            return
        except Exception as exc:
            self._fail(UsageError(str(exc)), "registering work")
            return
        await self._view()

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        work_id = self.get_query_argument("id", "")
        if not self.keeper.unregister(work_id):
            self._reply(404, {"error": "no such work registration"})
            return
        await self._view()

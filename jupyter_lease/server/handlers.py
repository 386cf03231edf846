"""Tornado handlers of the lease API (routed by :mod:`.routes`, served by :mod:`.service`).

Both are ``APIHandler`` s: ``@web.authenticated`` answers 403 without a login, ``@authorized``
asks the server's Authorizer about the ``jupyter_lease`` resource (read for GET, write for
POST), and jupyter_server checks XSRF on every POST that is not token-authenticated.

Every answer is JSON. Errors are ``{"error": "<one line>"}`` (+ ``code`` and ``request_id``
for ModelArts errors): 400 bad input, 403 this user may not extend (a Slurm site's rule),
409 the lease's kind, 502 ModelArts or the network failed, 503 not configured.
No secret and no traceback reaches the response or the log (one WARNING line per failure).
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Dict, Optional, Tuple

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .._errors import (
    APIError,
    ConfigurationError,
    ExtendNotAllowedError,
    ExtendRefusedError,
    LeaseError,
    UsageError,
    scrub,
)
from .service import LeaseService

__all__ = ["ExtendHandler", "LeaseHandler"]

AUTH_RESOURCE = "jupyter_lease"
_MAX_BODY = 4096  # {"duration": "2h"} — anything bigger is not for us


class _LeaseAPIHandler(APIHandler):
    # No check_xsrf_cookie override, on purpose: jupyter_server's own check must keep running
    # for every POST that is not token-authenticated.
    auth_resource = AUTH_RESOURCE
    # Our requests are never the user's activity (as jupyter_server's /api/status): a tab left
    # open polls the lease, and on JupyterHub that must not keep an abandoned server from its
    # idle culler. An Extend there records activity itself, with the Hub.
    _track_activity = False

    def initialize(self, service: LeaseService) -> None:
        self.service = service

    async def _answer(self, work: Awaitable[Dict[str, Any]], what: str) -> None:
        """Await ``work`` (blocking parts run on the service's own threads) and answer it."""
        try:
            body = await work
        except LeaseError as exc:
            self._fail(exc, what)
            return
        except Exception as exc:  # a bug: one line in the log, a generic answer
            if self.service.first_report(exc):
                self.log.warning(
                    "jupyter_lease: %s failed unexpectedly: %s", what, type(exc).__name__
                )
                self.log.debug("jupyter_lease: %s failure details", what, exc_info=True)
            self._reply(
                500, {"error": f"{what} failed inside jupyter_lease ({type(exc).__name__})"}
            )
            return
        self._reply(200, body)

    def _fail(self, exc: LeaseError, what: str) -> None:
        line = scrub(str(exc))
        body: Dict[str, Any] = {"error": line}
        if isinstance(exc, ConfigurationError):
            status = 503  # the server runs fine; it just is not on a (configured) ModelArts
        elif isinstance(exc, ExtendNotAllowedError):
            status = 403  # this user may never extend it here: the line says how to ask
        elif isinstance(exc, ExtendRefusedError):
            status = 409  # the lease's kind conflicts with a renewal: {"force": true} overrides
        elif isinstance(exc, UsageError):
            status = 400
        elif isinstance(exc, APIError):
            status = 502  # ModelArts (or the way to it) failed, not this server
            body.update(code=exc.code, request_id=exc.request_id)
        else:
            status = 500
        # 503: logged once by the service; 400: the caller's
        if status >= 500 and status != 503 and self.service.first_report(exc):
            self.log.warning("jupyter_lease: %s: %s", what, line)
        self._reply(status, body)

    def _reply(self, status: int, body: Dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


class LeaseHandler(_LeaseAPIHandler):
    """``GET {base_url}jupyter-lease/api/lease``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        # The newest view at once, never an upstream read awaited (service.answer).
        await self._answer(self.service.answer(), "reading the lease")


class ExtendHandler(_LeaseAPIHandler):
    """``POST {base_url}jupyter-lease/api/lease/extend`` with ``{"duration": "2h"}`` (and
    ``"force": true`` to extend an IDLE or auto-stop-off lease anyway; ``"basis_ms"``: the
    deadline the page showed, so a second tab's click or a retry for the same end changes
    nothing — Slurm's ``TimeLimit=+N`` adds up)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        wanted = self._wanted()
        if wanted is None:
            return
        duration, force, basis = wanted
        service = self.service
        work = service.offload.run(lambda: service.extend(duration, force, basis))
        await self._answer(work, "extending the lease")

    def _wanted(self) -> Optional[Tuple[str, bool, Optional[float]]]:
        """The requested duration string, ``force`` and the basis (epoch seconds on the
        source's clock, or None), or None after answering 400."""
        raw = self.request.body
        if len(raw) > _MAX_BODY:
            self._reply(400, {"error": "the request body is too large"})
            return None
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            self._reply(400, {"error": 'the body must be JSON, e.g. {"duration": "2h"}'})
            return None
        duration = data.get("duration") if isinstance(data, dict) else None
        if not isinstance(duration, str) or not duration.strip():
            self._reply(400, {"error": 'give a duration such as {"duration": "2h"} (1h–72h)'})
            return None
        force = data.get("force", False)
        if not isinstance(force, bool):  # "yes" must not quietly mean "not forced"
            self._reply(400, {"error": 'force must be true or false, e.g. {"force": true}'})
            return None
        basis = data.get("basis_ms")
        if basis is not None and not _epoch_ms(basis):
            self._reply(400, {"error": "basis_ms must be the deadline shown, in epoch ms"})
            return None
        return duration.strip(), force, None if basis is None else basis / 1000


def _epoch_ms(value: Any) -> bool:
    """A plausible epoch in ms (2001–2286): not a bool, NaN, infinity or a huge number."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ok and 1e12 <= value < 1e13

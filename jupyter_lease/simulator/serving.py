"""How the simulator serves a request: the control API, or an armed fault, or a route; then the
request log (secrets masked) and the answer on the wire. Also the fault and log controls.

A mixin of :class:`~.app.Simulator`, which owns the fault queue, the log and the lock.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, List, Optional

from .faults import BODY_FAULTS, SHORT_CIRCUIT, Fault, damage_body, fault_error
from .http import Handler, Request, Response, json_response, matches, read_request, send

_log = logging.getLogger("jupyter_lease.simulator")


class Serving:
    """Serve, log, and arm faults."""

    def inject(self, fault: str, count: int = 1, path: Optional[str] = None, **params: Any) -> None:
        """Make the next ``count`` matching requests fail as ``fault`` says (see ``FAULTS``)."""
        self._faults.add(fault, count, path, **params)

    def clear_faults(self) -> None:
        self._faults.clear()

    def requests(self) -> List[Dict[str, Any]]:
        """The request log: method, path, query, status, code, time (sim), auth, fault, id."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    def count(self, method: Optional[str] = None, path_suffix: Optional[str] = None) -> int:
        """How many logged requests match ``method`` and end in ``path_suffix``."""
        with self._lock:
            return sum(1 for entry in self._log if matches(entry, method, path_suffix))

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def _secrets(self) -> List[str]:
        """Everything that must never reach the log, even if a client puts it in a URL."""
        issued = [*self._temporary.values(), *self._tokens.values()]
        return [
            self.sk,
            self.ak,
            self.iam_password,
            *self._temporary,
            *self._tokens,
            *self._metadata_tokens,
            *(i.secret for i in issued),
            *(i.token for i in issued),
        ]

    def _record(self, entry: Dict[str, Any]) -> None:
        with self._lock:
            for key in ("path", "query"):
                for secret in self._secrets():
                    if secret and secret in entry[key]:
                        entry[key] = entry[key].replace(secret, "***")
            self._log.append(entry)
        _log.debug("%s %s -> %s", entry["method"], entry["path"], entry["status"])

    # -- serving ---------------------------------------------------------------------------

    def _serve(self, handler: Handler) -> None:
        """Answer one request: control API, or fault / route, then log, then send."""
        request = read_request(handler)
        if request is None:
            return
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            send(handler, self._control(request), uuid.uuid4().hex)
            return
        entry = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "status": None,
            "code": None,
            "time": self.now(),
            "auth": "none",
            "fault": None,
            "request_id": uuid.uuid4().hex,
        }
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            entry["fault"] = fault.name
        response = self._respond(request, entry, fault)
        if response is None:  # stopped while delaying: nobody to answer
            return
        entry["status"] = None if response.mode == "drop" else response.status
        entry["code"] = response.code
        self._record(entry)
        send(handler, response, entry["request_id"])

    def _respond(
        self, request: Request, entry: Dict[str, Any], fault: Optional[Fault]
    ) -> Optional[Response]:
        delay = float(fault.params.get("seconds", 1.0)) if fault and fault.name == "latency" else 0
        if delay and self._stopping.wait(delay):
            return None
        if fault is not None and fault.name == "drop":
            return Response(0, mode="drop")
        if fault is not None and fault.name in SHORT_CIRCUIT:
            status, headers, body = fault_error(fault, self.not_found_status)
            response = json_response(status, body, headers)
            response.code = body["error_code"]
            return response
        response = self._route(request, entry)
        if fault is not None and fault.name in BODY_FAULTS and 200 <= response.status < 300:
            response.body = damage_body(fault, response.body)
        if fault is not None and fault.name == "reset_mid_body":
            response.mode = "reset"
        return response

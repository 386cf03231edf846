"""The ModelArts API the simulator answers: ShowLease, RenewLease, ShowNotebook, ListNotebooks,
after the gateway's checks (:mod:`.auth`), with the lease rules of the real service.

A mixin of :class:`~.app.Simulator`, which owns the notebooks and the lock that guards them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict
from urllib.parse import parse_qs, parse_qsl, unquote

from .http import Request, Response, error_response, json_response
from .model import Notebook

MIN_RENEW_MS = 3_600_000
MAX_RENEW_MS = 259_200_000
DEFAULT_RENEW_MS = 3_600_000
_API_RE = re.compile(r"/v1/([^/]+)/notebooks(?:/([^/]+)(/lease)?)?/?")
_LIST_MAX = 100  # ListNotebooks' largest page
_NO_API = ("APIG.0101", "The API does not exist or has not been published in the environment.")


class ApiRoutes:
    """Route a request to the metadata / IAM endpoints or the notebook API, and answer it."""

    def _route(self, request: Request, entry: Dict[str, Any]) -> Response:
        method, path = request.method, request.path
        if path == "/meta-data/latest/api/token" and method == "PUT":
            return self._metadata_token(request)
        if path == "/openstack/latest/securitykey" and method == "GET":
            return self._security_key(request)
        if path == "/v3/auth/tokens" and method == "POST":
            return self._iam_token(request)
        match = _API_RE.fullmatch(unquote(path))
        if match is None or method not in (("GET", "PATCH") if match.group(3) else ("GET",)):
            return error_response(404, *_NO_API)
        project_id, notebook_id, is_lease = match.groups()
        kind, failure, token_project = self._authenticate(request)
        entry["auth"] = kind
        if failure is not None:
            return failure
        if project_id != self.project_id or (kind == "token" and token_project != project_id):
            return error_response(
                403, "ModelArts.0210", "The project id does not match the credentials."
            )
        if notebook_id is None:
            return self._list(request)
        with self._lock:
            notebook = self._notebooks.get(notebook_id)
            if notebook is None:
                return error_response(
                    self.not_found_status, "ModelArts.6309", "Notebook not found."
                )
            self._tick(notebook)
            if not is_lease:
                return json_response(200, notebook.show())
            if notebook.status != "RUNNING":
                return error_response(400, "ModelArts.6327", "The notebook is not running.")
            if method == "GET":
                return json_response(200, notebook.lease())
            return self._renew(notebook, request)

    def _list(self, request: Request) -> Response:
        """ListNotebooks: ``limit`` (1–100, default 10) instances from record ``offset``."""
        query = parse_qs(request.query)
        try:
            limit = int(query.get("limit", ["10"])[0])
            offset = int(query.get("offset", ["0"])[0])
        except ValueError:
            return error_response(400, "ModelArts.0101", "limit and offset must be integers.")
        if not (1 <= limit <= _LIST_MAX and offset >= 0):
            return error_response(400, "ModelArts.0101", "limit or offset out of range.")
        with self._lock:
            self._tick_all()
            every = [self._notebooks[k].show() for k in sorted(self._notebooks)]
        page = every[offset : offset + limit]
        return json_response(200, {"current": offset // limit, "data": page, "total": len(every)})

    def _renew(self, notebook: Notebook, request: Request) -> Response:
        """RenewLease: the new deadline is ``now + requested``; ``create_at`` stays."""
        requested = _requested_duration(request)
        if isinstance(requested, Response):
            return requested
        if not MIN_RENEW_MS <= requested <= MAX_RENEW_MS:
            return error_response(
                400,
                "ModelArts.6349",
                f"duration must be between {MIN_RENEW_MS} and {MAX_RENEW_MS} ms.",
            )
        now_ms = self._now_ms()
        notebook.duration = now_ms + requested - notebook.create_at
        notebook.update_at = now_ms
        notebook.type, notebook.enable = "TIMING", True
        return json_response(200, notebook.lease())

    # -- authentication --------------------------------------------------------------------


def _requested_duration(request: Request) -> Any:
    """The RenewLease duration in ms from ``?duration=`` (wins) or the JSON body, or a 400."""
    invalid = error_response(
        400, "ModelArts.6346", "duration must be an integer number of milliseconds."
    )
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    if "duration" in query:
        raw = query["duration"].strip()
        return int(raw) if re.fullmatch(r"[+-]?\d+", raw) else invalid
    if not request.body.strip():
        return DEFAULT_RENEW_MS
    try:
        payload = json.loads(request.body)
    except ValueError:
        return error_response(400, "ModelArts.6346", "The request body is not valid JSON.")
    if not isinstance(payload, dict):
        return error_response(400, "ModelArts.6346", "The request body must be a JSON object.")
    lease_type = payload.get("type", "TIMING")
    if not isinstance(lease_type, str) or lease_type.upper() != "TIMING":
        return error_response(400, "ModelArts.6346", "Only TIMING leases can be renewed.")
    value = payload.get("duration", DEFAULT_RENEW_MS)
    return value if isinstance(value, int) and not isinstance(value, bool) else invalid

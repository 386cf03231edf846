"""The API gateway's side of the simulator: AK/SK signatures, temporary credentials, IAM
tokens, lock-out after failures, and the metadata and IAM endpoints that issue the secrets.

A mixin of :class:`~.app.Simulator`, which owns the state it reads (``ak``, ``sk``, the issued
tokens, the failure counts) and the lock that guards it.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import string
from typing import Optional, Tuple

from ..modelarts import signer as _signer
from .http import Request, Response, auth_error, error_response, iam_error, json_response
from .model import Issued, iso, random_text

MAX_DATE_SKEW = 900.0  # the gateway's 15 minutes
LOCKOUT_AFTER = 5  # consecutive failures per AK ...
LOCKOUT_SECONDS = 300.0  # ... lock it for 5 minutes
IAM_TOKEN_TTL = 86_400.0


class AuthRoutes:
    """Authentication as the gateway does it, and the endpoints that issue credentials."""

    def _authenticate(self, request: Request) -> Tuple[str, Optional[Response], Optional[str]]:
        """(auth kind, the 401 to send or None, the token's project) — as the gateway checks."""
        now = self.now()
        token = request.headers.get("x-auth-token")
        if token is not None:
            with self._lock:
                issued = self._tokens.get(token)
            if issued is None:
                return "token", auth_error("the token is invalid."), None
            if now >= issued.expires_at:
                return "token", auth_error("the token has expired."), None
            return "token", None, issued.project_id
        authorization = request.headers.get("authorization")
        if not authorization:
            return "none", auth_error("the Authorization header is missing."), None
        kind = "temporary" if "x-security-token" in request.headers else "aksk"
        try:
            parsed = _signer.parse_authorization(authorization)
        except ValueError:
            return kind, auth_error("the Authorization header is malformed."), None
        with self._lock:
            if self._is_locked(parsed.access, now):
                message = "the access key is locked after repeated failures; retry later."
                return kind, auth_error(message), None
            failure = self._check_signature(request, parsed.access, now)
            if failure is None:
                self._failures.pop(parsed.access, None)
            else:
                self._note_failure(parsed.access, now)
        return kind, failure, None

    def _check_signature(self, request: Request, ak: str, now: float) -> Optional[Response]:
        temporary = self._temporary.get(ak)
        secret = self.sk if ak == self.ak else (temporary.secret if temporary else None)
        if secret is None:
            return auth_error("the access key does not exist.")
        try:
            sent = _signer.parse_sdk_date(request.headers.get("x-sdk-date", ""))
        except ValueError:
            return auth_error("X-Sdk-Date is missing or malformed.")
        if self.max_date_skew is not None and abs(now - sent) > self.max_date_skew:
            return auth_error("the request date is more than 15 minutes off.", "APIG.0303")
        if not _signer.verify(
            request.method, request.target, request.headers, request.body, sk=secret
        ):
            return auth_error("verify aksk signature fail.")
        if temporary is not None and ak != self.ak:
            sent_token = request.headers.get("x-security-token", "")
            if not hmac.compare_digest(sent_token.encode(), temporary.token.encode()):
                return auth_error("the security token is missing or does not match.")
            if now >= temporary.expires_at:
                return auth_error("the security token expired.")
        return None

    def _is_locked(self, ak: str, now: float) -> bool:
        until = self._locked_until.get(ak)
        if until is not None and now >= until:
            del self._locked_until[ak]
            self._failures.pop(ak, None)
            return False
        return until is not None

    def _note_failure(self, ak: str, now: float) -> None:
        self._failures[ak] = self._failures.get(ak, 0) + 1
        if self._failures[ak] >= LOCKOUT_AFTER:
            self._locked_until[ak] = now + LOCKOUT_SECONDS

    # -- metadata service and IAM ----------------------------------------------------------

    def _metadata_token(self, request: Request) -> Response:
        ttl = request.headers.get("x-metadata-token-ttl-seconds", "21600")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return error_response(
                400, "Metadata.0001", "X-Metadata-Token-Ttl-Seconds must be 1-21600."
            )
        token = base64.urlsafe_b64encode(os.urandom(33)).decode()
        with self._lock:
            self._metadata_tokens[token] = Issued(expires_at=self.now() + int(ttl))
        return Response(200, token.encode(), content_type="text/plain")

    def _security_key(self, request: Request) -> Response:
        """Fresh temporary credentials, valid ``metadata_ttl`` seconds of simulator time."""
        now = self.now()
        token = request.headers.get("x-metadata-token")
        with self._lock:
            if token is not None:
                issued = self._metadata_tokens.get(token)
                if issued is None or now >= issued.expires_at:
                    return error_response(401, "Metadata.0401", "The metadata token is invalid.")
            ak = random_text(string.ascii_uppercase + string.digits, 20)
            credential = Issued(
                expires_at=now + self.metadata_ttl,
                secret=random_text(string.ascii_letters + string.digits, 40),
                token="gQ" + base64.b64encode(os.urandom(300)).decode(),
            )
            self._temporary[ak] = credential
        return json_response(
            200,
            {
                "credential": {
                    "access": ak,
                    "secret": credential.secret,
                    "securitytoken": credential.token,
                    "expires_at": iso(credential.expires_at),
                }
            },
        )

    def _iam_token(self, request: Request) -> Response:
        """``POST /v3/auth/tokens``, password identity, project scope: 201 + X-Subject-Token."""
        try:
            auth = json.loads(request.body)["auth"]
            identity = auth["identity"]
            user = identity["password"]["user"]
            scope = (auth.get("scope") or {}).get("project") or {}
        except (ValueError, KeyError, TypeError):
            return iam_error(400, "The request body is malformed.")
        if not isinstance(user, dict) or "password" not in identity.get("methods", []):
            return iam_error(400, "The request body is malformed.")
        domain = user.get("domain") if isinstance(user.get("domain"), dict) else {}
        expected = (self.iam_user, self.iam_password, self.iam_domain)
        if (user.get("name"), user.get("password"), domain.get("name")) != expected:
            return iam_error(401, "The username or password is wrong.")
        if scope.get("id"):
            project_id, project_name = str(scope["id"]), None
        elif scope.get("name") == self.region:
            project_id, project_name = self.project_id, self.region
        else:
            return iam_error(400, "A project scope (id, or name equal to the region) is required.")
        now = self.now()
        token = "MIIsim" + base64.b64encode(os.urandom(600)).decode()
        with self._lock:
            self._tokens[token] = Issued(expires_at=now + IAM_TOKEN_TTL, project_id=project_id)
        name = project_name or (self.region if project_id == self.project_id else project_id)
        body = {
            "token": {
                "expires_at": iso(now + IAM_TOKEN_TTL),
                "issued_at": iso(now),
                "methods": ["password"],
                "project": {"id": project_id, "name": name, "domain": {"name": self.iam_domain}},
                "user": {"name": self.iam_user, "domain": {"name": self.iam_domain}},
            }
        }
        return json_response(201, body, {"X-Subject-Token": token})

    # -- control API -----------------------------------------------------------------------

"""ModelArts' answers as the one exception tree (:mod:`jupyter_lease._errors`): which error code
and HTTP status mean what, and a transport failure as one scrubbed line."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence, Tuple

from .._errors import (
    APIError,
    AuthenticationError,
    InvalidRenewalError,
    NetworkError,
    NotFoundError,
    NotRunningError,
    PermissionDeniedError,
    RequestTimeout,
    ServerError,
    ThrottledError,
    scrub,
)
from ..core.retry import parse_retry_after

_NOT_FOUND_CODES = {"ModelArts.6309", "ModelArts.6404"}
_NOT_RUNNING_CODES = {
    "ModelArts.6327": "the notebook instance is not running",
    "ModelArts.6307": "the notebook instance is stopped",
    "ModelArts.6308": "the notebook instance is stopping",
    "ModelArts.6306": "the notebook instance is still starting",
    "ModelArts.6326": "the notebook instance is frozen (account in arrears)",
}
_RENEWAL_CODES = {"ModelArts.6346", "ModelArts.6348", "ModelArts.6349"}


def network_error(
    exc: Exception, what: str, endpoint: str, secrets: Sequence[str] = ()
) -> NetworkError:
    import requests

    endpoint = scrub(endpoint, secrets)  # configured text: it may carry a key (user:pass@)
    if isinstance(exc, requests.exceptions.Timeout):
        kind = "connecting" if isinstance(exc, requests.exceptions.ConnectTimeout) else "reading"
        return RequestTimeout(f"{what}: timed out {kind} to {endpoint}")
    if isinstance(
        exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    ):
        return NetworkError(f"{what}: the connection to {endpoint} broke off mid-response")
    if isinstance(exc, requests.exceptions.SSLError):
        return NetworkError(
            f"{what}: TLS verification failed for {endpoint} (set REQUESTS_CA_BUNDLE for a "
            "private CA)"
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Name or service not known" in text or "NameResolution" in text or "getaddrinfo" in text:
            return NetworkError(f"{what}: cannot resolve the host of {endpoint}")
        if "Connection refused" in text or "NewConnectionError" in text:
            return NetworkError(f"{what}: connection refused by {endpoint}")
        return NetworkError(f"{what}: the connection to {endpoint} failed or was reset")
    if isinstance(exc, requests.exceptions.RequestException):
        return NetworkError(f"{what}: request to {endpoint} failed ({type(exc).__name__})")
    return NetworkError(f"{what}: unexpected transport failure ({type(exc).__name__})")


def api_error(
    what: str, status: int, content: bytes, headers: Any, now: float, secrets: Sequence[str] = ()
) -> APIError:
    """Map an HTTP error response to the exception hierarchy, with one human line.

    Everything the server said is scrubbed, of ``secrets`` (the credentials in use) too: a
    gateway may echo a key back, and a 32-hex-digit token looks just like a request id.
    """
    code, server_msg = _error_fields(content, secrets)
    request_id = headers.get("X-Request-Id")
    request_id = scrub(request_id, secrets)[:80] if isinstance(request_id, str) else None
    detail = f": {server_msg}" if server_msg else ""
    kw = dict(status=status, code=code, request_id=request_id)
    if code in _NOT_FOUND_CODES or status == 404:
        return NotFoundError(
            f"{what}: notebook instance not found in this project — check "
            f"JUPYTER_LEASE_NOTEBOOK_ID, JUPYTER_LEASE_PROJECT_ID and the region{detail}",
            **kw,
        )
    if code in _NOT_RUNNING_CODES:
        return NotRunningError(f"{what}: {_NOT_RUNNING_CODES[code]}{detail}", **kw)
    if code in _RENEWAL_CODES:
        return InvalidRenewalError(f"{what}: the renewal duration was refused{detail}", **kw)
    if status == 401:
        hint = (
            "the request date is more than 15 min off the server's clock — check this "
            "machine's clock"
            if code == "APIG.0303"
            else "signature or token rejected — check the credentials (jupyter lease doctor)"
        )
        return AuthenticationError(f"{what}: {hint}{detail}", **kw)
    if status == 403:
        return PermissionDeniedError(
            f"{what}: permission denied — the credentials may not allow ModelArts in this "
            f"project{detail}",
            **kw,
        )
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"), now)
        return ThrottledError(f"{what}: too many requests{detail}", retry_after=retry_after, **kw)
    if status == 408 or status >= 500:
        return ServerError(f"{what}: the service failed{detail}", **kw)
    return APIError(f"{what}: request refused{detail}", **kw)


def _error_fields(
    content: bytes, secrets: Sequence[str] = ()
) -> Tuple[Optional[str], Optional[str]]:
    """``(error_code, error_msg)`` from a ModelArts or IAM error body, scrubbed and shortened."""
    try:
        data = json.loads(content)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    if isinstance(data.get("error"), dict):  # IAM: {"error": {"code": 401, "message": …}}
        data = {"error_code": None, "error_msg": data["error"].get("message")}
    code = data.get("error_code")
    msg = data.get("error_msg")
    code = scrub(code, secrets) if isinstance(code, str) and len(code) < 40 else None
    msg = (
        scrub(" ".join(msg.split()), secrets)[:200]
        if isinstance(msg, str) and msg.strip()
        else None
    )
    return code, msg

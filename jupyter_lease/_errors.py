"""Every exception jupyter_lease raises, in one place.

    LeaseError                      base; ``str()`` is always one human line, never a secret
    ├── UsageError                  the caller's input is wrong (CLI exit code 2)
    │   ├── DurationError           "abc", "-5m", "0", a renewal outside 1 h–72 h
    │   ├── ExtendRefusedError      extending would turn an IDLE or auto-stop-off lease timed
    │   └── ConfigurationError      notebook/project/endpoint could not be found
    │       └── CredentialsError    no usable credentials (lists what was tried)
    └── APIError                    ModelArts (or the way to it) said no (CLI exit code 1)
        ├── NetworkError            connect refused, DNS, reset mid-body
        │   └── RequestTimeout      connect or read timeout
        ├── AuthenticationError     401: bad signature, date skew, bad/expired token
        ├── PermissionDeniedError   403
        ├── NotFoundError           ModelArts.6309/6404 on 400 or 404
        ├── NotRunningError         ModelArts.6327/6307/6308/6306/6326
        ├── InvalidRenewalError     ModelArts.6346/6348/6349
        ├── ThrottledError          429 (``retry_after`` in seconds when the server said)
        ├── ServerError             5xx and 408
        └── BadResponseError        a body that is not the JSON promised
            └── LeaseFormatError    a lease object with a missing/ill-typed/out-of-range field

``APIError`` carries ``status`` (HTTP), ``code`` (``ModelArts.XXXX``) and ``request_id``
(``X-Request-Id``) when they are known.  Messages are composed by this package from
fixed text plus those fields; server-provided text is included only after secrets
have been scrubbed (see :func:`scrub`).
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadResponseError",
    "ConfigurationError",
    "CredentialsError",
    "DurationError",
    "ExtendRefusedError",
    "InvalidRenewalError",
    "LeaseError",
    "LeaseFormatError",
    "NetworkError",
    "NotFoundError",
    "NotRunningError",
    "PermissionDeniedError",
    "RequestTimeout",
    "ServerError",
    "ThrottledError",
    "UsageError",
]


class LeaseError(Exception):
    """Base class. ``str(exc)`` is one line meant for a person."""

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line message breaks the CLI's and the widget's layout.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UsageError(LeaseError):
    """The input given to jupyter_lease is wrong; fixing it is up to the caller."""


class DurationError(UsageError, ValueError):
    """A human duration could not be parsed, or is out of the allowed range."""


class ExtendRefusedError(UsageError):
    """Extending would change the kind of stop the user chose: RenewLease always makes the
    lease TIMING, so an IDLE lease or one with auto-stop off would get a fixed stop time.
    Refused unless the caller forces it (CLI exit code 2, HTTP 409)."""


class ConfigurationError(UsageError):
    """Where-am-I discovery failed: a notebook id, project id or endpoint is missing."""


class CredentialsError(ConfigurationError):
    """No credential source produced usable credentials."""

    def __init__(self, message: str, tried: Iterable[str] = ()) -> None:
        self.tried = list(tried)
        super().__init__(message)


class APIError(LeaseError):
    """The API, or the network on the way to it, failed."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(message)

    def __str__(self) -> str:
        extra = [x for x in (self.code, f"HTTP {self.status}" if self.status else None) if x]
        if self.request_id:
            extra.append(f"request id {self.request_id}")
        return f"{self.message} ({', '.join(extra)})" if extra else self.message


class NetworkError(APIError):
    """The request never got a complete answer: refused, DNS failure, reset mid-body."""


class RequestTimeout(NetworkError):
    """Connect or read timeout."""


class AuthenticationError(APIError):
    """401. Never retried: the gateway locks an AK/SK after 5 failures in a row."""


class PermissionDeniedError(APIError):
    """403. Never retried."""


class NotFoundError(APIError):
    """The notebook instance does not exist in this project (or region)."""


class NotRunningError(APIError):
    """The instance is not RUNNING (stopped, stopping, starting, frozen)."""


class InvalidRenewalError(APIError):
    """RenewLease refused the duration."""


class ThrottledError(APIError):
    """429. ``retry_after`` holds the server's ``Retry-After`` in seconds, if any."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kw) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(APIError):
    """5xx or 408: the service failed; worth retrying later."""


class BadResponseError(APIError):
    """The body was not the JSON the API documents."""


class LeaseFormatError(BadResponseError):
    """A lease object is malformed. ``field`` names the offending field."""

    def __init__(self, message: str, *, field: Optional[str] = None, **kw) -> None:
        self.field = field
        super().__init__(message, **kw)


# Long runs of key-like material. AKs are 20 upper-case alphanumerics, SKs 40 mixed, tokens
# thousands of base64 characters: a 16+ character run of those alphabets holding both a digit
# and an upper-case letter is never legitimate in a message meant for a person. Kept: request
# ids and UUIDs (lower-case hex) and environment variable names (UPPER_SNAKE_CASE).
_SECRETISH = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{16,}")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def _mask_if_secretish(match: re.Match) -> str:
    run = match.group(0)
    if _ENV_NAME.fullmatch(run):
        return run
    has_digit = any(c.isdigit() for c in run)
    has_upper = any(c.isupper() for c in run)
    has_lower = any(c.islower() for c in run)
    # Long mixed-case runs are base64 even without digits; no word is 32 letters long.
    secretish = has_upper and (has_digit or (has_lower and len(run) >= 32))
    return "***" if secretish else run


def scrub(text: str, secrets: Iterable[Optional[str]] = ()) -> str:
    """Remove every known secret, and anything shaped like a key, from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _SECRETISH.sub(_mask_if_secretish, text)

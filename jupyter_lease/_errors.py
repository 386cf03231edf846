"""Every exception jupyter_lease raises, in one place.

    LeaseError                      base; ``str()`` is always one human line, never a secret
    ├── UsageError                  the caller's input is wrong (CLI exit code 2)
    │   ├── DurationError           "abc", "-5m", "0", a renewal outside 1 h–72 h
    │   ├── ExtendRefusedError      extending would turn an IDLE or auto-stop-off lease timed
    │   ├── ExtendNotAllowedError   this user may never extend this lease (a Slurm job: only
    │   │                           the site's admins may); the message says how to ask (HTTP 403)
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
from typing import Any, Dict, Iterable, Mapping, Optional
from urllib.parse import quote

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadResponseError",
    "ConfigurationError",
    "CredentialsError",
    "DurationError",
    "ExtendNotAllowedError",
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


class ExtendNotAllowedError(UsageError):
    """This user may not extend this lease at all (e.g. only a Slurm site's administrators may
    raise a job's time limit). The message says how to ask; asking again will not help, so
    nothing retries it (CLI exit code 2, HTTP 403)."""


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


# Key-like material. AKs are 20 upper-case letters and digits, SKs 40 letters and digits, tokens
# hundreds of base64 characters or dotted base64url pieces (JWT): none of these shapes is ever
# legitimate in a message meant for a person. Kept, because people need them: request ids and
# project ids (32 lower-case hex digits), UUIDs, host names, environment variable names
# (UPPER_SNAKE_CASE), error codes. What the shapes cannot tell apart from those (a token of 32
# lower-case hex digits, an all-lower-case dotted token) is masked when the secrets in use are
# passed (``Credentials.secrets()``), or when the word naming it stands right before it.
_SECRETISH = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{16,}")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_UPPER_KEY = re.compile(r"[A-Z0-9]*[A-Z][A-Z0-9]*")  # an AK, digits or not
_LOWER_KEY = re.compile(r"[a-z0-9]{33,}")  # longer than a request id: an SK in lower case
_DOTTED = re.compile(r"(?<![\w.-])[\w-]+(?:\.[\w-]+){2,}(?![\w-])", re.ASCII)
_NAMED = re.compile(
    r"(?<![A-Za-z0-9])(?:access[ _-]?key(?:[ _-]?id)?|secret(?:[ _-]?key)?|[a-z]*[ _-]?token"
    r"|password|passwd|signature|credentials?|ak|sk)s?(?![A-Za-z0-9])"
    r"""["']?\s*[:=]?\s*["']?([A-Za-z0-9+/=._~-]{8,})""",
    re.IGNORECASE,
)
_MASK = "***"


# ``SLURM_JOB_ID=1234567``, ``ArrayJobId=1234``: a name and a number (a job id, a count) are
# no secret, however long together; a secret is never all digits.
_NAME_IS_NUMBER = re.compile(r"[A-Za-z][A-Za-z0-9_]*=\d+(?:[_+]\d+)?")


def _mask_if_secretish(match: re.Match) -> str:
    run = match.group(0)
    if _ENV_NAME.fullmatch(run) or _NAME_IS_NUMBER.fullmatch(run):
        return run
    has_digit = any(c.isdigit() for c in run)
    has_upper = any(c.isupper() for c in run)
    has_lower = any(c.islower() for c in run)
    # Long mixed-case runs are base64 even without digits; no word is 32 letters long.
    secretish = has_upper and (has_digit or (has_lower and len(run) >= 32))
    pieces = re.findall(r"[A-Za-z0-9]{16,}", run)
    secretish = secretish or any(
        _UPPER_KEY.fullmatch(piece) or _LOWER_KEY.fullmatch(piece) for piece in pieces
    )
    return _MASK if secretish else run


def _mask_dotted(match: re.Match) -> str:
    """A JWT (``eyJ…``), or dotted pieces at least two of which mix upper, lower and digits.

    Host names, module paths and versions have no such pieces; a short-segment JWT does.
    """
    token = match.group(0)
    pieces = token.split(".")
    mixed = [
        p
        for p in pieces
        if re.search(r"[A-Z]", p) and re.search(r"[a-z]", p) and re.search(r"\d", p)
    ]
    return _MASK if token.startswith("eyJ") or len(mixed) >= 2 else token


def _mask_named(match: re.Match) -> str:
    """The value right after ``token``, ``sk=``, ``password:``… when it is not a plain word."""
    value = match.group(1)
    if _ENV_NAME.fullmatch(value):
        return match.group(0)
    has_digit = any(c.isdigit() for c in value)
    has_letter = any(c.isalpha() for c in value)
    if (has_digit and has_letter) or value.count(".") >= 2:
        start = match.start(1) - match.start(0)
        return match.group(0)[:start] + _MASK
    return match.group(0)


def scrub(text: str, secrets: Iterable[Optional[str]] = ()) -> str:
    """Remove every known secret, and anything shaped like a key, from ``text``.

    Pass the secrets in use (``Credentials.secrets()``) wherever text from outside (a server's
    error message, an exception from a library) goes into a message: the shapes alone cannot
    tell every secret from a request id.
    """
    text = str(text)
    for secret in secrets:
        if secret and secret.strip():
            text = text.replace(secret, _MASK)
            text = text.replace(quote(secret, safe=""), _MASK)  # echoed from a URL
    text = _DOTTED.sub(_mask_dotted, text)
    text = _NAMED.sub(_mask_named, text)
    return _SECRETISH.sub(_mask_if_secretish, text)


# -- a failure as data (kept in a stale reading, shared through the cache file) ---------------


def error_detail(exc: LeaseError) -> Dict[str, Any]:
    """Enough of ``exc`` to raise the same error again elsewhere (:func:`rebuild_error`):
    its class name, scrubbed message and API fields. JSON-safe; never a secret."""
    detail: Dict[str, Any] = {"type": type(exc).__name__, "message": scrub(exc.message)}
    if isinstance(exc, APIError):
        detail.update(status=exc.status, code=exc.code, request_id=exc.request_id)
    if isinstance(exc, ThrottledError):
        detail["retry_after"] = exc.retry_after
    if isinstance(exc, LeaseFormatError):
        detail["field"] = exc.field
    return detail


def rebuild_error(detail: Mapping[str, Any]) -> LeaseError:
    """The same exception class and fields as the failure :func:`error_detail` recorded."""
    message = str(detail.get("message") or "the lease could not be read")
    cls = globals().get(str(detail.get("type")))
    if not (isinstance(cls, type) and issubclass(cls, LeaseError)):
        cls = APIError
    fields = {k: detail.get(k) for k in ("status", "code", "request_id")}
    if issubclass(cls, ThrottledError):
        fields["retry_after"] = detail.get("retry_after")
    if issubclass(cls, LeaseFormatError):
        fields["field"] = detail.get("field")
    try:
        return cls(message, **fields) if issubclass(cls, APIError) else cls(message)
    except (TypeError, ValueError):  # an exotic constructor: the line still says what failed
        basic = {k: v for k, v in fields.items() if k in ("status", "code", "request_id")}
        return APIError(message, **basic)

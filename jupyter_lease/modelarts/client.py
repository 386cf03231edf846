"""``LeaseClient``: ShowLease, RenewLease and ShowNotebook over one ``requests.Session``.

The transport is injectable (pass any ``requests.Session``, e.g. one with a custom adapter),
the clock and the sleep are injectable (retry timing is tested without waiting), and every
failure becomes one exception from :mod:`jupyter_lease._errors` with a one-line message.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Tuple, Union
from urllib.parse import quote

from .._errors import (
    APIError,
    AuthenticationError,
    BadResponseError,
    ExtendRefusedError,
    InvalidRenewalError,
    LeaseError,
    NetworkError,
    NotFoundError,
    NotRunningError,
    PermissionDeniedError,
    RequestTimeout,
    ServerError,
    ThrottledError,
    scrub,
)
from ..core.clock import OffsetEstimate, observe
from ..core.duration import MAX_RENEWAL, MIN_RENEWAL, DurationLike, format_remaining, renewal
from ..core.reading import Reading
from ..core.retry import RetryPolicy, parse_retry_after
from .lease import Lease, StopKind, lease_reading

if TYPE_CHECKING:  # requests is imported lazily: `import jupyter_lease` must stay cheap
    import requests

    from .confirm import Confirmation
    from .credential_providers import CredentialProvider
    from .discovery import Location

__all__ = ["LeaseClient", "NotebookInfo", "MIN_RENEWAL", "MAX_RENEWAL"]

log = logging.getLogger("jupyter_lease.client")

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds

_NOT_FOUND_CODES = {"ModelArts.6309", "ModelArts.6404"}
_NOT_RUNNING_CODES = {
    "ModelArts.6327": "the notebook instance is not running",
    "ModelArts.6307": "the notebook instance is stopped",
    "ModelArts.6308": "the notebook instance is stopping",
    "ModelArts.6306": "the notebook instance is still starting",
    "ModelArts.6326": "the notebook instance is frozen (account in arrears)",
}
_RENEWAL_CODES = {"ModelArts.6346", "ModelArts.6348", "ModelArts.6349"}


@dataclass(frozen=True)
class NotebookInfo:
    """The parts of ShowNotebook this package uses."""

    id: str
    name: Optional[str]
    status: str
    lease: Optional[Lease]

    @property
    def running(self) -> bool:
        return self.status == "RUNNING"


class LeaseClient:
    """Talks to ModelArts (or the simulator) about one notebook instance's lease.

    Without arguments it discovers where it runs and which credentials to use from the
    environment (see ``jupyter lease doctor``).
    """

    def __init__(
        self,
        location: Optional[Location] = None,
        credentials: Optional[CredentialProvider] = None,
        *,
        session: Optional[requests.Session] = None,
        timeout: Union[float, Tuple[float, float]] = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if location is None:
            from .discovery import discover

            location = discover()
        self.location = location.require()
        if credentials is None:
            from .credentials import resolve_credentials

            credentials = resolve_credentials(
                region=self.location.region.value, project_id=self.location.project_id.value
            )
        self.credentials = credentials
        self._session = session
        self.timeout = timeout
        self.retry = retry
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self.clock_offset: Optional[float] = None  # server − local seconds, see core/clock.py
        self._offset: Optional[OffsetEstimate] = None
        self.last_request_id: Optional[str] = None
        self.confirmation: Optional[Confirmation] = None  # set by the first call (confirm.py)
        # The watcher thread polls while the main thread may extend: one request at a time.
        self._lock = threading.RLock()

    # -- identity ---------------------------------------------------------------------------

    @property
    def notebook_id(self) -> str:
        return str(self.location.notebook_id.value)

    @property
    def project_id(self) -> str:
        return str(self.location.project_id.value)

    @property
    def endpoint(self) -> str:
        return str(self.location.endpoint.value).rstrip("/")

    def __repr__(self) -> str:
        return (
            f"LeaseClient(notebook_id={self.notebook_id!r}, project_id={self.project_id!r}, "
            f"endpoint={self.endpoint!r}, credentials={self.credentials.source!r})"
        )

    # -- the three calls ----------------------------------------------------------------------

    def show(self) -> Lease:
        """ShowLease: the current lease."""
        return Lease.from_json(self._call("GET", "/lease", what="ShowLease"))

    def renew(self, duration: DurationLike, type: str = "TIMING", *, force: bool = False) -> Lease:
        """RenewLease: the instance keeps running for ``duration`` from now (1 h – 72 h).

        RenewLease makes any lease a timed one, so unless ``force`` the lease is read first and
        an IDLE lease, or one with auto-stop off, is left as the user chose it
        (:class:`ExtendRefusedError`, before any change). Returns the lease read back from the
        server afterwards, never a locally computed one.
        """
        wanted = renewal(duration)
        if not force:
            _refuse_kind_change(self.show())
        body = {"duration": int(wanted.total_seconds() * 1000), "type": type.upper()}
        self._call("PATCH", "/lease", body=body, what="RenewLease")
        return self.show()

    def notebook(self) -> NotebookInfo:
        """ShowNotebook: status (RUNNING, STOPPED, …) and the nested lease."""
        data = self._call("GET", "", what="ShowNotebook")
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise BadResponseError("ShowNotebook answered without a 'status' field")
        lease = data.get("lease")
        return NotebookInfo(
            id=str(data.get("id", self.notebook_id)),
            name=data.get("name") if isinstance(data.get("name"), str) else None,
            status=data["status"],
            lease=Lease.from_json(lease) if isinstance(lease, dict) else None,
        )

    # -- the LeaseSource face (core.reading): what the watcher, the server and the CLI use ------

    def read(self) -> Reading:
        """ShowLease as a :class:`Reading`; "not running", once ShowNotebook agrees, is a stopped
        reading. Any other failure raises its :class:`LeaseError` (the caller keeps the last
        known reading, marked stale)."""
        try:
            return self.reading_of(self.show())
        except NotRunningError as exc:
            return stopped_reading(self, exc)

    def extend(self, seconds: float, force: bool = False) -> Reading:
        """RenewLease by ``seconds`` (see :meth:`renew`), as the reading read back."""
        return self.reading_of(self.renew(timedelta(seconds=seconds), force=force))

    def describe(self) -> str:
        return f"ModelArts notebook {self.notebook_id}"

    def reading_of(self, lease: Lease, error: Optional[str] = None) -> Reading:
        """``lease``, just read by this client, as a :class:`Reading`."""
        return lease_reading(
            lease,
            read_at=self.server_now(),
            clock_offset=self.clock_offset,
            notebook_id=self.notebook_id,
            error=error,
        )

    def server_now(self) -> float:
        """The server's clock, as measured from its ``Date`` headers (local clock until then)."""
        return self._clock() + (self.clock_offset or 0.0)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> LeaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------

    def notebook_path(self, notebook_id: str) -> str:
        return f"/v1/{quote(self.project_id, safe='')}/notebooks/{quote(notebook_id, safe='')}"

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = _user_agent()
        return self._session

    def _call(self, method: str, suffix: str, *, body: Any = None, what: str) -> Any:
        """A call on this notebook (path + ``suffix``), its id confirmed once first."""
        from .confirm import confirmed_call  # cheap after the first call

        def call() -> Any:
            path = self.notebook_path(self.notebook_id) + suffix
            return self._call_with_retries(method, path, body, what)

        with self._lock:
            return call() if self.confirmation else confirmed_call(self, call, what)

    def request(self, method: str, path: str, what: str) -> Any:
        """One call without confirming the notebook id first (for :mod:`._confirm`)."""
        with self._lock:
            return self._call_with_retries(method, path, None, what)

    def _call_with_retries(self, method: str, path: str, body: Any, what: str) -> Any:
        tries = 0
        while True:
            tries += 1
            try:
                return self._once(method, path, body, what)
            except LeaseError as error:
                if not self.retry.should_retry(error, tries):
                    raise
                wait = self.retry.delay(tries, self._jitter(), getattr(error, "retry_after", None))
                log.debug(
                    "%s failed (%s); retry %d in %.2fs", what, type(error).__name__, tries, wait
                )
                self._sleep(wait)

    def _once(self, method: str, path: str, body: Any, what: str) -> Any:
        url = self.endpoint + path
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        # Sign with the server's time when we know it: a skewed local clock then costs one
        # rejected request (APIG.0303), after which the measured offset fixes every next one.
        now = self.server_now()
        creds = self.credentials.get(self._clock())
        headers = creds.auth_headers(method, url, payload, now=now, project_id=self.project_id)
        sent = self._clock()
        try:
            response = self.session.request(
                method, url, data=payload or None, headers=headers, timeout=self.timeout
            )
            content = response.content
        except Exception as exc:  # requests' own hierarchy; mapped, never leaked
            raise _network_error(exc, what, self.endpoint, creds.secrets()) from None
        received = self._clock()
        self._observe(response.headers, sent, received)
        log.debug("%s %s -> %s (%s)", method, path, response.status_code, self.last_request_id)
        if response.status_code >= 400:
            raise _api_error(
                what, response.status_code, content, response.headers, received, creds.secrets()
            )
        try:
            return json.loads(content) if content else {}
        except ValueError:
            raise BadResponseError(
                f"{what} answered with malformed JSON",
                status=response.status_code,
                request_id=self.last_request_id,
            ) from None

    def _observe(self, headers: Any, sent: float, received: float) -> None:
        self.last_request_id = headers.get("X-Request-Id")
        date = headers.get("Date")
        if not date:
            return
        try:
            server = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            return
        self._offset = observe(self._offset, server, sent, received)
        self.clock_offset = self._offset.offset


def stopped_reading(client: Any, exc: NotRunningError) -> Reading:
    """A lease call said "not running": a stopped reading if ShowNotebook agrees, else ``exc``.

    A stopped instance ends the watch for good, so one odd answer must not do that; if the
    confirmation fails too, the original error stands (stale, asked again with backoff).
    """
    try:
        running = client.notebook().running
    except Exception:
        running = True
    if running:
        raise exc
    return Reading(
        kind="stopped",
        read_at=client.server_now(),
        clock_offset=client.clock_offset or 0.0,
        error=str(exc),
        source=f"ModelArts notebook {client.notebook_id[:8]}",
        source_id=client.notebook_id,
    )


def _refuse_kind_change(lease: Lease) -> None:
    """Raise unless extending keeps the kind of stop the user chose (a timed one)."""
    if lease.kind is StopKind.TIMED:
        return
    if lease.kind is StopKind.IDLE:
        now = (
            f"this instance stops after {format_remaining(lease.idle_after or timedelta(0))} "
            "idle, not at a fixed time, and extending would give it a fixed stop time"
        )
    else:
        now = "auto-stop is off for this instance, and extending would turn it on at a fixed time"
    raise ExtendRefusedError(
        f'not extended: {now} — use --force ("force": true over HTTP) to do that anyway'
    )


def _user_agent() -> str:
    from .. import __version__

    return f"jupyter_lease/{__version__}"


def _network_error(
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


def _api_error(
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

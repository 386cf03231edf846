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
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple, Union
from urllib.parse import quote

from .._errors import (
    APIError,
    BadResponseError,
    ExtendRefusedError,
    LeaseError,
    NotRunningError,
    error_detail,
)
from ..core.clock import OffsetEstimate, observe_date
from ..core.duration import MAX_RENEWAL, MIN_RENEWAL, DurationLike, format_remaining, renewal
from ..core.reading import Reading
from ..core.retry import RetryPolicy
from .api_errors import api_error, network_error
from .lease import Lease, StopKind, lease_reading

if TYPE_CHECKING:  # requests is imported lazily: `import jupyter_lease` must stay cheap
    import requests

    from .confirm import Confirmation
    from .credential_providers import CredentialProvider
    from .discovery import Location

__all__ = ["LeaseClient", "NotebookInfo", "MIN_RENEWAL", "MAX_RENEWAL"]

log = logging.getLogger("jupyter_lease.client")

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds


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
        self.confirmation: Optional[Confirmation] = None  # taken from the first call (confirm.py)
        # The watcher thread polls while the main thread may extend: one request at a time.
        self._lock = threading.RLock()
        self._last = Reading(
            source=f"ModelArts notebook {self.notebook_id[:8]}", source_id=self.notebook_id
        )

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

        RenewLease makes any lease a timed one and counts from now, so unless ``force`` the
        lease is read first and left as the user chose it (:class:`ExtendRefusedError`, before
        any change) when it is IDLE, has auto-stop off, or would stop sooner than it does now.
        Returns the lease read back from the server afterwards, never a locally computed one.
        """
        wanted = renewal(duration)
        if not force:
            current = self.show()
            _refuse_kind_change(current)
            _refuse_shortening(current.remaining(self.server_now()), wanted)
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
        """ShowLease as a :class:`Reading` (ModelArts' raw lease in ``extra["lease"]``); "not
        running", once ShowNotebook agrees, is a stopped reading. Never raises for a failure
        upstream: the last known reading, stale, with the error (:func:`~..core.failure`)."""
        try:
            try:
                self._last = self.reading_of(self.show())
            except NotRunningError as exc:
                self._last = stopped_reading(self, exc)
        except LeaseError as exc:
            self._last = self._last.with_error(exc)
        return self._last

    def extend(self, seconds: float, force: bool = False) -> Reading:
        """RenewLease by ``seconds`` (see :meth:`renew`), as the reading read back. A caller's
        mistake raises (:class:`ExtendRefusedError`: it would shorten the lease or change its
        kind; :class:`DurationError`); a failure upstream is the last reading, stale."""
        wanted = renewal(timedelta(seconds=seconds))  # a bad duration raises, sending nothing
        try:
            self._last = self.reading_of(self.renew(wanted, force=force))
        except (APIError, NotRunningError) as exc:
            self._last = self._last.with_error(exc)
        return self._last

    def describe(self) -> str:
        return f"ModelArts notebook {self.notebook_id}"

    def identity(self) -> str:
        """``modelarts:<notebook id>@<endpoint host>``: the cache's and keep-alive's key."""
        from urllib.parse import urlsplit

        endpoint = self.endpoint.strip().rstrip("/").lower()
        return f"modelarts:{self.notebook_id.lower()}@{urlsplit(endpoint).netloc or endpoint}"

    def status(
        self, reading: Reading, now: float, *, health: Optional[dict] = None, why: str = ""
    ) -> Any:
        """``reading`` as ModelArts' status table: the raw lease, where each setting came from,
        the clock offset and the watcher's health (``why`` is not shown: the sources are)."""
        from .status import LeaseStatus

        return LeaseStatus.from_reading(self, reading, now, health=health)

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

        def call(notebook_id: str) -> Any:
            path = self.notebook_path(notebook_id) + suffix
            return self._call_with_retries(method, path, body, what)

        with self._lock:
            if self.confirmation:
                return call(self.notebook_id)
            result, self.confirmation = confirmed_call(self, call, what)
            if self.confirmation.notebook_id != self.notebook_id:  # another id was confirmed
                self.location = self.location.with_notebook_id(self.confirmation)
            return result

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
            raise network_error(exc, what, self.endpoint, creds.secrets()) from None
        received = self._clock()
        self._observe(response.headers, sent, received)
        log.debug("%s %s -> %s (%s)", method, path, response.status_code, self.last_request_id)
        if response.status_code >= 400:
            raise api_error(
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
        self._offset = observe_date(self._offset, headers.get("Date"), sent, received)
        if self._offset is not None:
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
        extra={"failure": error_detail(exc)},  # core.failure: the NotRunningError itself
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


# A renewal that lands within this of the current stop changes nothing a person notices; the
# clock offset behind ``remaining`` is measured to about a second.
_SHORTENING_SLACK = timedelta(seconds=5)


def _refuse_shortening(left: Optional[timedelta], wanted: timedelta) -> None:
    """Raise if renewing for ``wanted`` from now would stop the instance sooner than ``left``."""
    if left is None or wanted + _SHORTENING_SLACK >= left:
        return
    raise ExtendRefusedError(
        f"not extended: {format_remaining(left)} left now, and a renewal counts from now, so "
        f"{format_remaining(wanted)} would stop the instance {format_remaining(left - wanted)} "
        f"sooner — ask for more than {format_remaining(left)}, or use --force "
        '("force": true over HTTP) to shorten it anyway'
    )


def _user_agent() -> str:
    from .. import __version__

    return f"jupyter_lease/{__version__}"

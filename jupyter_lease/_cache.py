"""One upstream ShowLease per poll interval per instance, however many processes ask.

Every kernel on a notebook instance runs its own watcher, and the Jupyter server answers the
browser's countdown too; without sharing, each of them would call ShowLease on its own
schedule. They all share one small JSON file instead, under the Jupyter runtime directory
(``JUPYTER_LEASE_CACHE_DIR`` overrides it), named from a hash of (endpoint, project id,
notebook id) and guarded by an advisory file lock (:mod:`jupyter_lease._filelock`).

:class:`CachedLeaseSource` wraps a :class:`~jupyter_lease._client.LeaseClient` and has the same
surface the watcher, the magic and the server use. ``show()`` returns the cached lease while
it is younger than the poll interval the schedule would pick for it (minus a little slack,
so that N processes polling at that interval collapse into one upstream call); otherwise it
calls ModelArts and rewrites the file. Callers that waited on the lock while another process
was asking share that attempt's result, failure included (single flight), so a slow or
failing ModelArts is not asked N times in a row; a failure is never stored as a fresh lease,
so the next poll after it goes upstream again.

The file holds the lease JSON, when it was fetched (local and server clock), the measured
clock offset and the last error line, scrubbed. Never credentials, tokens or headers.
Any problem with the file itself (corrupt, unreadable, read-only directory, lock timeout) is
logged at DEBUG and the source works uncached: the cache must never be why a poll fails.

Independent of jupyter_server; ``jupyter_core`` is imported lazily, only to find the runtime
directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Union

from . import _errors
from ._errors import APIError, LeaseError, ThrottledError, scrub
from ._filelock import FileLock, LockTimeout
from ._lease import Lease
from ._schedule import PollSchedule

__all__ = [
    "CACHE_DIR_ENV",
    "CacheEntry",
    "CachedLeaseSource",
    "cache_dir",
    "cache_path",
    "max_age",
]

log = logging.getLogger("jupyter_lease.cache")

CACHE_DIR_ENV = "JUPYTER_LEASE_CACHE_DIR"
FORMAT = "jupyter_lease.cache/1"
# Longer than one ShowLease with its retries usually takes (3 tries, 3 s connect + 10 s read
# timeouts, short backoff): a waiter normally gets the holder's result instead of timing out.
LOCK_TIMEOUT = 60.0
SLACK_FRACTION = 0.1  # of the poll interval ...
SLACK_MAX = 2.0  # ... but never more than this many seconds

ScheduleLike = Union[PollSchedule, Callable[[], PollSchedule]]


# -- where ---------------------------------------------------------------------------------


def cache_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    """``$JUPYTER_LEASE_CACHE_DIR``, else the Jupyter runtime dir (shared by server and kernels)."""
    env = os.environ if environ is None else environ
    override = env.get(CACHE_DIR_ENV, "").strip()
    if override:
        return os.path.abspath(os.path.expanduser(override))
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return str(jupyter_runtime_dir())
    except Exception:  # jupyter_core missing (a bare `pip install` + CLI): its default layout
        runtime = env.get("JUPYTER_RUNTIME_DIR", "").strip()
        if runtime:
            return runtime
        return os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter", "runtime")


def cache_key(endpoint: str, project_id: str, notebook_id: str) -> str:
    """A stable hash of what identifies one lease upstream."""
    raw = "\n".join((endpoint.rstrip("/").lower(), project_id, notebook_id.lower()))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def cache_path(
    endpoint: str, project_id: str, notebook_id: str, directory: Optional[str] = None
) -> str:
    """The cache file for one lease: ``<dir>/jupyter_lease-<hash16>.json``."""
    key = cache_key(endpoint, project_id, notebook_id)
    return os.path.join(directory or cache_dir(), f"jupyter_lease-{key[:16]}.json")


# -- what --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheEntry:
    """The file's content. Local times are this machine's epoch seconds (``time.time()``)."""

    lease: Optional[Lease] = None
    fetched_at: Optional[float] = None  # local clock when ``lease`` was read upstream
    server_time: Optional[float] = None  # the server's clock at that moment
    clock_offset: Optional[float] = None  # server clock − local clock, as measured
    error: Optional[str] = None  # the last failure's line (scrubbed); None after a success
    error_at: Optional[float] = None  # local clock when that failure happened
    error_detail: Optional[Dict[str, Any]] = None  # enough to raise the same error again
    failures: int = 0  # consecutive failed fetches, across all processes

    def age(self, now: float) -> Optional[float]:
        return None if self.fetched_at is None else now - self.fetched_at

    def to_json(self, key: str) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "key": key,
            "lease": None if self.lease is None else self.lease.to_json(),
            "fetched_at": self.fetched_at,
            "server_time": self.server_time,
            "clock_offset": self.clock_offset,
            "error": self.error,
            "error_at": self.error_at,
            "error_detail": self.error_detail,
            "failures": self.failures,
            "pid": os.getpid(),
        }

    @classmethod
    def from_json(cls, data: Any, key: str) -> CacheEntry:
        """Parse the file's JSON; ``ValueError`` for anything not written by this format."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            raise ValueError("not a cache file for this lease")
        lease = data.get("lease")
        detail = data.get("error_detail")
        error = data.get("error")
        failures = data.get("failures", 0)
        if not isinstance(failures, int) or isinstance(failures, bool):
            raise ValueError("failures is not an integer")
        return cls(
            lease=None if lease is None else Lease.from_json(lease),
            fetched_at=_number(data, "fetched_at"),
            server_time=_number(data, "server_time"),
            clock_offset=_number(data, "clock_offset"),
            error=error if isinstance(error, str) else None,
            error_at=_number(data, "error_at"),
            error_detail=detail if isinstance(detail, dict) else None,
            failures=max(0, failures),
        )


def _number(data: Mapping[str, Any], name: str) -> Optional[float]:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{name} is not a number")
    return float(value)


def max_age(lease: Lease, server_now: float, schedule: PollSchedule) -> float:
    """How long a cached lease counts as fresh: the poll interval the schedule would use for it
    now, minus a little slack so that a process polling at exactly that interval finds its
    own last fetch stale and N processes polling at it collapse into one upstream call."""
    interval = schedule.next_poll(lease.remaining(server_now))
    return max(0.0, interval - min(SLACK_MAX, interval * SLACK_FRACTION))


# -- errors in the file ------------------------------------------------------------------------


def _error_detail(exc: LeaseError) -> Dict[str, Any]:
    detail: Dict[str, Any] = {"type": type(exc).__name__, "message": scrub(exc.message)}
    if isinstance(exc, APIError):
        detail.update(status=exc.status, code=exc.code, request_id=exc.request_id)
    if isinstance(exc, ThrottledError):
        detail["retry_after"] = exc.retry_after
    return detail


def _rebuild_error(detail: Mapping[str, Any]) -> LeaseError:
    """The same exception class and fields as the failure another process recorded."""
    message = str(detail.get("message") or "the lease could not be read")
    cls = getattr(_errors, str(detail.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, LeaseError)):
        cls = APIError
    fields = {k: detail.get(k) for k in ("status", "code", "request_id")}
    if issubclass(cls, ThrottledError):
        fields["retry_after"] = detail.get("retry_after")
    try:
        return cls(message, **fields) if issubclass(cls, APIError) else cls(message)
    except (TypeError, ValueError):  # an exotic constructor: the line still says what failed
        return APIError(message, **{k: v for k, v in fields.items() if k != "retry_after"})


# -- the facade --------------------------------------------------------------------------


class CachedLeaseSource:
    """A ``LeaseClient`` whose ``show()`` is shared through the cache file.

    ``schedule`` is a :class:`PollSchedule` or a function returning the current one (the
    runtime's settings change under ``%config``). Everything not defined here is delegated to
    the wrapped client.
    """

    def __init__(
        self,
        client: Any,
        *,
        schedule: ScheduleLike = PollSchedule(),
        directory: Optional[str] = None,
        lock_timeout: float = LOCK_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._schedule = schedule
        self._clock = clock
        self.lock_timeout = lock_timeout
        self._key = cache_key(client.endpoint, client.project_id, client.notebook_id)
        self.path = cache_path(client.endpoint, client.project_id, client.notebook_id, directory)
        self._offset: Optional[float] = None
        self._local = threading.local()  # per-thread "fresh()" requests

    # -- the LeaseClient surface ----------------------------------------------------------------

    @property
    def client(self) -> Any:
        return self._client

    @property
    def location(self) -> Any:
        return self._client.location

    @property
    def credentials(self) -> Any:
        return self._client.credentials

    @property
    def notebook_id(self) -> str:
        return str(self._client.notebook_id)

    @property
    def project_id(self) -> str:
        return str(self._client.project_id)

    @property
    def endpoint(self) -> str:
        return str(self._client.endpoint)

    @property
    def clock_offset(self) -> Optional[float]:
        """The newest measurement, whether this process or the one that filled the cache made it
        (all processes here share one local clock, so either is as good)."""
        return self._offset if self._offset is not None else self._client.clock_offset

    def server_now(self) -> float:
        """The server's clock now: the local clock plus the measured offset."""
        return self._clock() + (self.clock_offset or 0.0)

    def show(self) -> Lease:
        """ShowLease, answered from the cache while it is fresh."""
        entry = self.show_entry()
        assert entry.lease is not None
        # How old the answer is: the watcher times its next poll from when the lease was read
        # upstream, so every process polls right after the cache expires, not at its own phase.
        self.last_age = max(0.0, self._clock() - (entry.fetched_at or self._clock()))
        return entry.lease

    def renew(self, duration: Any, type: str = "TIMING", *, force: bool = False) -> Lease:
        """RenewLease, always upstream; the lease read back is written for everyone."""
        entry = self.renew_entry(duration, type, force=force)
        assert entry.lease is not None
        return entry.lease

    def renew_entry(
        self, duration: Any, type: str = "TIMING", *, force: bool = False
    ) -> CacheEntry:
        """:meth:`renew`, returning the new cache entry (the server reports ``fetched_at``)."""
        # Under the lock: a ShowLease in flight elsewhere must not overwrite the renewed lease
        # with the one it read before the renewal.
        with self._locked() as locked:
            try:
                lease = self._client.renew(duration, type, force=force)
            except APIError:
                # The PATCH may have gone through before the read-back failed: the cached lease
                # can no longer be trusted as fresh.
                if locked:
                    self._invalidate()
                raise
            return self._store_success(lease)

    def notebook(self) -> Any:
        """ShowNotebook, not cached (only ``%lease``-style explicit calls use it)."""
        return self._client.notebook()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CachedLeaseSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never recurse while half-built
            raise AttributeError(name)
        return getattr(self._client, name)

    def __repr__(self) -> str:
        return f"CachedLeaseSource({self._client!r}, path={self.path!r})"

    # -- cache-aware reading ---------------------------------------------------------------------

    def read(self) -> CacheEntry:
        """The file as it is now (no lock, no upstream call); an empty entry if unusable."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                return CacheEntry.from_json(json.load(fh), self._key)
        except FileNotFoundError:
            return CacheEntry()
        except (OSError, ValueError, LeaseError) as exc:  # corrupt or unreadable: rewritten later
            log.debug("ignoring unusable lease cache %s: %s", self.path, type(exc).__name__)
            return CacheEntry()

    @contextlib.contextmanager
    def fresh(self) -> Iterator[None]:
        """Within this block, ``show()`` *in this thread* answers a lease read upstream after the
        block began (by this process or another): for explicit requests such as
        ``%lease status``, where a person expects the truth now, not the last poll's answer.
        Background polling stays shared."""
        previous = getattr(self._local, "since", None)
        self._local.since = self._clock()
        try:
            yield
        finally:
            self._local.since = previous

    def show_entry(self) -> CacheEntry:
        """The entry with a fresh lease (from the file or just fetched); raises the fetch error.

        The server uses this to tell ``fetched_at`` and the offset along with the lease.
        """
        started = self._clock()
        with self._locked() as locked:
            entry = self.read()  # safe without the lock too: writers replace the file whole
            if self._is_fresh(entry):
                if entry.clock_offset is not None:
                    self._offset = entry.clock_offset
                return entry
            if not locked:  # no lock to be had: ask upstream ourselves, record only successes
                return self._fetch(entry, record_failure=False)
            if entry.error_at is not None and entry.error_at >= started and entry.error_detail:
                # Another process's attempt finished while we waited for the lock: share its
                # failure instead of asking a failing service again straight away.
                raise _rebuild_error(entry.error_detail)
            return self._fetch(entry, record_failure=True)

    def _is_fresh(self, entry: CacheEntry) -> bool:
        now = self._clock()
        age = entry.age(now)
        if entry.lease is None or age is None or age < 0:  # a negative age: the clock jumped
            return False
        since = getattr(self._local, "since", None)
        if since is not None:  # inside fresh(): only a read made since then will do
            return entry.fetched_at is not None and entry.fetched_at >= since
        server_now = now + (entry.clock_offset or 0.0)
        return age < max_age(entry.lease, server_now, self._current_schedule())

    def _current_schedule(self) -> PollSchedule:
        schedule = self._schedule
        return schedule if isinstance(schedule, PollSchedule) else schedule()

    def _fetch(self, entry: CacheEntry, *, record_failure: bool) -> CacheEntry:
        try:
            lease = self._client.show()
        except LeaseError as exc:
            if record_failure:
                self._write(self._with_failure(entry, exc))
            raise
        return self._store_success(lease)

    def _store_success(self, lease: Lease) -> CacheEntry:
        offset = self._client.clock_offset
        if offset is not None:
            self._offset = offset
        fresh = CacheEntry(
            lease=lease,
            fetched_at=self._clock(),
            server_time=self.server_now(),
            clock_offset=self.clock_offset,
        )
        self._write(fresh)
        return fresh

    def _with_failure(self, entry: CacheEntry, exc: LeaseError) -> CacheEntry:
        # The last good lease stays (for a "stale" display) with its old fetched_at, so it is
        # no fresher than before: the next poll anywhere goes upstream again.
        return replace(
            entry,
            error=scrub(str(exc)),
            error_at=self._clock(),
            error_detail=_error_detail(exc),
            failures=entry.failures + 1,
        )

    def _invalidate(self) -> None:
        entry = self.read()
        if entry.fetched_at is not None:
            self._write(replace(entry, fetched_at=None))

    # -- the file --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """Hold the cache lock; yields False (work uncached) if it cannot be had."""
        lock = FileLock(self.path[: -len(".json")] + ".lock", timeout=self.lock_timeout)
        try:
            _ensure_dir(os.path.dirname(self.path))
            lock.acquire()
        except (OSError, LockTimeout) as exc:
            log.debug("lease cache lock unavailable (%s); going uncached", type(exc).__name__)
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def _write(self, entry: CacheEntry) -> None:
        """Atomically replace the file (temp file + ``os.replace``), mode 0600; never raises."""
        directory = os.path.dirname(self.path)
        tmp = None
        try:
            _ensure_dir(directory)
            fd, tmp = tempfile.mkstemp(prefix=".jupyter_lease-", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp made it 0600
                json.dump(entry.to_json(self._key), fh, separators=(",", ":"))
            os.replace(tmp, self.path)
            tmp = None
        except (OSError, TypeError, ValueError) as exc:
            log.debug("could not write the lease cache %s: %s", self.path, type(exc).__name__)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _ensure_dir(path: str) -> None:
    # 0700 like Jupyter's runtime dir: other users have no business reading our lease state.
    os.makedirs(path, mode=0o700, exist_ok=True)

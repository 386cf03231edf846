"""One upstream ShowLease per poll interval per instance, however many processes ask.

Every kernel on a notebook instance runs its own watcher, and the Jupyter server answers the
browser's countdown too; without sharing, each of them would call ShowLease on its own
schedule. They all share one small JSON file instead, under the Jupyter runtime directory
(``JUPYTER_LEASE_CACHE_DIR`` overrides it), named from a hash of (endpoint, project id,
notebook id) and guarded by an advisory file lock (:mod:`jupyter_lease.watch.filelock`).

:class:`CachedLeaseSource` wraps a :class:`~..modelarts.client.LeaseClient` and has the same
surface the watcher, the magic and the server use. ``show()`` returns the cached lease while
it is younger than the poll interval the schedule would pick for it (minus a little slack,
so that N processes polling at that interval collapse into one upstream call); otherwise it
calls ModelArts and rewrites the file. Callers that waited on the lock while another process
was asking share that attempt's result, failure included (single flight), so a slow or
failing ModelArts is not asked N times in a row; a failure is never stored as a fresh lease,
so the next poll after it goes upstream again.

The file holds the lease JSON, when it was fetched (local and server clock), the measured
clock offset and the last error line, scrubbed. Never credentials, tokens or headers.
The cache must never be why a poll fails: an entry that cannot be read, parsed or judged
(corrupt, out of range, refused by :mod:`jupyter_lease.watch.cachefile` as planted, a FIFO,
oversized) counts as no entry, and the next good read replaces it; a directory that cannot be
used (read-only, shared with other users, lock timeout) means working uncached. Each such
problem is logged once at DEBUG (a kernel's watcher thread must never print) and kept in
:attr:`CachedLeaseSource.cache_problem` for whoever can report it (the server's log).

Independent of jupyter_server; ``jupyter_core`` is imported lazily, only to find the runtime
directory.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any, Callable, Iterator, Optional, Tuple

from .._errors import APIError, LeaseError, NotRunningError, scrub
from ..core.reading import Reading
from ..core.schedule import PollSchedule
from ..modelarts.client import stopped_reading
from ..modelarts.lease import Lease
from .cachedata import (
    CACHE_DIR_ENV,
    FORMAT,
    CacheEntry,
    cache_dir,
    cache_key,
    cache_path,
    error_detail,
    rebuild_error,
)
from .cacheslot import CacheSlot, ScheduleLike, fresh_for_left, schedule_now

__all__ = [  # the names from _cachedata are re-exported: this is the cache's public face
    "CACHE_DIR_ENV",
    "FORMAT",
    "CacheEntry",
    "CachedLeaseSource",
    "cache_dir",
    "cache_path",
    "max_age",
]

log = logging.getLogger("jupyter_lease.cache")

# Longer than one ShowLease with its retries usually takes (3 tries, 3 s connect + 10 s read
# timeouts, short backoff): a waiter normally gets the holder's result instead of timing out.
LOCK_TIMEOUT = 60.0


def max_age(lease: Lease, server_now: float, schedule: PollSchedule) -> float:
    """How long a cached lease counts as fresh (:func:`.cacheslot.fresh_for_left`)."""
    return fresh_for_left(lease.remaining(server_now), schedule)


# -- the facade --------------------------------------------------------------------------


class CachedLeaseSource:
    """A ``LeaseClient`` whose ``show()`` is shared through the cache file.

    ``schedule`` is a :class:`PollSchedule` or a function returning the current one (the
    runtime's settings change under ``%config``).
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
        self._key = cache_key(client.endpoint, client.project_id, client.notebook_id)
        self.path = cache_path(client.endpoint, client.project_id, client.notebook_id, directory)
        self._slot = CacheSlot(self.path, lock_timeout)
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
        """ModelArts' clock now: this clock plus the offset that came with the lease (the
        inner client may not have measured one: the cache answered for it)."""
        return self._clock() + (self.clock_offset or 0.0)

    def show(self) -> Lease:
        """ShowLease, answered from the cache while it is fresh."""
        entry = self.show_entry()
        assert entry.lease is not None
        return entry.lease

    # -- the LeaseSource face (core.reading) -----------------------------------------------------

    def read(self) -> Reading:
        """The entry's reading (the very one the server extension serves), read upstream only
        when the cache is no longer fresh. Its ``read_at`` says how old it is: the watcher polls
        again when it expires, so every process polls in step and one of them fetches."""
        try:
            return self.show_entry().reading(self.notebook_id)
        except NotRunningError as exc:
            return self.stopped(exc)

    def stopped(self, exc: NotRunningError) -> Reading:
        """The stopped reading once ShowNotebook agrees that the instance is not running;
        else ``exc`` again (one odd answer must not end anything)."""
        return stopped_reading(self._client, exc)

    def extend(self, seconds: float, force: bool = False) -> Reading:
        """RenewLease through the cache (:meth:`renew_entry`), as the reading read back."""
        entry = self.renew_entry(timedelta(seconds=seconds), force=force)
        return entry.reading(self.notebook_id)

    def describe(self) -> str:
        return self._client.describe()

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
        with self._slot.locked() as locked:
            try:
                lease = self._client.renew(duration, type, force=force)
            except APIError:
                # The PATCH may have gone through before the read-back failed: the cached lease
                # can no longer be trusted as fresh.
                if locked:
                    self._invalidate()
                raise
            return self._store_success(lease)

    def renew_if(
        self, decide: Callable[[CacheEntry], Optional[float]]
    ) -> Tuple[CacheEntry, Optional[float]]:
        """Read the lease upstream and renew by ``decide(entry)`` seconds unless it says None,
        both under the cache lock: of several processes deciding at once, the first renews and
        the others read the renewed lease and decide against it (keep alive while busy)."""
        with self._slot.locked() as locked:
            if not locked:  # without the lock two processes could both renew
                raise LeaseError(
                    f"no automatic renewal without the cache lock: {self.cache_problem}"
                )
            entry = self._fetch(self.peek(), record_failure=True)
            duration = decide(entry)
            if duration is None:
                return entry, None
            try:  # force: decide() has seen the lease's kind in this very read
                lease = self._client.renew(duration, force=True)
            except APIError:
                self._invalidate()  # the PATCH may have gone through
                raise
            return self._store_success(lease), duration

    def notebook(self) -> Any:
        """ShowNotebook, not cached (only ``%lease``-style explicit calls use it)."""
        return self._client.notebook()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CachedLeaseSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CachedLeaseSource({self._client!r}, path={self.path!r})"

    # -- cache-aware reading ---------------------------------------------------------------------

    def peek(self) -> CacheEntry:
        """The file as it is now (no lock, no upstream call); an empty entry if unusable."""
        return self._slot.load(lambda data: CacheEntry.from_json(data, self._key), CacheEntry())

    @property
    def cache_problem(self) -> Optional[str]:
        """Why the cache could not be used last time, one line; None once it worked again."""
        return self._slot.problem

    def _write(self, entry: CacheEntry) -> None:
        self._slot.save(entry.to_json(self._key))

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
        with self._slot.locked() as locked:
            entry = self.peek()  # safe without the lock too: writers replace the file whole
            if self._is_fresh(entry):
                if entry.clock_offset is not None:
                    self._offset = entry.clock_offset
                return entry
            if not locked:  # no lock to be had: ask upstream ourselves, record only successes
                return self._fetch(entry, record_failure=False)
            if self._failed_while_waiting(entry, started):
                # Another process's attempt finished while we waited for the lock: share its
                # failure instead of asking a failing service again straight away.
                raise rebuild_error(entry.error_detail or {})
            return self._fetch(entry, record_failure=True)

    def _failed_while_waiting(self, entry: CacheEntry, started: float) -> bool:
        # Between our start and now: a failure "from the future" (the clock stepped back since
        # it was recorded) would otherwise be shared with every reader until the clock caught
        # up, and nobody would ask upstream again.
        at = entry.error_at
        return bool(entry.error_detail) and at is not None and started <= at <= self._clock()

    def _is_fresh(self, entry: CacheEntry) -> bool:
        try:
            return self._judge(entry)
        except Exception as exc:  # an entry that cannot even be judged is no entry
            self._slot.note(f"lease cache entry could not be judged ({type(exc).__name__})")
            return False

    def _judge(self, entry: CacheEntry) -> bool:
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
        return schedule_now(self._schedule)

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
        fetched_at = self._clock()
        fresh = CacheEntry(
            lease=lease,
            fetched_at=fetched_at,
            server_time=fetched_at + (self.clock_offset or 0.0),  # ModelArts' clock then
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
            error_detail=error_detail(exc),
            failures=entry.failures + 1,
        )

    def _invalidate(self) -> None:
        entry = self.peek()
        if entry.fetched_at is not None:
            self._write(replace(entry, fetched_at=None))

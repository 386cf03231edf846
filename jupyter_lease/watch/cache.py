"""One upstream read per poll interval per lease, however many processes ask, for ANY source.

Every kernel runs its own watcher, the Jupyter server answers the browser, a terminal runs
``jupyter lease``: without sharing, each would ask the provider (ModelArts' ShowLease, Slurm's
``squeue``, the Hub's user model) on its own schedule. They all share one small JSON file
instead (:mod:`.cachedata`: the last good :class:`~jupyter_lease.core.Reading` with the
provider's opaque ``extra``, e.g. ModelArts' raw lease for ``--json``, and the last failure),
under the Jupyter runtime directory (``JUPYTER_LEASE_CACHE_DIR`` overrides it), named from the
source's ``identity()``, read as carefully as :mod:`.cachefile` can and guarded by an advisory
file lock (:mod:`.filelock`), both through :class:`.cacheslot.CacheSlot`.

A reading is fresh while younger than the poll interval the schedule picks for its time left
(minus a little slack: :func:`.cacheslot.fresh_for_left`); then one caller, under the lock,
asks the source and rewrites the file, and callers that waited on the lock meanwhile share its
answer, failure included (single flight). A failure keeps the last good reading in the file with
its old ``fetched_at``: a process that starts while the source fails still gets the last known
deadline (stale), and the next poll anywhere asks again.

Extending goes through :meth:`CachedSource.extend_if`: the decision is taken under the lock on
the reading there, so two processes asking for the same end time move it once (Slurm's
``TimeLimit=+N`` adds up; a RenewLease in flight elsewhere must not be overwritten either).

The cache is never why a read fails: an unusable file or lock means working uncached, logged once
at DEBUG (a kernel's watcher thread must never print) and kept in :attr:`cache_problem` for
whoever can report it (the server's log). Provider-neutral: it imports no provider.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from .._errors import LeaseError
from ..core.reading import Reading
from ..core.schedule import PollSchedule
from .cachedata import CACHE_DIR_ENV, FORMAT, CacheEntry, cache_dir, cache_path
from .cacheslot import CacheSlot, ScheduleLike, fresh_for_left, schedule_now

__all__ = [
    "CACHE_DIR_ENV",
    "FORMAT",
    "CacheEntry",
    "CachedSource",
    "cache_dir",
    "cache_path",
    "fresh_for",
]

# Longer than one read with its retries usually takes (ModelArts: 3 tries, 3 s connect + 10 s
# read timeouts): a waiter normally gets the holder's result instead of timing out.
LOCK_TIMEOUT = 60.0
# An extension that already moved the stop this close to the end time asked for is the same one.
SAME_END_S = 5.0

Decide = Callable[[Reading], Optional[float]]


def fresh_for(reading: Reading, now: float, schedule: PollSchedule) -> float:
    """How long ``reading`` counts as fresh: the schedule's poll interval for its time left
    ``now`` (this host's clock), minus a little slack."""
    left = None
    if reading.kind == "timed" and reading.deadline is not None:
        seconds = reading.deadline - reading.clock_offset - now
        left = timedelta(seconds=max(0.0, seconds))
    return fresh_for_left(left, schedule)


class CachedSource:
    """``source`` (a LeaseSource) behind the machine-wide cache file of its ``identity()``.

    ``schedule`` is a :class:`PollSchedule` or a function returning the current one (the
    runtime's settings change under ``%config``). It is a LeaseSource itself.
    """

    def __init__(
        self,
        source: Any,
        *,
        schedule: ScheduleLike = PollSchedule(),
        directory: Optional[str] = None,
        lock_timeout: float = LOCK_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.key = source.identity()
        self.path = cache_path(self.key, directory)
        self._slot = CacheSlot(self.path, lock_timeout)
        self._schedule = schedule
        self._clock = clock
        self._local = threading.local()  # per-thread fresh() requests
        self._offset: Optional[float] = None  # the last reading's clock offset, in memory
        self._seen = CacheEntry()  # the entry this process last loaded or wrote, in memory

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r}, path={self.path!r})"

    # -- the LeaseSource face ---------------------------------------------------------------------

    def describe(self) -> str:
        return str(self.source.describe())

    def identity(self) -> str:
        return self.key

    def status(
        self,
        reading: Reading,
        now: float,
        *,
        health: Optional[Dict[str, Any]] = None,
        why: str = "",
    ) -> Any:
        return self.source.status(reading, now, health=health, why=why)

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> CachedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def clock_offset(self) -> Optional[float]:
        """The source's clock minus this host's, as last measured by any process (the file),
        else by this one (the file may be gone: a cleaned runtime dir)."""
        offset = self._load().clock_offset
        return self._offset if offset is None else offset

    def read(self) -> Reading:
        """The cached reading while fresh; else the source's, written for everyone. A failed
        read is the last known reading (from any process), stale, with the error."""
        started = self._clock()
        with self._slot.locked() as locked:
            entry = self._load()
            if self._is_fresh(entry):
                assert entry.reading is not None
                self._offset = entry.reading.clock_offset
                return entry.reading
            if locked and self._failed_while_waiting(entry, started):
                return entry.stale_reading()  # shared: not asked again at once
            return self._fetch(entry, record=locked)

    def extend(
        self, seconds: float, force: bool = False, *, basis: Optional[float] = None
    ) -> Reading:
        """The source's extend, single flight per requested end time (``basis`` + ``seconds``;
        ``basis``: the deadline the asker saw, on the source's clock, by default the cached
        one now): asked again for an end the reading under the lock already reaches (a second
        tab, a retry after a timeout, another process at the same moment), it changes nothing.
        A caller's mistake raises; a failure upstream is a stale reading."""
        if basis is None:
            seen = self._load().reading
            basis = None if seen is None else seen.deadline

        def wanted(current: Reading) -> Optional[float]:
            return None if _reached(basis, current, seconds) else seconds

        return self.extend_if(wanted, force=force, read=False)[0]

    def extend_if(
        self, decide: Decide, *, force: bool = False, read: bool = True
    ) -> Tuple[Reading, Optional[float]]:
        """Extend by ``decide(reading)`` seconds unless it says None, the decision taken under
        the cache lock on the reading there (``read``: read upstream first, as keep-alive needs;
        else the cached one): of several processes deciding at once, the first extends and the
        others decide against the extended reading. Returns the reading after, and the seconds
        extended (None: nothing was). A stale read decides nothing."""
        with self._slot.locked() as locked:
            if read and not locked:  # without the lock two processes could both extend
                raise LeaseError(
                    f"no automatic extension without the cache lock: {self.cache_problem}"
                )
            entry = self._load()
            current = self._fetch(entry, record=True) if read else (entry.shown() or Reading())
            if read and current.stale:
                return current, None
            seconds = decide(current)
            if seconds is None:
                return current, None
            return self._extend_locked(seconds, force, locked), seconds

    def _extend_locked(self, seconds: float, force: bool, locked: bool) -> Reading:
        # Under the lock: a read in flight elsewhere must not overwrite the extended reading
        # with the one it made before the change.
        reading = self.source.extend(seconds, force)  # a caller's mistake raises: no write
        if not reading.stale:
            return self._store(reading)
        if locked:  # the change may have gone through: the cached reading is no truth now
            self._write(replace(self._load(), fetched_at=None))
        return reading

    @contextlib.contextmanager
    def fresh(self) -> Iterator[None]:
        """Within this block, :meth:`read` *in this thread* answers only a reading made after
        the block began (by any process): for a person's explicit ``status``. Background
        polling stays shared."""
        previous = getattr(self._local, "since", None)
        self._local.since = self._clock()
        try:
            yield
        finally:
            self._local.since = previous

    def cached(self) -> Optional[Reading]:
        """What the file holds now, as a view shows it (no lock, no upstream read); None before
        any good read: the server pushes this after another process wrote the file."""
        return self._load().shown()

    def peek(self) -> CacheEntry:
        """The file as it is now (no lock, no read); an empty entry if unusable."""
        return self._load()

    def due(self) -> bool:
        """Whether the entry this process last loaded or wrote is due for a refresh, judged in
        memory (no lock, no file, no upstream): a server answering many tabs starts a refresh
        behind them only then; another process's write shows in the file's stamp instead."""
        return not self._is_fresh(self._seen)

    @property
    def cache_problem(self) -> Optional[str]:
        """Why the cache could not be used last time, one line; None once it worked again."""
        return self._slot.problem

    # -- inside ---------------------------------------------------------------------------------

    def _load(self) -> CacheEntry:
        entry = self._slot.load(lambda data: CacheEntry.from_json(data, self.key), CacheEntry())
        self._seen = entry
        return entry

    def _write(self, entry: CacheEntry) -> None:
        self._slot.save(entry.to_json(self.key))
        self._seen = entry

    def _is_fresh(self, entry: CacheEntry) -> bool:
        try:
            return self._judge(entry)
        except Exception as exc:  # an entry that cannot even be judged is no entry
            self._slot.note(f"lease cache entry could not be judged ({type(exc).__name__})")
            return False

    def _judge(self, entry: CacheEntry) -> bool:
        now = self._clock()
        age = entry.age(now)
        if entry.reading is None or age is None or age < 0:  # a negative age: the clock jumped
            return False
        since = getattr(self._local, "since", None)
        if since is not None:  # inside fresh(): only a read made since then will do
            return entry.fetched_at is not None and entry.fetched_at >= since
        return age < fresh_for(entry.reading, now, schedule_now(self._schedule))

    def _failed_while_waiting(self, entry: CacheEntry, started: float) -> bool:
        # Between our start and now: a failure "from the future" (the clock stepped back since
        # it was recorded) would otherwise be shared with every reader until the clock caught up.
        at = entry.error_at
        return entry.error is not None and at is not None and started <= at <= self._clock()

    def _store(self, reading: Reading) -> Reading:
        """Write a good reading for everyone; return it as every reader gets it from the file
        (whole ms), so this process shows what the others show."""
        settled = replace(Reading.from_json(reading.to_json()), extra=reading.extra)
        self._offset = settled.clock_offset
        self._write(CacheEntry(reading=settled, fetched_at=self._clock()))
        return settled

    def _fetch(self, entry: CacheEntry, *, record: bool) -> Reading:
        reading = self.source.read()
        if not reading.stale:
            return self._store(reading)
        if record:
            failed = replace(
                entry,
                error=reading.error,
                error_at=self._clock(),
                failure=reading,
                failures=entry.failures + 1,
            )
            self._write(failed)
        # The file is the truth while it can be used: its last good reading (another process's,
        # maybe), or none; this process's own memory only when working uncached.
        return entry.stale_reading(reading) if entry.reading or record else reading


def _reached(basis: Optional[float], current: Reading, seconds: float) -> bool:
    """Whether the stop already moved past ``basis`` by about ``seconds``: the extension asked
    for is there (someone made it since the asker looked)."""
    if basis is None or current.deadline is None or current.kind != "timed" or current.stale:
        return False
    moved = current.deadline - basis
    return moved > SAME_END_S and moved >= seconds - SAME_END_S

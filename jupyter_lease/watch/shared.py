"""One upstream read per poll interval for ANY lease source, however many processes ask.

:mod:`jupyter_lease.watch.cache` does this for ModelArts (it keeps ModelArts' own lease JSON,
for ``--json`` and the keep-alive policy); this module does it for every other
:class:`~jupyter_lease.core.LeaseSource` (Slurm's ``squeue`` today), on what every source has
in common: its :class:`~jupyter_lease.core.Reading`. The file holds ``reading.to_json()``, when
it was fetched (this host's clock) and the last error line, keyed by the source's key (e.g.
``slurm:<cluster>:<job>``), next to ModelArts' cache and as carefully read
(:mod:`.cachefile`: no links, no FIFOs, ours only, 8 KiB) under the same kind of file lock.

A reading is fresh while younger than the poll interval the schedule picks for its time left (minus
a little slack: :func:`.cacheslot.fresh_for_left`, the rule both caches use); then one caller,
under the lock, asks the source and rewrites the file, and callers that waited on the lock
meanwhile share its answer, failure included (single flight). A failure keeps the last good reading
in the file, with its old ``fetched_at``: a process that starts while the source fails still gets
the last known deadline (stale), and the next poll anywhere asks again. The cache is never why a
read fails: an unusable file or lock means working uncached.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, Optional

from .._errors import LeaseError, scrub
from ..core.reading import Reading, one_line
from ..core.schedule import PollSchedule
from .cachedata import cache_dir
from .cacheslot import CacheSlot, ScheduleLike, fresh_for_left, schedule_now

__all__ = ["FORMAT", "SharedEntry", "SharedSource", "fresh_for", "shared_path"]

log = logging.getLogger("jupyter_lease.cache")

FORMAT = "jupyter_lease.shared/1"
# squeue answers in milliseconds and its timeout is 10 s, tried at most three ways: a waiter
# normally gets the holder's answer rather than timing out.
LOCK_TIMEOUT = 45.0
_MAX_SECONDS = 7_258_118_400.0  # year 2200: nothing this package wrote


def shared_path(key: str, directory: Optional[str] = None) -> str:
    """``<dir>/jupyter_lease-s<hash15>.json``: never the name of a ModelArts cache file."""
    digest = hashlib.sha256(f"shared\n{key}".encode()).hexdigest()
    return os.path.join(directory or cache_dir(), f"jupyter_lease-s{digest[:15]}.json")


def fresh_for(reading: Reading, now: float, schedule: PollSchedule) -> float:
    """How long a reading counts as fresh: the schedule's poll interval for its time left now,
    minus a little slack, so that N processes polling at that interval make one read."""
    left = None
    if reading.kind == "timed" and reading.deadline is not None:
        seconds = reading.deadline - reading.clock_offset - now
        left = timedelta(seconds=max(0.0, seconds))
    return fresh_for_left(left, schedule)


@dataclass(frozen=True)
class SharedEntry:
    """The file's content. Times are this host's epoch seconds."""

    reading: Optional[Reading] = None  # the last good reading (never a stale one)
    fetched_at: Optional[float] = None  # when it was read from the source
    error: Optional[str] = None  # the last failure, one scrubbed line; None after a success
    error_at: Optional[float] = None
    failures: int = 0  # consecutive failed reads, across all processes

    def to_json(self, key: str) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "key": key,
            "reading": None if self.reading is None else self.reading.to_json(),
            "fetched_at": self.fetched_at,
            "error": self.error,
            "error_at": self.error_at,
            "failures": self.failures,
            "pid": os.getpid(),
        }

    @classmethod
    def from_json(cls, data: Any, key: str) -> SharedEntry:
        """Parse the file's JSON; ``ValueError`` (or BadResponseError) for anything else."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            raise ValueError("not a shared cache file for this lease")
        raw = data.get("reading")
        failures = data.get("failures", 0)
        if not isinstance(failures, int) or isinstance(failures, bool):
            raise ValueError("failures is not an integer")
        error = data.get("error")
        return cls(
            reading=None if raw is None else Reading.from_json(raw),
            fetched_at=_number(data, "fetched_at"),
            error=one_line(error) if isinstance(error, str) else None,
            error_at=_number(data, "error_at"),
            failures=max(0, failures),
        )

    def stale_reading(self, error: Optional[str]) -> Reading:
        """The last known reading (or none), marked stale with ``error``."""
        return (self.reading or Reading()).with_error(error or "the lease could not be read")


def _number(data: Dict[str, Any], name: str) -> Optional[float]:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} is not a number")
    if not -_MAX_SECONDS <= value <= _MAX_SECONDS:  # False for NaN too
        raise ValueError(f"{name} is out of range")
    return float(value)


class SharedSource:
    """``source`` (a LeaseSource) behind the machine-wide cache file for ``key``.

    ``schedule`` is a :class:`PollSchedule` or a function returning the current one.
    """

    def __init__(
        self,
        source: Any,
        *,
        key: str,
        schedule: ScheduleLike = PollSchedule(),
        directory: Optional[str] = None,
        lock_timeout: float = LOCK_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.key = key
        self.path = shared_path(key, directory)
        self._slot = CacheSlot(self.path, lock_timeout)
        self._schedule = schedule
        self._clock = clock
        self._local = threading.local()  # per-thread fresh() requests

    def __repr__(self) -> str:
        return f"SharedSource({self.source!r}, path={self.path!r})"

    def describe(self) -> str:
        return str(self.source.describe())

    @property
    def clock_offset(self) -> Optional[float]:
        reading = self.peek().reading
        return None if reading is None else reading.clock_offset

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> SharedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def read(self) -> Reading:
        """The cached reading while fresh; else the source's, written for everyone. A failed
        read is the last known reading (from any process), stale, with the error."""
        started = self._clock()
        with self._slot.locked() as locked:
            entry = self.peek()
            if self._is_fresh(entry):
                assert entry.reading is not None
                return entry.reading
            if locked and self._failed_while_waiting(entry, started):
                return entry.stale_reading(entry.error)  # shared: not asked again at once
            return self._fetch(entry, record=locked)

    def extend(self, seconds: float, force: bool = False) -> Reading:
        """The source's extend, under the lock (a read in flight elsewhere must not overwrite
        the extended reading with the one it made before); the reading back is written."""
        with self._slot.locked() as locked:
            reading = self.source.extend(seconds, force)  # a caller's mistake raises: no write
            if not reading.stale:
                self._write(SharedEntry(reading=reading, fetched_at=self._clock()))
            elif locked:  # the change may have gone through: the cached reading is no truth
                entry = self.peek()
                self._write(replace(entry, fetched_at=None))
            return reading

    @contextlib.contextmanager
    def fresh(self) -> Iterator[None]:
        """Within this block, :meth:`read` *in this thread* answers only a reading made after
        the block began (by any process): for a person's explicit ``status``."""
        previous = getattr(self._local, "since", None)
        self._local.since = self._clock()
        try:
            yield
        finally:
            self._local.since = previous

    def peek(self) -> SharedEntry:
        """The file as it is now (no lock, no read); an empty entry if unusable."""
        return self._slot.load(lambda data: SharedEntry.from_json(data, self.key), SharedEntry())

    def _is_fresh(self, entry: SharedEntry) -> bool:
        now = self._clock()
        if entry.reading is None or entry.fetched_at is None:
            return False
        age = now - entry.fetched_at
        if age < 0:  # the clock stepped back
            return False
        since = getattr(self._local, "since", None)
        if since is not None:
            return entry.fetched_at >= since
        return age < fresh_for(entry.reading, now, schedule_now(self._schedule))

    def _failed_while_waiting(self, entry: SharedEntry, started: float) -> bool:
        at = entry.error_at
        return entry.error is not None and at is not None and started <= at <= self._clock()

    def _fetch(self, entry: SharedEntry, *, record: bool) -> Reading:
        try:
            reading = self.source.read()
        except LeaseError as exc:  # a source that raises instead of returning stale
            reading = entry.stale_reading(scrub(str(exc)))
        if not reading.stale:
            self._write(SharedEntry(reading=reading, fetched_at=self._clock()))
            return reading
        if record:
            failed = replace(
                entry, error=reading.error, error_at=self._clock(), failures=entry.failures + 1
            )
            self._write(failed)
        # Another process's last good reading beats this process's own (it may have none).
        return entry.stale_reading(reading.error) if entry.reading else reading

    @property
    def cache_problem(self) -> Optional[str]:
        """Why the cache could not be used last time, one line; None once it worked again."""
        return self._slot.problem

    def _write(self, entry: SharedEntry) -> None:
        self._slot.save(entry.to_json(self.key))

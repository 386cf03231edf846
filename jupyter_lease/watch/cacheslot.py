"""One cache file and its lock, as the lease cache (:mod:`.cache`) uses them: JSON in and out
through :mod:`.cachefile`'s careful reads and atomic writes, under a
:class:`~.filelock.FileLock` beside it.

Nothing here ever raises for the cache's sake: a file that cannot be read or judged is no entry,
a directory or lock that cannot be used means working uncached (``locked()`` yields False), and
each such problem is kept in :attr:`CacheSlot.problem` and logged once at DEBUG (a kernel's
watcher thread must never print).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, Optional, TypeVar, Union

from ..core.schedule import PollSchedule
from . import cachefile
from .cachefile import UnsafeCache
from .filelock import FileLock, LockTimeout

__all__ = ["CacheSlot", "ScheduleLike", "fresh_for_left", "schedule_now"]

log = logging.getLogger("jupyter_lease.cache")
E = TypeVar("E")

# A schedule, or a function giving the current one (%config may change it after creation).
ScheduleLike = Union[PollSchedule, Callable[[], PollSchedule]]
SLACK_FRACTION = 0.1  # of the poll interval ...
SLACK_MAX = 2.0  # ... but never more than this many seconds


def schedule_now(schedule: ScheduleLike) -> PollSchedule:
    return schedule if isinstance(schedule, PollSchedule) else schedule()


def fresh_for_left(left: Optional[timedelta], schedule: PollSchedule) -> float:
    """How long an entry with ``left`` to go counts as fresh: the poll interval
    the schedule picks for it, minus a little slack, so that a process polling at exactly that
    interval finds its own last read stale and N processes polling at it make one read."""
    interval = schedule.next_poll(left)
    return max(0.0, interval - min(SLACK_MAX, interval * SLACK_FRACTION))


class CacheSlot:
    """The file at ``path`` and its lock."""

    def __init__(self, path: str, lock_timeout: float) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        # Why the cache could not be used last time, one line; None once it worked again.
        self.problem: Optional[str] = None
        self._logged: Optional[str] = None

    def load(self, parse: Callable[[Any], E], empty: E) -> E:
        """``parse(json)`` of the file as it is now (no lock); ``empty`` if it is unusable."""
        try:
            cachefile.check_dir(os.path.dirname(self.path))
            raw = cachefile.read(self.path)
            if raw is None:
                return empty
            return parse(json.loads(raw.decode("utf-8")))
        except FileNotFoundError:  # no directory yet
            return empty
        except UnsafeCache as exc:
            self.note(str(exc))
        # Whatever else goes wrong (corrupt, out of range, unreadable), the entry is no entry
        # and the next good read replaces it: the cache must never be why a poll fails.
        except Exception as exc:
            self.note(f"unusable lease cache {self.path} ({type(exc).__name__})")
        return empty

    def save(self, data: Dict[str, Any]) -> None:
        """Atomically replace the file (temp file + ``os.replace``), mode 0600; never raises."""
        try:
            cachefile.write(self.path, json.dumps(data, separators=(",", ":")).encode("utf-8"))
        except UnsafeCache as exc:
            self.note(str(exc))
        except (OSError, TypeError, ValueError) as exc:
            self.note(f"could not write the lease cache {self.path} ({type(exc).__name__})")
        else:
            self.problem = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[bool]:
        """Hold the cache lock; yields False (work uncached) if it cannot be had."""
        lock = FileLock(self.path[: -len(".json")] + ".lock", timeout=self.lock_timeout)
        try:
            cachefile.prepare_dir(os.path.dirname(self.path))
            lock.acquire()
        except UnsafeCache as exc:
            self.note(str(exc))
            yield False
            return
        except (OSError, LockTimeout) as exc:
            self.note(f"lease cache lock unavailable ({type(exc).__name__}); working uncached")
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def note(self, line: str) -> None:
        """Remember why the cache was not used; log it at DEBUG once, not on every poll."""
        if line != self._logged:
            self._logged = line
            log.debug("%s", line)
        self.problem = line

"""ModelArts' :class:`~.client.LeaseClient` behind the one shared cache
(:class:`~jupyter_lease.watch.cache.CachedSource`), with ModelArts' own calls kept beside the
LeaseSource contract: ``show()``/``renew()`` answer ModelArts' :class:`~.lease.Lease` (the raw
lease every reading carries in ``extra["lease"]``), and keep alive while busy
(``server/busy.py``) decides on a :class:`LeaseEntry` under the lock through
:meth:`CachedLeaseSource.renew_if`, the ModelArts face of ``extend_if``.

Everything here goes through the generic cache: one file format, one lock, one single flight.
Failures come back as the very errors ModelArts answered (:func:`~jupyter_lease.core.failure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

from .._errors import NotRunningError
from ..core.duration import DurationLike, renewal
from ..core.reading import Reading, failure
from ..watch.cache import CachedSource
from .lease import Lease

__all__ = ["CachedLeaseSource", "LeaseEntry"]


@dataclass(frozen=True)
class LeaseEntry:
    """ModelArts' view of a cached reading: the raw lease and when it was read."""

    lease: Optional[Lease] = None
    clock_offset: Optional[float] = None  # ModelArts' clock − this host's, as measured
    fetched_at: Optional[float] = None  # this host's clock when it was read upstream
    error: Optional[str] = None  # the last failure's line; None after a success
    failures: int = 0
    reading: Reading = Reading()  # the reading itself, as every view gets it


def lease_of(reading: Optional[Reading]) -> Optional[Lease]:
    raw = (reading.extra or {}).get("lease") if reading is not None else None
    return Lease.from_json(raw) if isinstance(raw, dict) else None


class CachedLeaseSource(CachedSource):
    """A ``LeaseClient`` behind the shared cache: a LeaseSource, plus ModelArts' own calls."""

    @property
    def client(self) -> Any:
        return self.source

    @property
    def location(self) -> Any:
        return self.source.location

    @property
    def credentials(self) -> Any:
        return self.source.credentials

    @property
    def notebook_id(self) -> str:
        return str(self.source.notebook_id)

    @property
    def project_id(self) -> str:
        return str(self.source.project_id)

    @property
    def endpoint(self) -> str:
        return str(self.source.endpoint)

    def server_now(self) -> float:
        """ModelArts' clock now, by the offset the last reading (from any process) measured."""
        return self._clock() + (self.clock_offset or 0.0)

    def notebook(self) -> Any:
        """ShowNotebook, not cached."""
        return self.source.notebook()

    # -- ModelArts' own calls, through the cache ----------------------------------------------

    def peek(self) -> LeaseEntry:  # type: ignore[override]
        """The file as it is now (no lock, no upstream call), as ModelArts' entry."""
        entry = self._load()
        return LeaseEntry(
            lease=lease_of(entry.reading),
            clock_offset=entry.clock_offset,
            fetched_at=entry.fetched_at,
            error=entry.error,
            failures=entry.failures,
            reading=entry.shown() or Reading(),
        )

    def show(self) -> Lease:
        """ShowLease, answered from the cache while it is fresh; its error when it failed."""
        lease = self.show_entry().lease
        assert lease is not None
        return lease

    def show_entry(self) -> LeaseEntry:
        """:meth:`read` as ModelArts' entry; raises the read's error (``NotRunningError`` once
        the instance has stopped)."""
        return self._entry_of(self.read())

    def renew(self, duration: DurationLike, type: str = "TIMING", *, force: bool = False) -> Lease:
        """RenewLease, always upstream; the lease read back is written for everyone."""
        lease = self.renew_entry(duration, type, force=force).lease
        assert lease is not None
        return lease

    def renew_entry(
        self, duration: DurationLike, type: str = "TIMING", *, force: bool = False
    ) -> LeaseEntry:
        """:meth:`renew` as ModelArts' entry (under the lock, no single-flight skip: a person
        asked for this renewal)."""
        seconds = renewal(duration).total_seconds()
        with self._slot.locked() as locked:
            reading = self._extend_locked(seconds, force, locked)
        return self._entry_of(reading)

    def renew_if(
        self, decide: Callable[[LeaseEntry], Optional[float]]
    ) -> Tuple[LeaseEntry, Optional[float]]:
        """:meth:`extend_if` with ModelArts' entry (keep alive while busy): read upstream and
        renew by ``decide(entry)`` seconds unless None, both under the cache lock."""
        reading, seconds = self.extend_if(lambda r: decide(self._entry_of(r)), force=True)
        return self._entry_of(reading), seconds

    def _entry_of(self, reading: Reading) -> LeaseEntry:
        if reading.stale:
            raise failure(reading)
        if reading.kind == "stopped":
            raise NotRunningError(reading.error or "the instance is not running")
        peeked = self._load()
        return LeaseEntry(
            lease=lease_of(reading),
            clock_offset=reading.clock_offset,
            fetched_at=peeked.fetched_at,
            reading=reading,
        )

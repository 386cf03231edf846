"""The shell around :mod:`.decide`: watch the views, claim due alerts once, hand them on.

:meth:`Notifier.observe` takes every lease view the server builds (the push's, see
:mod:`jupyter_lease.server.push`); :meth:`Notifier.tick` runs on the IOLoop every second,
because a threshold is crossed by time passing, not by the file changing. A tick costs a pure
check against this process's copy of the sent record; only when something looks due does a
background thread take the lease cache's file lock (:class:`~..watch.cacheslot.CacheSlot`),
read the shared record, claim what is still unsent, write the record back and let go. Whoever
claims a key sends it; everyone else finds it claimed. One alert per threshold per deadline per
lease, however many servers and processes watch it.

A process that claims and then dies takes that alert with it (at most once beats twice). When
the lock cannot be had at all (an unusable cache directory), this process sends what its own
copy says is due: an alert too many beats none.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..core.reading import Reading, newer
from ..watch.cacheslot import CacheSlot
from .decide import Alert, SentRecord, deadline_ms, due_alerts
from .sender import Sender

__all__ = ["LOCK_TIMEOUT", "Notifier", "sent_path"]

log = logging.getLogger("jupyter_lease.notify")
LOCK_TIMEOUT = 60.0  # the lease cache's own holders keep it through one upstream read


def sent_path(identity: str, lease_cache_path: str) -> str:
    """``<lease cache dir>/jupyter_lease.sent-<hash15>.json``, beside the lease's cache file."""
    digest = hashlib.sha256(f"sent\n{identity}".encode()).hexdigest()
    directory = os.path.dirname(lease_cache_path)
    return os.path.join(directory, f"jupyter_lease.sent-{digest[:15]}.json")


class Notifier:
    """One per server: see the module. ``identity`` and ``cache_path`` come from the built lease
    source (a function: the source is built lazily); ``thresholds`` are seconds."""

    def __init__(
        self,
        sender: Sender,
        where: Callable[[], Optional[Any]],
        thresholds: Sequence[float],
        *,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger = log,
        lang: str = "en",
    ) -> None:
        self.sender = sender
        self.log = logger
        self.lang = lang  # the words' language: the server process's (jupyter_lease.i18n)
        self._where = where
        self.thresholds = tuple(thresholds)
        self._clock = clock
        self._reading: Optional[Reading] = None
        self._keep_alive: Optional[Dict[str, Any]] = None
        self._seen_deadline: Optional[int] = None
        self._record: Optional[SentRecord] = None  # this process's copy of the shared record
        self._claiming = threading.Event()

    def observe(self, view: Dict[str, Any]) -> None:
        """A lease view (``{"reading": …, "keep_alive": …}``) the server built; never raises."""
        try:
            reading = Reading.from_json(view.get("reading"))
        except Exception:
            return
        # The page's rule: the later read wins (the file may still hold the last timed
        # reading after this server saw the stop).
        self._reading = reading if self._reading is None else newer(self._reading, reading)
        self._keep_alive = (
            view.get("keep_alive") if isinstance(view.get("keep_alive"), dict) else None
        )
        self._seen_deadline = deadline_ms(self._reading) or self._seen_deadline

    def tick(self) -> None:
        """On the IOLoop: if something looks due, claim it on a background thread."""
        if not self.sender.active or self._reading is None or self._claiming.is_set():
            return
        where = self._where()
        if where is None:
            return
        identity, _path = where
        record = self._record if self._record and self._record.identity == identity else None
        looks_due = self._due(record or SentRecord(identity))
        if not looks_due:
            return
        self._claiming.set()
        self.sender.run(lambda: self._claim(identity, _path, looks_due))

    def _due(self, record: SentRecord) -> List[Alert]:
        if self._reading is None:
            return []
        return due_alerts(
            self._reading,
            self._clock(),
            self.thresholds,
            record,
            self._keep_alive,
            self._seen_deadline,
            self.lang,
        )

    def _claim(self, identity: str, cache_path: str, looks_due: List[Alert]) -> None:
        """Background: under the lease cache's lock, claim what is due and unsent; send it."""
        try:
            records = CacheSlot(sent_path(identity, cache_path), LOCK_TIMEOUT)
            empty = SentRecord(identity)
            with CacheSlot(cache_path, LOCK_TIMEOUT).locked() as locked:
                shared = records.load(lambda d: SentRecord.from_json(d, identity), empty)
                if not locked:  # no lock, no shared truth: this process's own copy decides
                    shared = (
                        self._record
                        if self._record and self._record.identity == identity
                        else empty
                    )
                due = self._due(shared)
                reading = self._reading
                seen = None if reading is None else deadline_ms(reading)
                updated = shared.claimed(due, self._clock(), seen) if due else shared
                if due and locked:
                    records.save(updated.to_json())
            self._record = updated
            for alert in due:
                self.log.debug("jupyter_lease: %s alert claimed (%s)", alert.kind, alert.key)
                self.sender.submit(alert)
            claimed = {alert.key for alert in due}
            for alert in looks_due:
                if alert.key not in claimed and updated.has(alert.key):
                    self.log.debug(
                        "jupyter_lease: %s alert (%s) sent elsewhere", alert.kind, alert.key
                    )
        except Exception as exc:  # a background thread never raises
            self.log.debug("jupyter_lease: alerts not claimed: %s", type(exc).__name__)
        finally:
            self._claiming.clear()

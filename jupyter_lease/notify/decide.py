"""Which server-side alerts are due. Pure: the reading, the sent record and the time come in.

An alert is due when its key is not in the :class:`SentRecord` that every process watching the
lease shares (the shell claims keys under the lease cache's lock, so one process sends each):

``threshold:<deadline_ms>:<seconds>``  the smallest warning threshold crossed for this deadline
                                       (the page's own rule: :func:`~..core.present.present`)
``renewed:<renewal id>``               keep-alive renewed the lease (its last renewal, if recent)
``stopped:<deadline_ms>``              the lease has stopped; the deadline is the latest one the
                                       record saw, so every process names the same stop

The time left only shrinks for one deadline, so the smallest crossed threshold only moves down:
a server that starts with 3 min left sends the 5-minute alert, not 30m, 10m and 5m at once.
A renewal moves the deadline, which starts a new set of keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.duration import format_duration
from ..core.present import format_remaining, present
from ..core.reading import Reading, one_line
from ..core.records import lease_record, listed

__all__ = ["FORMAT", "RECENT_RENEWAL_S", "Alert", "SentRecord", "due_alerts"]

FORMAT = "jupyter_lease.sent/1"
RECENT_RENEWAL_S = 600.0  # an older renewal is history, not news (a server started since)
KEEP_KEYS = 64  # a handful of alerts per deadline: the record stays far below the 8 KiB cap


@dataclass(frozen=True)
class Alert:
    """One notification: ``key`` (unique within the lease), what it is about, and its words."""

    key: str
    kind: str  # threshold | renewed | stopped
    title: str
    body: str


@dataclass(frozen=True)
class SentRecord:
    """What has been sent for one lease, by any process (the file beside the lease cache)."""

    identity: str
    deadline_ms: Optional[int] = None  # the latest deadline an alert was claimed for
    sent: Tuple[Tuple[str, float], ...] = ()  # (key, when claimed: epoch s), oldest first

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.sent)

    def claimed(
        self, alerts: Sequence[Alert], now: float, deadline_ms: Optional[int]
    ) -> SentRecord:
        """This record with ``alerts`` sent at ``now`` and ``deadline_ms`` (if any) seen."""
        sent = self.sent + tuple((a.key, now) for a in alerts if not self.has(a.key))
        latest = self.deadline_ms if deadline_ms is None else deadline_ms
        return replace(self, sent=sent[-KEEP_KEYS:], deadline_ms=latest)

    def to_json(self) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "key": self.identity,
            "deadline_ms": self.deadline_ms,
            "sent": [[k, t] for k, t in self.sent],
        }

    @classmethod
    def from_json(cls, data: Any, identity: str) -> SentRecord:
        """Parse :meth:`to_json`; ``ValueError`` for anything else (another lease's included)."""
        data = lease_record(data, FORMAT, "key", identity, "sent-alerts record")
        deadline = data.get("deadline_ms")
        if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, int)):
            raise ValueError("deadline_ms is not an integer")
        sent = listed(data, "sent")
        pairs = []
        for item in sent[-KEEP_KEYS:]:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError("a sent entry is not [key, time]")
            at = item[1]
            if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
                raise ValueError("a sent entry's time is not a number")
            pairs.append((item[0][:80], float(at)))
        return cls(identity, deadline, tuple(pairs))


def due_alerts(
    reading: Reading,
    now: float,
    thresholds: Sequence[float],
    record: SentRecord,
    keep_alive: Optional[Mapping[str, Any]] = None,
    seen_deadline_ms: Optional[int] = None,
    lang: str = "en",
) -> List[Alert]:
    """The alerts not yet in ``record`` for ``reading`` at ``now`` (this host's epoch seconds).

    ``thresholds``: seconds, as the page gets them (``warn_at``); ``keep_alive``: the lease
    view's ``keep_alive`` summary; ``seen_deadline_ms``: the last deadline this process saw, for
    the stop when the record has none; ``lang``: the words' language for the threshold and the
    stop (:mod:`..core.words`: the page's own words); the renewal's words are English."""
    found: List[Alert] = []
    renewal = _renewal(reading, now, thresholds, keep_alive)
    if renewal is not None:
        found.append(renewal)
    if reading.kind == "timed":
        alert = _threshold(reading, now, thresholds, lang)
        if alert is not None:
            found.append(alert)
    elif reading.kind == "stopped":
        found.append(_stopped(reading, now, record.deadline_ms or seen_deadline_ms, lang))
    return [alert for alert in found if not record.has(alert.key)]


def deadline_ms(reading: Reading) -> Optional[int]:
    """The reading's deadline as its key part (epoch ms on the source's clock), if timed."""
    if reading.kind != "timed" or reading.deadline is None:
        return None
    return int(round(reading.deadline * 1000))


def _title(reading: Reading, what: str) -> str:
    return one_line(f"{reading.source or 'jupyter_lease'}: {what}", 120) or what


def _threshold(
    reading: Reading, now: float, thresholds: Sequence[float], lang: str
) -> Optional[Alert]:
    shown = present(reading, now, thresholds, lang=lang)
    if shown.threshold is None or shown.stage == "expired":
        return None
    key = f"threshold:{deadline_ms(reading)}:{int(round(shown.threshold))}"
    body = shown.warning or shown.headline
    if shown.detail:
        body = f"{body} ({shown.detail})"
    return Alert(key, "threshold", _title(reading, shown.headline), body)


def _stopped(reading: Reading, now: float, last_deadline_ms: Optional[int], lang: str) -> Alert:
    headline = present(reading, now, lang=lang).headline  # "the instance is not running"
    body = f"{headline}: {reading.error}" if reading.error else headline
    return Alert(f"stopped:{last_deadline_ms}", "stopped", _title(reading, headline), body)


def _renewal(
    reading: Reading, now: float, thresholds: Sequence[float], keep_alive: Optional[Mapping]
) -> Optional[Alert]:
    last = (keep_alive or {}).get("last_renewal")
    if not isinstance(last, Mapping):
        return None
    ident, at_ms, added_ms = last.get("id"), last.get("at_ms"), last.get("added_ms")
    if not isinstance(ident, str) or not isinstance(at_ms, (int, float)):
        return None
    if not 0 <= now - at_ms / 1000 <= RECENT_RENEWAL_S:
        return None
    added = ""
    if isinstance(added_ms, (int, float)) and added_ms > 0:
        minutes = max(1, round(added_ms / 60000))  # a step of 1h, give or take a second
        added = f" by {format_duration(timedelta(minutes=minutes))}"
    why = one_line(last.get("why"), 120) or "a kernel was busy"
    body = f"Kept alive{added} while busy ({why})."
    if reading.kind == "timed":
        shown = present(reading, now, thresholds)
        left = format_remaining(shown.remaining_s or 0.0)
        body = f"{body} {left} left" + (f", {shown.detail}." if shown.detail else ".")
    return Alert(f"renewed:{ident[:40]}", "renewed", _title(reading, "lease renewed"), body)

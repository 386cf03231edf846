"""A lease status snapshot and its renderings (text, HTML, JSON). Pure: ``now`` is passed in.

The words are :func:`jupyter_lease.core.present`'s; this module lays them out as a table with
where each setting came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Dict, List, Optional, Tuple

from ..core import Presentation, Reading, present
from ..core.present import format_remaining
from ..core.reading_status import StatusTable
from ..i18n import _, language
from .lease import Lease, lease_reading

__all__ = ["LeaseStatus"]


@dataclass(frozen=True)
class LeaseStatus(StatusTable):
    """What is known about one notebook's lease at one instant."""

    notebook_id: str
    lease: Optional[Lease]  # ModelArts' answer: its type and raw JSON for ``--json``; None:
    # nothing read (a stopped instance answers no lease)
    now: float  # epoch seconds on this host's clock
    sources: Optional[Dict[str, str]] = None  # setting name → where it came from
    clock_offset: Optional[float] = None  # server minus local, seconds
    health: Optional[Dict[str, Any]] = None  # the watcher's: polls, failures, last success/error
    reading: Optional[Reading] = field(default=None)  # None: the lease, read at ``now``

    def __post_init__(self) -> None:
        if self.reading is None and self.lease is not None:
            offset = self.clock_offset or 0.0
            read = lease_reading(
                self.lease,
                read_at=self.now + offset,
                clock_offset=offset,
                notebook_id=self.notebook_id,
            )
            object.__setattr__(self, "reading", read)

    @classmethod
    def from_reading(
        cls, client: Any, reading: Reading, now: float, *, health: Optional[Dict[str, Any]] = None
    ) -> LeaseStatus:
        """``reading`` (ModelArts' raw lease in its ``extra``) at ``now``, with the source of
        every setting ``client`` uses."""
        location = client.location
        sources = {
            "notebook id": location.notebook_id.source,
            "project id": location.project_id.source,
            "endpoint": location.endpoint.source,
            "credentials": client.credentials.source,
        }
        raw = (reading.extra or {}).get("lease")
        offset = reading.clock_offset if reading.read_at is not None else client.clock_offset
        return cls(
            notebook_id=reading.source_id or client.notebook_id,
            lease=Lease.from_json(raw) if isinstance(raw, dict) else None,
            now=now,
            sources=sources,
            clock_offset=offset,
            health=health,
            reading=reading,
        )

    def presentation(self, local_tz: Optional[tzinfo] = None, lang: str = "en") -> Presentation:
        assert self.reading is not None
        return present(self.reading, self.now, local_tz=local_tz, lang=lang)

    @property
    def remaining(self) -> Optional[timedelta]:
        left = self.presentation().remaining_s
        return None if left is None else timedelta(seconds=left)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe; the keys ``jupyter lease status --json`` promises, and the reading."""
        assert self.reading is not None
        remaining = self.remaining
        lease = self.lease
        deadline = None if lease is None else lease.deadline
        idle = None if lease is None else lease.idle_after
        offset = self.reading.clock_offset
        return {
            "notebook_id": self.notebook_id,
            "type": None if lease is None else lease.type,
            "enabled": None if lease is None else lease.enabled,
            "kind": self.reading.kind if lease is None else lease.kind.value,
            "deadline": None if deadline is None else _iso(deadline),
            "remaining_seconds": None if remaining is None else round(remaining.total_seconds(), 3),
            "idle_after_seconds": None if idle is None else idle.total_seconds(),
            "lease": None if lease is None else lease.to_json(),
            "reading": self.reading.to_json(),
            "checked_at": _iso(datetime.fromtimestamp(self.now + offset, tz=timezone.utc)),
            "server_clock_offset_seconds": (
                None if self.clock_offset is None else round(self.clock_offset, 3)
            ),
            "sources": dict(self.sources or {}),
        }

    def headline(self) -> str:
        """One line: ``1 h 05 min left``, ``auto-stop is off``, ``stops after 1 h 00 min idle``."""
        return self.presentation(lang=language()).headline

    def rows(self, local_tz: Optional[tzinfo] = None) -> List[Tuple[str, str]]:
        """(label, value) pairs, shared by the text and HTML renderings."""
        shown = self.presentation(local_tz, language())
        kind = f"{self.lease.type}, " if self.lease is not None else ""
        rows = [(_("Notebook"), self.notebook_id), (_("Lease"), f"{kind}{shown.headline}")]
        if shown.detail:  # "stops 14:05:00 local (13:05:00 UTC)": under the lease, unlabelled
            rows.append(("", shown.detail))
        if self.clock_offset is not None and abs(self.clock_offset) >= 5:
            rows.append((_("Clock"), _skew(self.clock_offset)))
        for name, source in (self.sources or {}).items():
            rows.append((_(name.capitalize()), _("from {source}").format(source=source)))
        if self.health is not None:
            rows.append((_("Watcher"), _health_text(self.health)))
        return rows


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _skew(offset: float) -> str:
    # offset = server - local: a positive offset means the local clock is behind.
    amount = (
        format_remaining(abs(offset), language())
        if abs(offset) >= 600
        else (f"{abs(offset):.0f} s")
    )
    if offset > 0:
        return _("this machine is {amount} behind the server").format(amount=amount)
    return _("this machine is {amount} ahead of the server").format(amount=amount)


def _health_text(health: Dict[str, Any]) -> str:
    if not health.get("running"):
        return _("not watching (start with %lease watch)")
    parts = [_("{count} polls").format(count=health.get("polls", 0))]
    last = health.get("last_success_ago")
    parts.append(
        _("no successful poll yet")
        if last is None
        else _("last success {seconds} s ago").format(seconds=f"{last:.0f}")
    )
    if health.get("failures"):
        failing = _("{count} failing in a row: {error}")
        parts.append(failing.format(count=health["failures"], error=health.get("last_error")))
    return _("watching; ") + _(", ").join(parts)

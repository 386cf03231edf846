"""The lease as a value. Pure: parsing, validation and arithmetic; ``now`` is always passed in.

ModelArts returns ``{"create_at": ms, "duration": ms, "enable": bool, "type": "TIMING"|"IDLE",
"update_at": ms}``. A TIMING lease stops the instance when ``now >= create_at + duration``.
What ``duration`` means for IDLE is unconfirmed, so an IDLE lease never has a deadline here.

:func:`lease_reading` is the one place a ModelArts lease becomes the provider-neutral
:class:`~jupyter_lease.core.Reading` that every view presents.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional

from .._errors import LeaseFormatError
from ..core import DEFAULT_EXTEND_CHOICES, Reading
from ..core.duration import MAX_RENEWAL, MIN_RENEWAL

__all__ = ["Lease", "StopKind", "lease_reading"]


class StopKind(str, enum.Enum):
    """How (and whether) the instance stops by itself."""

    TIMED = "timed"  # at a fixed deadline
    IDLE = "idle"  # after a period of low use
    DISABLED = "disabled"  # auto-stop is off


_TYPES = {"TIMING", "IDLE"}

# Every time field is bounded, so that no answer can make the arithmetic below (timedelta,
# datetime) overflow: one absurd number must be a LeaseFormatError naming the field, never an
# OverflowError in whoever judges the lease later (the watcher, the cache, the server).
# Instants: 2000-01-01 to 2200-01-01 UTC in epoch ms; ModelArts did not exist before, and
# a lease object's create_at/update_at is never far in the future.
_EPOCH_MS_RANGE = (946_684_800_000, 7_258_118_400_000, "a time between 2000 and 2200")
# RenewLease accepts 1 h-72 h counted from the call, but ``duration`` counts from create_at,
# so it exceeds 72 h by the lease's age: an instance renewed for months has a duration of
# months. Ten years is far beyond any running instance and still keeps create_at + duration
# (≤ year 2210) well inside what datetime and timedelta can hold.
_DURATION_MS_RANGE = (0, 10 * 366 * 86_400_000, "at most 10 years")
_RANGES = {
    "create_at": _EPOCH_MS_RANGE,
    "update_at": _EPOCH_MS_RANGE,
    "duration": _DURATION_MS_RANGE,
}


@dataclass(frozen=True)
class Lease:
    """An immutable ShowLease/RenewLease result. Times are UTC epoch ms, as on the wire."""

    create_at: int
    duration: int
    enabled: bool
    type: str
    update_at: Optional[int] = None

    @classmethod
    def from_json(cls, data: Any) -> Lease:
        """Validate and parse a lease object; :class:`LeaseFormatError` names the bad field."""
        if not isinstance(data, Mapping):
            raise LeaseFormatError(
                f"lease response is a {type(data).__name__}, not a JSON object", field=None
            )
        lease_type = _field(data, "type", str)
        if lease_type.upper() not in _TYPES:
            raise LeaseFormatError(
                f"lease field 'type' is {lease_type!r}, expected TIMING or IDLE", field="type"
            )
        update_at = data.get("update_at")
        return cls(
            create_at=_millis(data, "create_at"),
            duration=_millis(data, "duration"),
            enabled=_field(data, "enable", bool),
            type=lease_type.upper(),
            update_at=None if update_at is None else _millis(data, "update_at"),
        )

    def to_json(self) -> dict:
        """The wire form (``type`` upper case)."""
        out = {
            "create_at": self.create_at,
            "duration": self.duration,
            "enable": self.enabled,
            "type": self.type,
        }
        if self.update_at is not None:
            out["update_at"] = self.update_at
        return out

    @property
    def kind(self) -> StopKind:
        if not self.enabled:
            return StopKind.DISABLED
        return StopKind.IDLE if self.type == "IDLE" else StopKind.TIMED

    @property
    def deadline_ms(self) -> Optional[int]:
        """When a timed lease stops the instance (epoch ms); ``None`` without a deadline."""
        return self.create_at + self.duration if self.kind is StopKind.TIMED else None

    @property
    def deadline(self) -> Optional[datetime]:
        """The deadline as an aware UTC datetime, or ``None``."""
        ms = self.deadline_ms
        return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)

    @property
    def idle_after(self) -> Optional[timedelta]:
        """For IDLE leases: the idle period after which the instance stops (meaning unconfirmed)."""
        return timedelta(milliseconds=self.duration) if self.kind is StopKind.IDLE else None

    def remaining(self, now: float) -> Optional[timedelta]:
        """Time left at ``now`` (epoch seconds), clamped at zero; ``None`` without a deadline."""
        ms = self.deadline_ms
        if ms is None:
            return None
        return max(timedelta(0), timedelta(milliseconds=ms - round(now * 1000)))

    def expired(self, now: float) -> bool:
        """True once a timed lease has reached its deadline (stop at ``now >= deadline``)."""
        ms = self.deadline_ms
        return ms is not None and round(now * 1000) >= ms

    @property
    def period_start_ms(self) -> int:
        """When the current period began (epoch ms): the last renewal, else the creation.

        A renewal keeps ``create_at`` and moves the deadline to ``now + duration``, so
        ``update_at`` (the last change) is where what was granted last starts; an ``update_at``
        outside ``[create_at, deadline)`` says nothing about the period.
        """
        deadline = self.deadline_ms
        update_at = self.update_at
        if (
            update_at is not None
            and deadline is not None
            and self.create_at <= update_at < deadline
        ):
            return update_at
        return self.create_at


_KINDS = {StopKind.TIMED: "timed", StopKind.IDLE: "idle", StopKind.DISABLED: "off"}


def lease_reading(
    lease: Lease,
    *,
    read_at: Optional[float],
    clock_offset: Optional[float],
    notebook_id: str = "",
    error: Optional[str] = None,
) -> Reading:
    """``lease`` as the :class:`Reading` every view gets. Times stay on ModelArts' clock
    (``read_at`` too: ModelArts' time when it was read); ``clock_offset`` is ModelArts' clock
    minus this host's, as measured. With ``error`` it is the last known reading (stale)."""
    kind = _KINDS[lease.kind]
    deadline = lease.deadline_ms
    return Reading(
        kind=kind,
        deadline=None if deadline is None else deadline / 1000,
        clock_offset=clock_offset or 0.0,
        read_at=read_at,
        started_at=lease.period_start_ms / 1000 if kind == "timed" else None,
        idle_after=lease.duration / 1000 if kind == "idle" else None,
        stale=error is not None,
        error=error,
        source=f"ModelArts notebook {notebook_id[:8]}".rstrip(),
        source_id=notebook_id,
        can_extend=kind == "timed",  # idle or off: only with --force (it becomes timed)
        extend_range=(MIN_RENEWAL.total_seconds(), MAX_RENEWAL.total_seconds()),
        extend_choices=DEFAULT_EXTEND_CHOICES,
        # ModelArts' own answer (for --json), and which run of the instance this is: keep-alive
        # forgets its record when the instance is started again (create_at moves).
        extra={"lease": lease.to_json(), "run": lease.create_at / 1000},
    )


def _field(data: Mapping, name: str, kind: type) -> Any:
    if name not in data:
        raise LeaseFormatError(f"lease field {name!r} is missing", field=name)
    value = data[name]
    # bool is a subclass of int: a boolean where a number belongs is a type error, and vice versa.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise LeaseFormatError(
            f"lease field {name!r} should be {_KIND_NAMES[kind]}, got {_json_type(value)}",
            field=name,
        )
    return value


def _millis(data: Mapping, name: str) -> int:
    if name not in data:
        raise LeaseFormatError(f"lease field {name!r} is missing", field=name)
    value = data[name]
    # JSON has one number type; accept 3600000.0 but not 3600000.5 or "3600000".
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LeaseFormatError(
            f"lease field {name!r} should be an integer of milliseconds, got {_json_type(value)}",
            field=name,
        )
    shown = str(value) if abs(value) < 10**20 else f"a {len(str(abs(value)))}-digit number of"
    if value < 0:
        raise LeaseFormatError(f"lease field {name!r} is negative ({shown} ms)", field=name)
    low, high, expected = _RANGES[name]
    if not low <= value <= high:
        raise LeaseFormatError(
            f"lease field {name!r} is out of range ({shown} ms; expected {expected})", field=name
        )
    return value


_KIND_NAMES = {str: "a string", bool: "true or false", int: "an integer"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return f"a {type(value).__name__}"

"""How often to ask, and the warning thresholds people give. Pure: values are passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable, Optional, Tuple

from .._errors import DurationError
from .duration import parse_duration, to_timedelta

# The default thresholds and the display stages are the core's (jupyter_lease.core.present).
__all__ = ["PollSchedule", "backoff", "parse_thresholds"]


def parse_thresholds(value: str | Iterable[object]) -> Tuple[timedelta, ...]:
    """``"30m,10m,5m,1m"`` (or a list of durations) → sorted, de-duplicated, largest first."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out = set()
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            out.add(parse_duration(item))
        else:
            out.add(to_timedelta(item))  # type: ignore[arg-type]
    if not out:
        raise DurationError("no warning thresholds given; use e.g. 30m,10m,5m,1m")
    return tuple(sorted(out, reverse=True))


def backoff(base: float, cap: float, failures: int) -> float:
    """``base`` after the first consecutive failure, doubling with each next one, at most ``cap``.

    The exponent is clamped: after ~1,025 failures (85 h of a persistent 401 at the 5-minute
    cap) ``2 ** n`` would no longer fit a float, and the poller would die of an OverflowError.
    """
    return min(cap, base * 2.0 ** min(max(failures - 1, 0), 64))


@dataclass(frozen=True)
class PollSchedule:
    """Adaptive polling: rarely when the stop is hours away, often near it; backoff on errors.

    Polling stays tiny either way: the lease changes only when someone renews it, and an IDLE
    instance must not be kept awake by our own traffic.
    """

    far: float = 300.0  # seconds between polls when the stop is more than `near_within` away
    near: float = 60.0
    final: float = 15.0
    near_within: timedelta = timedelta(minutes=30)
    final_within: timedelta = timedelta(minutes=5)
    no_deadline: float = 300.0
    error_base: float = 15.0
    error_cap: float = 300.0

    def next_poll(self, remaining: Optional[timedelta], *, failures: int = 0) -> float:
        """Seconds until the next poll, given the time left and consecutive failures so far."""
        if failures > 0:
            return backoff(self.error_base, self.error_cap, failures)
        if remaining is None:
            return self.no_deadline
        if remaining <= self.final_within:
            interval = self.final
        elif remaining <= self.near_within:
            interval = self.near
        else:
            interval = self.far
        # Never sleep past the deadline itself: we want to see the instance stop.
        seconds = remaining.total_seconds()
        if 0 < seconds < interval:
            return max(1.0, seconds)
        return interval

"""The server's clock, estimated from ``Date`` headers. Pure: times are passed in.

One ``Date`` header says the server's clock read D (whole seconds, truncated) at some moment
between sending the request and receiving the answer, so the offset (server − local) lies in
``[D − received, D + 1 − sent]``. Intersecting those intervals over successive answers narrows
the estimate far below the header's 1-second resolution, and keeps it steady from poll to poll,
so a view keyed on the deadline does not twitch by half a second at every poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

__all__ = ["OffsetEstimate"]


@dataclass(frozen=True)
class OffsetEstimate:
    """An interval known to contain server − local, in seconds."""

    low: float
    high: float

    @property
    def offset(self) -> float:
        return (self.low + self.high) / 2

    @property
    def uncertainty(self) -> float:
        return (self.high - self.low) / 2

    @staticmethod
    def bounds(server_date: float, sent: float, received: float) -> Tuple[float, float]:
        return server_date - received, server_date + 1.0 - sent

    def refine(self, server_date: float, sent: float, received: float) -> OffsetEstimate:
        """Narrow with one more observation; start afresh if it contradicts (a clock jumped)."""
        low, high = self.bounds(server_date, sent, received)
        low, high = max(self.low, low), min(self.high, high)
        if low > high:
            return OffsetEstimate.first(server_date, sent, received)
        return OffsetEstimate(low, high)

    @classmethod
    def first(cls, server_date: float, sent: float, received: float) -> OffsetEstimate:
        return cls(*cls.bounds(server_date, sent, received))


def observe(
    estimate: Optional[OffsetEstimate], server_date: float, sent: float, received: float
) -> OffsetEstimate:
    """The estimate after one more ``Date`` header (``estimate`` may be None at first)."""
    if estimate is None:
        return OffsetEstimate.first(server_date, sent, received)
    return estimate.refine(server_date, sent, received)


def observe_date(
    estimate: Optional[OffsetEstimate], date: Optional[str], sent: float, received: float
) -> Optional[OffsetEstimate]:
    """:func:`observe` with an HTTP ``Date`` header as it came; one that is missing or cannot
    be read leaves ``estimate`` as it was."""
    if not date:
        return estimate
    from email.utils import parsedate_to_datetime

    try:
        server = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError):
        return estimate
    return observe(estimate, server, sent, received)

"""What the watcher knows after each poll (:class:`Snapshot`) and what it tells listeners
(:class:`WatchEvent`). Immutable values; the watcher replaces them whole."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Optional, Sequence

from ..core import Presentation, Reading, present
from ..core.present import thresholds_from
from ..core.resolved import DEFAULT_THRESHOLDS

__all__ = ["DEFAULT_THRESHOLDS", "Listener", "Snapshot", "WatchEvent", "age"]


@dataclass(frozen=True)
class Snapshot:
    """Everything known about the lease at the last poll. Immutable; replaced whole."""

    reading: Reading = Reading()  # what every view presents
    local_at_poll: Optional[float] = None  # this host's clock at the last success
    mono_at_poll: Optional[float] = None  # monotonic clock at the last success
    last_success_wall: Optional[float] = None  # local epoch seconds, for "last successful poll"
    polls: int = 0
    failures: int = 0  # consecutive
    generation: int = 0  # bumped whenever the lease itself changes

    @property
    def known(self) -> bool:
        """A read has succeeded at least once: there is a reading to count from."""
        return self.local_at_poll is not None

    @property
    def stale(self) -> bool:
        """The last poll failed: counting from the last known reading."""
        return self.reading.stale

    @property
    def stopped(self) -> bool:
        """The source said (and confirmed) that the machine is not running."""
        return self.reading.kind == "stopped"

    @property
    def last_error(self) -> Optional[str]:
        return self.reading.error

    @property
    def clock_offset(self) -> Optional[float]:
        """The source's clock minus this host's, as measured at the last success."""
        return None if self.reading.read_at is None else self.reading.clock_offset

    @property
    def deadline(self) -> Optional[float]:
        """The deadline on the source's clock (epoch s): exact, whatever the offset does."""
        return self.reading.deadline if self.reading.kind == "timed" else None

    def local_now(self, mono_now: float) -> Optional[float]:
        """This host's clock now (the one the offset was measured against), carried on from the
        last success by the monotonic clock: a clock step moves nothing."""
        if self.local_at_poll is None or self.mono_at_poll is None:
            return None
        return self.local_at_poll + (mono_now - self.mono_at_poll)

    def present(
        self, mono_now: float, warn_at: Sequence[timedelta] = DEFAULT_THRESHOLDS, lang: str = "en"
    ) -> Presentation:
        now = self.local_now(mono_now)
        return present(self.reading, math.nan if now is None else now, warn_at, lang=lang)

    def warns_from(self, warn_at: Sequence[timedelta] = DEFAULT_THRESHOLDS) -> float:
        """The monotonic instant from which :meth:`present` may come with a warning (the
        largest threshold, as ``core.present.stage_for`` starts it), a millisecond early;
        ``inf`` for a reading that never warns (idle, off, stopped, unknown)."""
        reading = self.reading
        if reading.kind != "timed" or reading.deadline is None or self.mono_at_poll is None:
            return math.inf
        if self.local_at_poll is None:
            return math.inf
        largest = thresholds_from(warn_at)[0]
        local_deadline = reading.deadline - reading.clock_offset
        return self.mono_at_poll + (local_deadline - largest - self.local_at_poll) - 0.001

    def remaining(self, mono_now: float) -> Optional[timedelta]:
        """Time left; ``None`` without a deadline (idle, off, unknown); nothing once stopped."""
        if self.stopped:
            return timedelta(0)
        left = self.present(mono_now).remaining_s
        return None if left is None else timedelta(seconds=left)


@dataclass(frozen=True)
class WatchEvent:
    """What happened: ``kind`` is ``"update"``, ``"warning"`` or ``"stage"``."""

    kind: str
    snapshot: Snapshot
    threshold: Optional[timedelta] = None
    stage: Optional[str] = None  # one of core.STAGES


Listener = Callable[[WatchEvent], None]


def age(snap: Snapshot) -> float:
    """How long ago the reading was made upstream (a shared cache may answer with an older one),
    on the source's clock."""
    read_at = snap.reading.read_at
    if read_at is None or snap.local_at_poll is None:
        return 0.0
    return max(0.0, snap.local_at_poll + snap.reading.clock_offset - read_at)

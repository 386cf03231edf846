"""``c.JupyterLease`` resolved: the one value the kernel's runtime, the server and the CLI act on.

:func:`jupyter_lease.settings.resolve` builds it from the traits (which have checked every value
as it was set); nothing else parses a setting's text again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Dict, Iterable, Optional, Sequence, Tuple

from .._defaults import DEFAULT_EXTEND_CHOICES, DEFAULT_EXTEND_DEFAULT, DEFAULT_WARN_AT_S
from .duration import parse_duration
from .schedule import PollSchedule, parse_thresholds

__all__ = ["DEFAULT_THRESHOLDS", "Resolved", "resolved"]

# The core's default thresholds, as the timedeltas the watcher and its callers work in.
DEFAULT_THRESHOLDS: Tuple[timedelta, ...] = tuple(timedelta(seconds=s) for s in DEFAULT_WARN_AT_S)


@dataclass(frozen=True)
class Resolved:
    """What the settings decide, in the types the code works in."""

    warn_at: Tuple[timedelta, ...] = DEFAULT_THRESHOLDS  # largest first
    schedule: PollSchedule = PollSchedule()
    extend_choices: Tuple[str, ...] = DEFAULT_EXTEND_CHOICES
    extend_default: str = DEFAULT_EXTEND_DEFAULT  # what every Extend offers first
    notifications: bool = True
    provider: Optional[str] = None  # a name in providers.PROVIDERS; None: the environment
    location: Dict[str, Optional[str]] = field(default_factory=dict)  # explicit discovery

    @property
    def warn_at_ms(self) -> Tuple[int, ...]:
        return tuple(int(round(t.total_seconds() * 1000)) for t in self.warn_at)


def resolved(
    *,
    warn_at: str,
    poll: Sequence[str],
    extend_choices: Iterable[str] = DEFAULT_EXTEND_CHOICES,
    extend_default: str = DEFAULT_EXTEND_DEFAULT,
    notifications: bool = True,
    provider: Optional[str] = None,
    location: Optional[Dict[str, Optional[str]]] = None,
) -> Resolved:
    """The checked texts of the settings, as a :class:`Resolved`."""
    far, near, final = (parse_duration(text).total_seconds() for text in poll)
    return Resolved(
        warn_at=parse_thresholds(warn_at),
        schedule=PollSchedule(far=far, near=near, final=final),
        extend_choices=tuple(dict.fromkeys(c.strip() for c in extend_choices)),
        extend_default=extend_default.strip(),
        notifications=bool(notifications),
        provider=provider,
        location=dict(location or {}),
    )

"""Human durations, both ways. Pure: no I/O, no clock.

``parse_duration("1h30m")`` → ``timedelta(hours=1, minutes=30)``;
``format_remaining(timedelta(minutes=65))`` → ``"1 h 05 min"``;
``format_remaining(timedelta(seconds=299))`` → ``"4:59"``.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Union

from .._errors import DurationError

__all__ = [
    "DurationLike",
    "MAX_DURATION",
    "MAX_RENEWAL",
    "MIN_RENEWAL",
    "format_duration",
    "format_remaining",
    "parse_duration",
    "renewal",
    "to_timedelta",
]

DurationLike = Union[str, int, float, timedelta]

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ALIASES = {
    "d": "d", "day": "d", "days": "d",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
}  # fmt: skip
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+")
_EXAMPLES = "use e.g. 90m, 1h30m, 2h, 45s or 1d"

# No lease, watch or threshold comes near a year; a bigger number is a typo. Far inside what
# timedelta (999999999 days) and Event.wait accept, so it fails here, in one line, and never
# as an OverflowError somewhere downstream.
MAX_DURATION = timedelta(days=365)
# What RenewLease accepts: the duration counts from the moment of the call.
MIN_RENEWAL = timedelta(hours=1)
MAX_RENEWAL = timedelta(hours=72)


def parse_duration(text: str) -> timedelta:
    """Parse ``90m``, ``1h30m``, ``2h``, ``45s``, ``1d``, ``1.5h``, ``2 hours``.

    Rejects negative, zero, unit-less and malformed input with one :class:`DurationError` line.
    """
    if not isinstance(text, str):
        raise DurationError(f"a duration must be text like 2h, not {type(text).__name__}")
    cleaned = text.strip().lower().replace(",", " ")
    if cleaned.startswith("-"):
        raise DurationError(f"duration {text!r} is negative; {_EXAMPLES}")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        raise DurationError(f"duration {text!r} has no unit; {_EXAMPLES}")
    if not cleaned or not _WHOLE.fullmatch(cleaned):
        raise DurationError(f"cannot read duration {text!r}; {_EXAMPLES}")
    seconds = 0.0
    for number, unit in _PART.findall(cleaned):
        if unit not in _UNIT_ALIASES:
            raise DurationError(f"unknown unit {unit!r} in {text!r}; {_EXAMPLES}")
        seconds += float(number) * _UNIT_SECONDS[_UNIT_ALIASES[unit]]
    if seconds <= 0:
        raise DurationError(f"duration {text!r} is zero; {_EXAMPLES}")
    return _bounded(seconds, _shortened(text))


def _bounded(seconds: float, shown: str) -> timedelta:
    # A 400-digit number is inf as a float: not finite is "too long" as well.
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise DurationError(
            f"duration {shown} is too long; at most {format_duration(MAX_DURATION)}"
        )
    result = timedelta(seconds=seconds)
    if not result:  # timedelta keeps microseconds: 1e-7 s would be a zero interval (a busy loop)
        raise DurationError(f"duration {shown} is shorter than a microsecond; {_EXAMPLES}")
    return result


def _shortened(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def to_timedelta(value: DurationLike) -> timedelta:
    """A ``timedelta``, a number of seconds or a human string → a positive timedelta."""
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, bool):  # bool is an int; True seconds is never what anyone meant
        raise DurationError(f"a duration cannot be {value!r}; {_EXAMPLES}")
    if isinstance(value, timedelta):
        seconds, shown = value.total_seconds(), format_duration(value)
    elif isinstance(value, (int, float)):
        # An int beyond a float's range cannot be converted: too long (or negative) anyway.
        seconds = (math.inf if value > 0 else -math.inf) if abs(value) >= 1e300 else float(value)
        shown = _shortened(f"{value} s")
    else:
        raise DurationError(f"a duration cannot be a {type(value).__name__}; {_EXAMPLES}")
    if not seconds > 0:  # zero, negative or NaN
        raise DurationError(f"duration {shown} is not positive; {_EXAMPLES}")
    result = _bounded(seconds, shown)
    return value if isinstance(value, timedelta) else result


def renewal(value: DurationLike) -> timedelta:
    """A RenewLease duration, checked before any request: 1 h – 72 h from now."""
    wanted = to_timedelta(value)
    if not MIN_RENEWAL <= wanted <= MAX_RENEWAL:
        raise DurationError(f"a renewal must be between 1h and 72h, not {format_duration(wanted)}")
    return wanted


def format_duration(value: timedelta) -> str:
    """Compact and parseable: ``1h30m``, ``45s``, ``2d3h`` (inverse of :func:`parse_duration`)."""
    total = int(round(value.total_seconds()))
    sign, total = ("-", -total) if total < 0 else ("", total)
    if total == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, total = divmod(total, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_remaining(value: timedelta) -> str:
    """Time left as people read it: ``2 d 03 h``, ``1 h 05 min``, ``42 min``, ``4:59``.

    The words are :func:`jupyter_lease.core.format_remaining`'s (what every view shows); this
    is its ``timedelta`` face for the public API.
    """
    from .present import format_remaining as words  # core imports this module

    return words(value.total_seconds())

"""One presentation of a :class:`Reading`: stage, headline, detail and warning, in the words
every view uses (terminal line, ``%lease`` status, text/plain and text/html, CLI, widget,
server JSON). Pure: ``now`` and the time zone are passed in.

``static/present.js`` mirrors this module line for line; ``tests/test_present_parity.py``
runs both on one table of cases and requires the same stage, headline, detail and warning.

Arithmetic is in whole milliseconds, as in the browser: both sides then agree to the
millisecond, at every threshold and at the 10-minute switch to ``m:ss``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Iterable, Optional, Tuple

from .._defaults import DEFAULT_EXTEND_CHOICES, DEFAULT_WARN_AT, DEFAULT_WARN_AT_S
from .reading import Reading
from .words import fill, subject_word, words

__all__ = [
    "DEFAULT_EXTEND_CHOICES",
    "DEFAULT_WARN_AT",
    "DEFAULT_WARN_AT_S",
    "NEAR_END_S",
    "STAGES",
    "Presentation",
    "format_remaining",
    "present",
    "short_text",
    "stage_for",
    "thresholds_from",
]

# Below this, people watch seconds tick ("4:59"); above it, minutes are enough.
NEAR_END_S = 600
# What a view looks like; the front end's CSS keys on these. Staleness is not a stage: a stale
# countdown still runs (and warns) from the last known deadline; `Presentation.stale` says so.
STAGES: Tuple[str, ...] = (
    "plenty",
    "warning",
    "critical",
    "expired",
    "stopped",
    "idle",
    "off",
    "unknown",
)
URGENT = ("warning", "critical", "expired")  # the stages that come with a warning line
# Epoch ms beyond year 2200 (or before 1740): nothing a source says; shown as unknown.
_MAX_MS = 7_258_118_400_000


@dataclass(frozen=True)
class Presentation:
    """What to show, in words. Times are on the clock ``now_local`` was read from."""

    stage: str  # one of STAGES
    headline: str  # "1 h 05 min left", "3:54 left", "auto-stop is off", ...
    detail: str = ""  # "stops 14:05:00 local (13:05:00 UTC)", then " · <error>" if any
    warning: Optional[str] = None  # one line while urgent, else None
    remaining_s: Optional[float] = None  # timed: seconds left, never negative
    deadline_local: Optional[float] = None  # timed: the stop, epoch seconds on this clock
    stale: bool = False  # counting from the last known reading
    threshold: Optional[float] = None  # the smallest warning threshold crossed (seconds)
    progress: Optional[float] = None  # 0..1 of the current period left, when it is known
    at_least: bool = False  # timed: the stop comes no earlier (a short view writes "≥")


def format_remaining(seconds: float, lang: str = "en") -> str:
    """Time left as people read it: ``2 d 03 h``, ``1 h 05 min``, ``42 min``, ``4:59``
    (``lang="zh_CN"``: ``2 天 03 小时``, ``1 小时 05 分``, ``42 分``, ``4:59``).

    Far from the stop, minutes rounded to the nearest (a fresh 2 h renewal reads
    ``2 h 00 min``); inside 10 minutes whole seconds, rounded down, like a clock. Negative
    time reads ``0:00``; a time that is not a number reads ``—``.
    """
    if not math.isfinite(seconds):
        return "0:00" if seconds < 0 else "—"  # NaN is not < 0
    if seconds < NEAR_END_S:
        whole = max(0, math.floor(seconds))
        return f"{whole // 60}:{whole % 60:02d}"
    rounded = math.floor(seconds / 60 + 0.5) * 60
    days, rest = divmod(rounded, 86400)
    hours, rest = divmod(rest, 3600)
    said = words(lang)
    if days:
        return fill(said["days"], d=str(days), h=f"{hours:02d}")
    if hours:
        return fill(said["hours"], h=str(hours), m=f"{rest // 60:02d}")
    return fill(said["minutes"], m=str(rest // 60))


_COUNTING = ("plenty", "warning", "critical")


def short_text(shown: Presentation, lang: str = "en") -> str:
    """The one-glance form (the status bar's): ``⏳ 1 h 05 min``, ``⏳ ≥ 4:59`` for a lower
    bound, ``⏳ 0:00`` at the stop, else the headline; `` · stale`` when counting from the last
    known reading; in ``lang``'s words (:mod:`.words`)."""
    said = words(lang)
    if shown.stage in _COUNTING and shown.remaining_s is not None:
        left = format_remaining(shown.remaining_s, lang)
        text = f"⏳ {'≥ ' if shown.at_least else ''}{left}"
    elif shown.stage == "expired":
        text = "⏳ 0:00"
    else:
        text = shown.headline.replace(said["last_known"], "")
    return f"{text} · {said['stale']}" if shown.stale else text


def thresholds_from(values: Iterable[object]) -> Tuple[float, ...]:
    """Warning thresholds in seconds, largest first; the defaults when none is usable.

    Tolerant on purpose (a view must never fail on them): anything that is not a positive,
    finite number of seconds (or a timedelta) is left out. Parsing ``"30m,10m"`` with one
    clear error line is ``_schedule.parse_thresholds``' job, before the values get here.
    """
    out = set()
    for value in values:
        if isinstance(value, timedelta):
            value = value.total_seconds()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value) and value > 0:
            out.add(float(value))
    return tuple(sorted(out, reverse=True)) or DEFAULT_WARN_AT_S


def stage_for(remaining_s: float, thresholds: Tuple[float, ...]) -> str:
    """The largest threshold starts ``warning``, the smallest ``critical``; with a single
    threshold, ``critical`` is its last minute. ``thresholds``: from :func:`thresholds_from`."""
    if remaining_s <= 0:
        return "expired"
    last = thresholds[-1]
    critical = last if len(thresholds) > 1 else min(last, 60.0)
    if remaining_s <= critical:
        return "critical"
    if remaining_s <= thresholds[0]:
        return "warning"
    return "plenty"


def present(
    reading: Reading,
    now_local: float,
    thresholds: Iterable[object] = DEFAULT_WARN_AT_S,
    local_tz: Optional[tzinfo] = None,
    lang: str = "en",
) -> Presentation:
    """What ``reading`` looks like at ``now_local`` (this host's epoch seconds).

    The deadline moves onto this host's clock here, once: ``deadline − clock_offset``.
    ``local_tz`` is the zone for the stop time (None: this machine's); ``lang`` the words'
    language (``en``, ``zh_CN``; see :mod:`.words`). Never raises.
    """
    said = words(lang)
    stale = reading.stale
    error = reading.error or ""
    last_known = said["last_known"] if stale else ""
    kind = reading.kind
    if kind == "stopped":
        return Presentation(
            "stopped", fill(said["not_running"], subject=_subject(reading, lang)), error
        )
    if kind == "off":
        # The provider's words for "off" ("no time limit"), one line, cut as present.js cuts.
        label = " ".join(str(reading.off_label).split())[:60] or said["off"]
        return Presentation("off", label + last_known, error, stale=stale)
    if kind == "idle":
        idle_ms = _ms(reading.idle_after)
        after = format_remaining(idle_ms / 1000, lang) if idle_ms else said["a_period"]
        headline = fill(said["idle"], t=after) + last_known
        return Presentation("idle", headline, error, stale=stale)
    deadline = _ms(reading.deadline)
    offset = _ms(reading.clock_offset)
    now_ms = _ms(now_local)
    if kind != "timed" or deadline is None or offset is None or now_ms is None:
        never_read = kind == "unknown" and reading.read_at is None and not (error or stale)
        headline = said["checking"] if never_read else said["unknown"]
        return Presentation("unknown", headline, error, stale=stale)
    local_ms = deadline - offset
    return _timed(reading, local_ms, now_ms, thresholds_from(thresholds), local_tz, lang)


def _timed(
    reading: Reading,
    local_ms: int,
    now_ms: int,
    thresholds: Tuple[float, ...],
    local_tz: Optional[tzinfo],
    lang: str,
) -> Presentation:
    said = words(lang)
    remaining_ms = max(0, local_ms - now_ms)
    stage = stage_for(remaining_ms / 1000, thresholds)
    # A lower bound (a culler's earliest stop) reads "at least 12 min left".
    left = format_remaining(remaining_ms / 1000, lang)
    if reading.lower_bound:
        left = fill(said["at_least"], t=left)
    when = _when(local_ms, now_ms, local_tz, lang)
    reason = _reason(reading)
    subject = _subject(reading, lang)
    if stage == "expired":
        headline = fill(said["may_stop" if reading.lower_bound else "run_out"], subject=subject)
        detail = fill(said["ran_out_at"], when=when) + reason if when else ""
    else:
        headline = fill(said["left"], t=left) + (said["last_known"] if reading.stale else "")
        stops = said["stops_no_earlier" if reading.lower_bound else "stops_at"]
        detail = fill(stops, when=when) + reason if when else ""
    if reading.error:
        detail = f"{detail} · {reading.error}" if detail else reading.error
    crossed = [t for t in thresholds if remaining_ms <= t * 1000]
    return Presentation(
        stage=stage,
        headline=headline,
        detail=detail,
        warning=fill(said["warning"], t=left, subject=subject) if stage in URGENT else None,
        remaining_s=remaining_ms / 1000,
        deadline_local=local_ms / 1000,
        stale=reading.stale,
        threshold=crossed[-1] if crossed else None,
        progress=_progress(reading, remaining_ms, thresholds),
        at_least=reading.lower_bound,
    )


def _progress(
    reading: Reading, remaining_ms: int, thresholds: Tuple[float, ...]
) -> Optional[float]:
    # The period runs from the last renewal to the deadline, both on the source's clock; a
    # period shorter than the first warning would start the bar part-empty, so it is at least
    # that long (and never shorter than what is left).
    start, deadline = _ms(reading.started_at), _ms(reading.deadline)
    if start is None or deadline is None:
        return None
    span = max(deadline - start, thresholds[0] * 1000, remaining_ms)
    return remaining_ms / span if span > 0 else 0.0


def _ms(seconds: Optional[float]) -> Optional[int]:
    """Whole ms, or None for what is missing, not a number, or beyond year 2200 either way."""
    if seconds is None or not math.isfinite(seconds) or abs(seconds) * 1000 > _MAX_MS:
        return None
    return int(round(seconds * 1000))


def _when(local_ms: int, now_ms: int, local_tz: Optional[tzinfo], lang: str = "en") -> str:
    """``14:05:00 local (13:05:00 UTC)``; ``13:05:00 UTC`` where local is UTC; with the local
    date in front when the stop is not today."""
    try:
        utc = datetime.fromtimestamp(local_ms / 1000, tz=timezone.utc)
        local = utc.astimezone(local_tz)
        today = datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc).astimezone(local_tz)
    except (OverflowError, OSError, ValueError):  # a platform's time functions have limits
        return ""
    day = "" if local.date() == today.date() else f"{local:%Y-%m-%d} "
    said = words(lang)
    if local.utcoffset() == timedelta(0):
        return day + fill(said["utc"], utc=f"{utc:%H:%M:%S}")
    return day + fill(said["local_utc"], local=f"{local:%H:%M:%S}", utc=f"{utc:%H:%M:%S}")


def _reason(reading: Reading) -> str:
    """`` — <why it stops then>`` in the provider's words, cut as present.js cuts; or ""."""
    words = " ".join(str(reading.stop_reason).split())[:80]
    return f" — {words}" if words else ""


def _subject(reading: Reading, lang: str = "en") -> str:
    """What stops, in the provider's one word ("job"), cut as present.js cuts; "instance".
    In ``lang``'s word where :mod:`.words` knows it ("作业")."""
    return subject_word(" ".join(str(reading.subject).split())[:20] or "instance", lang)

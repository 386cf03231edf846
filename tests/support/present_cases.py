"""The table of readings both presentations (Python ``core.present``, ``static/present.js``)
are checked on: named cases with their expected words in ``test_core_present.py``, and a sweep
over every boundary (thresholds, the 10-minute switch, the stop), clock offsets, staleness and
two time zones for the Node parity test. Every instant is a whole number of milliseconds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone, tzinfo
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

from jupyter_lease.core import Reading

NOW_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z (2026-05-29 01:56:40 in Kolkata)
H = 3_600_000
M = 60_000
# Zones the parity test runs Node in, and the same zone for Python. Kolkata: +05:30 all year,
# so a fixed offset is exactly what Node's IANA zone does.
ZONES: Dict[str, tzinfo] = {
    "UTC": timezone.utc,
    "Asia/Kolkata": timezone(timedelta(hours=5, minutes=30)),
}


class Case(NamedTuple):
    name: str
    reading: Reading
    now_ms: int = NOW_MS
    warn_at: Optional[List[float]] = None  # seconds; None: the defaults
    zone: str = "UTC"
    lang: str = "en"  # the words' language (core/words.py, static/words.js)


def timed(remaining_ms: int, offset_ms: int = 0, **fields: Any) -> Reading:
    """A timed reading with ``remaining_ms`` left at NOW_MS on this host's clock; the source's
    clock is ``offset_ms`` ahead, so its deadline is that much later in its own numbers."""
    fields.setdefault("read_at", (NOW_MS + offset_ms) / 1000)
    return Reading(
        "timed",
        deadline=(NOW_MS + remaining_ms + offset_ms) / 1000,
        clock_offset=offset_ms / 1000,
        **fields,
    )


REMAINING = [
    -5_000, 0, 1, 999, 59_000, 59_999, 60_000, 60_001, 299_999, 300_000, 300_001, 599_999,
    600_000, 600_001, 629_999, 630_000, 1_799_999, 1_800_000, 1_800_001, 3_930_000, 7_199_000,
    7_200_000, 2 * 86_400_000 + 11_000_000, 400 * 86_400_000,
]  # fmt: skip
WARN_SETS: List[Optional[List[float]]] = [None, [7200], [30], [600, 120], [300, 60, 600], []]
OFFSETS = [0, 12_500, -H]


def sweep() -> Iterator[Case]:
    """Every remaining time against every threshold set, offset, staleness and zone."""
    for remaining in REMAINING:
        for warn_at in WARN_SETS:
            for offset in OFFSETS:
                for stale in (False, True):
                    error = "ShowLease: timed out" if stale else None
                    reading = timed(
                        remaining,
                        offset,
                        stale=stale,
                        error=error,
                        started_at=(NOW_MS + offset - 2 * H) / 1000,
                    )
                    for zone in ZONES:
                        name = f"{remaining}ms/{warn_at}/{offset}/{stale}/{zone}"
                        yield Case(name, reading, NOW_MS, warn_at, zone)
                        yield Case(f"{name}/zh_CN", reading, NOW_MS, warn_at, zone, "zh_CN")


def others() -> Iterator[Case]:
    """Every kind that is not a countdown, with and without staleness and errors."""
    error = "ShowLease: connection refused by http://127.0.0.1:9"
    for zone in ZONES:
        yield Case("idle", Reading("idle", idle_after=3600.0), zone=zone)
        yield Case("idle 5 min", Reading("idle", idle_after=300.0), zone=zone)
        yield Case("idle, no duration", Reading("idle"), zone=zone)
        yield Case("idle stale", Reading("idle", idle_after=3600.0, stale=True), zone=zone)
        yield Case("off", Reading("off"), zone=zone)
        yield Case("off stale", Reading("off", stale=True, error=error), zone=zone)
        yield Case(
            "off, the provider's words", Reading("off", off_label="no time limit"), zone=zone
        )
        yield Case("off, words stale", Reading("off", off_label="no limit", stale=True), zone=zone)
        yield Case("stopped", Reading("stopped", error="the instance is not running"), zone=zone)
        yield Case("stopped, a job", Reading("stopped", subject="job"), zone=zone)
        job = timed(200_000, 0, started_at=(NOW_MS - H) / 1000)
        yield Case("a job, critical", replace(job, subject="job"), NOW_MS, zone=zone)
        yield Case("a job, run out", replace(timed(0, 0), subject=" a\nbatch  job "), zone=zone)
        hub = dict(subject="server", lower_bound=True)
        yield Case("a culler's lower bound", replace(timed(12 * M), **hub), zone=zone)
        yield Case("lower bound, critical", replace(timed(45_000), **hub), zone=zone)
        yield Case("lower bound, passed", replace(timed(-5_000), **hub), zone=zone)
        max_age = "the hub's maximum age; cannot be extended here"
        yield Case("a reason", replace(timed(2 * H), stop_reason=max_age), zone=zone)
        yield Case(
            "a reason, lower bound, stale",
            replace(
                timed(4 * M, stale=True, error=error),
                stop_reason=" a\n" + "long reason " * 9,
                **hub,
            ),
            zone=zone,
        )
        yield Case("unknown", Reading(), zone=zone)
        yield Case("unknown, error", Reading(error=error), zone=zone)
        yield Case("unknown, stale", Reading(stale=True), zone=zone)
        yield Case("timed without deadline", Reading("timed"), zone=zone)
        yield Case("tomorrow", timed(26 * H), zone=zone)
        yield Case("near midnight", timed(3 * H + 34 * M), zone=zone)
        yield Case("beyond 2200", Reading("timed", deadline=8e9), zone=zone)
        yield Case("before 1740", Reading("timed", deadline=-8e9), zone=zone)


def in_chinese() -> Iterator[Case]:
    """Every other kind again, in Chinese (the sweep has its own Chinese half)."""
    for case in others():
        yield case._replace(name=f"{case.name}/zh_CN", lang="zh_CN")


def all_cases() -> List[Case]:
    return [*others(), *in_chinese(), *sweep()]


def to_fixture(case: Case) -> Dict[str, Any]:
    """What the Node harness gets: the browser's JSON of the reading, and how to derive it."""
    return {
        "name": case.name,
        "state": case.reading.to_json(),
        "now_ms": case.now_ms,
        "warn_at": case.warn_at,
        "zone": case.zone,
        "lang": case.lang,
    }


# Durations both parsers (``core.duration.parse_duration``, present.js's ``parseDuration``) read
# alike: accepted with the same number of seconds, or refused by both.
DURATIONS: List[str] = [
    "30m", "30min", "1h30m", " 1h 30m ", "1.5h", "2d", "45s", "90m", "2 hours", "1 hour",
    "1 Day, 2 Hours", "3 mins 4 secs", "1H", "72h", "365d", "0.5s", "1d2h3m4s", "10 minutes",
    "", " ", "30", "m", "1h x", "-1h", "0m", "0h0m", "1y", "400d", "366d", "1h-", "h1", "1..5h",
    "1e3s", "0.0000001s", "2 weeks", "1hour30", "constructor", "1constructor", "1 toString",
]  # fmt: skip

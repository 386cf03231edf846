"""``core.present``: one reading, one set of words, for every kind, stage and boundary."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import timedelta
from typing import Any, Optional

import pytest

from jupyter_lease.core import (
    DEFAULT_WARN_AT,
    DEFAULT_WARN_AT_S,
    STAGES,
    Reading,
    format_remaining,
    present,
    thresholds_from,
)
from jupyter_lease.core.duration import format_remaining as public_format_remaining
from jupyter_lease.core.schedule import parse_thresholds
from tests.support.present_cases import NOW_MS, REMAINING, ZONES, H, M, timed

NOW = NOW_MS / 1000  # 2026-05-28T20:26:40Z
UTC = ZONES["UTC"]
KOLKATA = ZONES["Asia/Kolkata"]
ERROR = "ShowLease: connection refused by http://127.0.0.1:9"
ZH_URGE = "——请保存工作或延长租约"
URGE = "left before this instance stops — save your work or extend"


@pytest.mark.parametrize(
    "reading, stage, headline, detail, warning",
    [
        (timed(H + 5 * M + 20_000), "plenty", "1 h 05 min left", "stops 21:32:00 UTC", None),
        (timed(1_800_001), "plenty", "30 min left", "stops 20:56:40 UTC", None),
        (timed(1_800_000), "warning", "30 min left", "stops 20:56:40 UTC", f"30 min {URGE}"),
        (timed(600_000), "warning", "10 min left", "stops 20:36:40 UTC", f"10 min {URGE}"),
        (timed(599_999), "warning", "9:59 left", "stops 20:36:39 UTC", f"9:59 {URGE}"),
        (timed(234_000), "warning", "3:54 left", "stops 20:30:34 UTC", f"3:54 {URGE}"),
        (timed(60_001), "warning", "1:00 left", "stops 20:27:40 UTC", f"1:00 {URGE}"),
        (timed(60_000), "critical", "1:00 left", "stops 20:27:40 UTC", f"1:00 {URGE}"),
        (timed(1), "critical", "0:00 left", "stops 20:26:40 UTC", f"0:00 {URGE}"),
        (
            timed(0),
            "expired",
            "the lease has run out: the instance stops now",
            "ran out at 20:26:40 UTC",
            f"0:00 {URGE}",
        ),
        (timed(26 * H), "plenty", "1 d 02 h left", "stops 2026-05-29 22:26:40 UTC", None),
        (
            timed(2 * H, stale=True, error="ShowLease: timed out reading\nfrom host"),
            "plenty",
            "2 h 00 min left (last known)",
            "stops 22:26:40 UTC · ShowLease: timed out reading from host",
            None,
        ),
        (
            timed(-5_000, stale=True),
            "expired",
            "the lease has run out: the instance stops now",
            "ran out at 20:26:35 UTC",
            f"0:00 {URGE}",
        ),
        (
            replace(timed(12 * M), lower_bound=True, subject="server"),
            "warning",
            "at least 12 min left",
            "stops no earlier than 20:38:40 UTC",
            "at least 12 min left before this server stops — save your work or extend",
        ),
        (
            replace(timed(-1), lower_bound=True, subject="server"),
            "expired",
            "the server may stop any moment now",
            "ran out at 20:26:39 UTC",
            "at least 0:00 left before this server stops — save your work or extend",
        ),
        (
            replace(timed(2 * H), stop_reason="the hub's maximum age; cannot be extended here"),
            "plenty",
            "2 h 00 min left",
            "stops 22:26:40 UTC — the hub's maximum age; cannot be extended here",
            None,
        ),
        (Reading("idle", idle_after=3600.0), "idle", "stops after 1 h 00 min idle", "", None),
        (Reading("idle"), "idle", "stops after a period idle", "", None),
        (Reading("off"), "off", "auto-stop is off", "", None),
        (
            Reading("off", stale=True, error=ERROR),
            "off",
            "auto-stop is off (last known)",
            ERROR,
            None,
        ),
        (Reading("off", off_label="no time limit"), "off", "no time limit", "", None),
        (Reading("stopped", error=ERROR), "stopped", "the instance is not running", ERROR, None),
        (Reading(), "unknown", "checking the lease…", "", None),
        (Reading(error=ERROR), "unknown", "lease unknown", ERROR, None),
        (Reading("timed", read_at=NOW), "unknown", "lease unknown", "", None),
    ],
)
def test_every_kind_and_stage_in_words(
    reading: Reading, stage: str, headline: str, detail: str, warning: Optional[str]
) -> None:
    p = present(reading, NOW, DEFAULT_WARN_AT_S, UTC)
    assert (p.stage, p.headline, p.detail, p.warning) == (stage, headline, detail, warning)
    assert p.stage in STAGES
    assert p.stale == (reading.stale and reading.kind != "stopped")


def test_local_time_comes_first_with_utc_beside_it() -> None:
    p = present(timed(65 * M), NOW, local_tz=KOLKATA)  # now: 2026-05-29 01:56:40 there
    assert p.detail == "stops 03:01:40 local (21:31:40 UTC)"
    tomorrow = present(timed(23 * H), NOW, local_tz=KOLKATA)
    assert tomorrow.detail == "stops 2026-05-30 00:56:40 local (19:26:40 UTC)"


def test_the_clock_offset_is_applied_once() -> None:
    # The source's clock is 12.5 s ahead: its deadline reads 12.5 s later than ours.
    p = present(timed(65 * M, offset_ms=12_500), NOW, local_tz=UTC)
    assert p.deadline_local == NOW + 65 * 60
    assert p.remaining_s == 65 * 60
    assert p.headline == "1 h 05 min left"
    # A re-measured offset moves the stop by exactly the change, nothing else.
    reading = timed(65 * M, offset_ms=12_500)
    remeasured = replace(reading, clock_offset=12.9)
    assert present(remeasured, NOW).deadline_local == pytest.approx(NOW + 65 * 60 - 0.4)
    # The browser's JSON carries the same deadline to the millisecond.
    again = Reading.from_json(reading.to_json())
    assert present(again, NOW) == present(reading, NOW)


@pytest.mark.parametrize(
    "warn_at, remaining_ms, stage",
    [
        ([7200], 90 * M, "warning"),
        ([7200], 60_000, "critical"),  # a single threshold: critical is its last minute
        ([30], 45_000, "plenty"),
        ([30], 30_000, "critical"),
        ([600, 120], 120_000, "critical"),
        ([600, 120], 120_001, "warning"),
        ([timedelta(minutes=20), timedelta(minutes=5)], 6 * M, "warning"),
        (["x", -1, math.nan, math.inf, True], 29 * M, "warning"),  # unusable: the defaults
        ([], 31 * M, "plenty"),
    ],
)
def test_thresholds_decide_the_stage(warn_at: Any, remaining_ms: int, stage: str) -> None:
    assert present(timed(remaining_ms), NOW, warn_at).stage == stage


def test_the_crossed_threshold_and_the_progress_bar() -> None:
    p = present(timed(4 * M, started_at=NOW - 3600), NOW)
    assert p.threshold == 300  # the smallest one crossed: the banner's and notification's
    assert p.progress == pytest.approx(240 / (3600 + 240))
    assert present(timed(H, started_at=NOW - 3600), NOW).progress == 0.5
    assert present(timed(H), NOW).progress is None  # period unknown
    assert present(timed(H), NOW).threshold is None
    # A short period still starts the bar full: at least the first warning long.
    assert present(timed(5 * M, started_at=NOW - 60), NOW).progress == pytest.approx(300 / 1800)


@pytest.mark.parametrize(
    "reading, now",
    [
        (Reading("timed", deadline=math.nan), NOW),
        (Reading("timed", deadline=math.inf), NOW),
        (Reading("timed", deadline=-math.inf), NOW),
        (Reading("timed", deadline=1e300), NOW),
        (Reading("timed", deadline=NOW + 60, clock_offset=math.nan), NOW),
        (Reading("timed", deadline=NOW + 60, clock_offset=1e300), NOW),
        (Reading("timed", deadline=NOW + 60), math.nan),
        (Reading("timed", deadline=NOW + 60), -math.inf),
    ],
)
def test_impossible_numbers_read_as_unknown(reading: Reading, now: float) -> None:
    p = present(reading, now)
    assert (p.stage, p.headline, p.warning) == ("unknown", "lease unknown", None)


def test_never_raises_on_any_number() -> None:
    rng = random.Random(10)
    values = [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e300, -1e300, 1e12, NOW, None]
    for _ in range(3000):
        pick = lambda: rng.choice(values)  # noqa: E731
        reading = Reading(
            rng.choice(["timed", "idle", "off", "stopped", "unknown"]),
            deadline=pick(),
            clock_offset=rng.choice(values[:-1]),
            started_at=pick(),
            idle_after=pick(),
            stale=rng.random() < 0.5,
        )
        warn_at = [rng.choice(values[:-1]) for _ in range(rng.randrange(4))]
        p = present(reading, rng.choice(values[:-1]), warn_at)
        assert p.stage in STAGES and p.headline


@pytest.mark.parametrize(
    "seconds, text",
    [
        (math.nan, "—"),
        (math.inf, "—"),
        (-math.inf, "0:00"),
        (-5, "0:00"),
        (0, "0:00"),
        (599.999, "9:59"),
        (600, "10 min"),
        (629.999, "10 min"),
        (630, "11 min"),
        (3930, "1 h 06 min"),
        (7199, "2 h 00 min"),
        (2 * 86400 + 11_000, "2 d 03 h"),
    ],
)
def test_format_remaining(seconds: float, text: str) -> None:
    assert format_remaining(seconds) == text
    assert format_remaining(1e300)  # huge: text, not an OverflowError


def test_the_public_formatter_says_the_same() -> None:
    """``jupyter_lease.format_remaining(timedelta)`` is the core's words, not a copy of them."""
    for ms in REMAINING:
        assert public_format_remaining(timedelta(milliseconds=ms)) == format_remaining(ms / 1000)


def test_the_defaults_are_defined_once() -> None:
    assert DEFAULT_WARN_AT == "30m,10m,5m,1m"
    assert parse_thresholds(DEFAULT_WARN_AT) == tuple(
        timedelta(seconds=s) for s in DEFAULT_WARN_AT_S
    )
    assert thresholds_from([]) == DEFAULT_WARN_AT_S == thresholds_from(["junk"])


@pytest.mark.parametrize(
    "seconds, words",
    [(3900, "1 小时 05 分"), (7200, "2 小时 00 分"), (2520, "42 分"), (299, "4:59")]
    + [(2 * 86400 + 3 * 3600, "2 天 03 小时"), (-1, "0:00")],
)
def test_durations_in_chinese(seconds: float, words: str) -> None:
    assert format_remaining(seconds, "zh_CN") == words
    assert format_remaining(seconds, "zh_CN.UTF-8") == words


@pytest.mark.parametrize(
    "reading, headline, detail, warning",
    [
        (timed(H + 5 * M), "剩余 1 小时 05 分", "UTC 21:31:40 停止", None),
        (timed(4 * M), "剩余 4:00", "UTC 20:30:40 停止", f"距实例停止还剩 4:00{ZH_URGE}"),
        (timed(0), "租约已到期：实例正在停止", "已于 UTC 20:26:40 到期",
         f"距实例停止还剩 0:00{ZH_URGE}"),
        (replace(timed(12 * M), subject="server", lower_bound=True), "剩余 12 分以上",
         "不早于 UTC 20:38:40 停止", f"距服务器停止还剩 12 分以上{ZH_URGE}"),
        (Reading("stopped", subject="job"), "作业未在运行", "", None),
        (Reading("idle", idle_after=3600.0), "空闲 1 小时 00 分 后停止", "", None),
        (Reading("off", stale=True), "自动停止已关闭（上次已知）", "", None),
        (Reading(), "正在查询租约…", "", None),
    ],
)  # fmt: skip
def test_present_in_chinese(
    reading: Reading, headline: str, detail: str, warning: Optional[str]
) -> None:
    shown = present(reading, NOW, local_tz=UTC, lang="zh_CN")
    assert (shown.headline, shown.detail, shown.warning) == (headline, detail, warning)
    assert present(reading, NOW, local_tz=UTC).stage == shown.stage  # words only

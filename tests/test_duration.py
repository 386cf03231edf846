from datetime import timedelta

import pytest

from jupyter_lease._errors import DurationError, UsageError
from jupyter_lease.core.duration import (
    format_duration,
    format_remaining,
    parse_duration,
    renewal,
    to_timedelta,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2h", timedelta(hours=2)),
        ("45s", timedelta(seconds=45)),
        ("1d", timedelta(days=1)),
        ("1.5h", timedelta(minutes=90)),
        (" 2 hours 5 min ", timedelta(hours=2, minutes=5)),
        ("1H30M", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_parse_duration_accepts_human_forms(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("-5m", "negative"),
        ("abc", "cannot read"),
        ("0", "no unit"),
        ("0m", "zero"),
        ("90", "no unit"),
        ("5 fortnights", "unknown unit"),
        ("", "cannot read"),
        ("1h-5m", "cannot read"),
    ],
)
def test_parse_duration_rejects_with_one_line(text, fragment):
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert "90m" in message  # every rejection shows what would work
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)


def test_to_timedelta_accepts_numbers_and_timedeltas_but_not_bools_or_zero():
    assert to_timedelta(90) == timedelta(seconds=90)
    assert to_timedelta(timedelta(hours=2)) == timedelta(hours=2)
    assert to_timedelta("2h") == timedelta(hours=2)
    for bad in (True, 0, -3, timedelta(0), None, [1]):
        with pytest.raises(DurationError):
            to_timedelta(bad)


@pytest.mark.parametrize(
    "value, text",
    [
        (timedelta(days=2, hours=3, minutes=59), "2 d 03 h"),
        (timedelta(hours=1, minutes=5, seconds=29), "1 h 05 min"),
        (timedelta(hours=1, minutes=59, seconds=59), "2 h 00 min"),
        (timedelta(minutes=42, seconds=20), "42 min"),
        (timedelta(minutes=42, seconds=31), "43 min"),
        (timedelta(minutes=10), "10 min"),
        (timedelta(minutes=9, seconds=59), "9:59"),
        (timedelta(seconds=299), "4:59"),
        (timedelta(seconds=5), "0:05"),
        (timedelta(seconds=-30), "0:00"),
    ],
)
def test_format_remaining_reads_like_a_person(value, text):
    assert format_remaining(value) == text


@pytest.mark.parametrize("text", ["90m", "1h30m", "2d3h", "45s", "72h", "1d2h3m4s"])
def test_format_duration_round_trips(text):
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_format_duration_shapes():
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(seconds=-60)) == "-1m"


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999h",
        "9999999999999999d",
        "1" * 400 + "h",  # a float's infinity
        "366d",
        10**400,
        1e400,
        float("inf"),
        timedelta.max,
    ],
    ids=[
        "14-digit-hours",
        "16-digit-days",
        "400-digits",
        "366d",
        "huge-int",
        "1e400",
        "inf",
        "max",
    ],
)
def test_huge_durations_are_one_line_not_an_overflow(value):
    with pytest.raises(DurationError) as info:
        to_timedelta(value)
    assert "too long; at most 365d" in str(info.value)
    assert len(str(info.value)) < 120  # a 400-digit input is shortened in the message


def test_nan_is_not_a_duration():
    with pytest.raises(DurationError, match="not positive"):
        to_timedelta(float("nan"))


def test_the_longest_duration_is_accepted():
    assert parse_duration("365d") == timedelta(days=365)


@pytest.mark.parametrize("value", ["59m", "72h1s", "99999999999999h", 0])
def test_renewal_is_one_to_seventy_two_hours(value):
    with pytest.raises(DurationError):
        renewal(value)
    assert renewal("72h") == timedelta(hours=72) and renewal(3600) == timedelta(hours=1)


@pytest.mark.parametrize(
    "value", [-(10**400), -1e400, -(10**20)], ids=["int", "float", "20-digits"]
)
def test_huge_negative_numbers_are_one_line_not_an_overflow(value):
    with pytest.raises(DurationError, match="not positive"):
        to_timedelta(value)


@pytest.mark.parametrize("value", ["0.0000001s", 1e-7, 1e-300, 5e-324])
def test_a_positive_duration_that_rounds_to_zero_is_refused(value):
    # timedelta keeps microseconds: these were "positive" and came back as timedelta(0), a
    # poll or check interval of zero (a busy loop).
    with pytest.raises(DurationError, match="shorter than a microsecond"):
        to_timedelta(value)

from datetime import timedelta

import pytest

from jupyter_lease._errors import (
    AuthenticationError,
    DurationError,
    NetworkError,
    PermissionDeniedError,
    RequestTimeout,
    ServerError,
    ThrottledError,
)
from jupyter_lease.core.retry import RetryPolicy, is_retryable, parse_retry_after
from jupyter_lease.core.schedule import PollSchedule, backoff, parse_thresholds

M = timedelta(minutes=1)


def test_parse_thresholds_sorts_and_dedups():
    assert parse_thresholds("5m, 30m,1m,5m") == (30 * M, 5 * M, M)
    assert parse_thresholds([60, "2m"]) == (2 * M, M)
    with pytest.raises(DurationError):
        parse_thresholds("")
    with pytest.raises(DurationError):
        parse_thresholds("10m,-1m")


def test_poll_schedule_adapts_to_time_left_and_failures():
    s = PollSchedule()
    assert s.next_poll(timedelta(hours=3)) == 300
    assert s.next_poll(20 * M) == 60
    assert s.next_poll(4 * M) == 15
    assert s.next_poll(timedelta(seconds=7)) == 7  # never sleep past the stop
    assert s.next_poll(None) == 300
    assert [s.next_poll(20 * M, failures=n) for n in (1, 2, 3, 10)] == [15, 30, 60, 300]


def test_backoff_survives_days_of_failures():
    # ~1,025 failures at the 5-minute cap is 85 h of a persistent 401: 2 ** n must not overflow.
    s = PollSchedule()
    for failures in (1024, 1025, 1100, 10**6):
        assert s.next_poll(timedelta(hours=1), failures=failures) == 300
    assert backoff(15, 300, 1) == 15 and backoff(15, 300, 3) == 60
    assert backoff(0.1, 300, 10**9) == 300


def test_huge_thresholds_are_one_line():
    with pytest.raises(DurationError, match="too long"):
        parse_thresholds("9999999999999999d,5m")


def test_retry_policy_full_jitter_and_retry_after():
    p = RetryPolicy(attempts=4, base=0.5, cap=4)
    assert p.delay(1, 0.5) == 0.25
    assert p.delay(3, 0.999) == pytest.approx(1.998)
    assert p.delay(10, 1.0) == 4  # capped
    assert p.delay(1, 0.0, retry_after=7) == 7


def test_what_is_retried():
    for error in (ServerError("x"), ThrottledError("x"), NetworkError("x"), RequestTimeout("x")):
        assert is_retryable(error)
    for error in (AuthenticationError("x"), PermissionDeniedError("x")):
        assert not is_retryable(error)
    p = RetryPolicy(attempts=3, max_retry_after=30)
    assert p.should_retry(ServerError("x"), 1) and not p.should_retry(ServerError("x"), 3)
    assert not p.should_retry(ThrottledError("x", retry_after=31), 1)
    assert not p.should_retry(AuthenticationError("x"), 1)


def test_parse_retry_after_forms():
    assert parse_retry_after("7", 0) == 7
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after("soon", 0) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10

"""When to try a request again, and how long to wait. Pure: randomness and time are passed in."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Optional

from .._errors import LeaseError, NetworkError, ServerError, ThrottledError

__all__ = ["RetryPolicy", "is_retryable", "parse_retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog's "full jitter").

    ``attempts`` counts every try, the first included. A ``Retry-After`` longer than
    ``max_retry_after`` is not waited out in-line: the error goes to the caller, whose own
    schedule (the watcher's backoff) is the right place for long waits.
    """

    attempts: int = 3
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, retry: int, jitter: float, retry_after: Optional[float] = None) -> float:
        """Seconds before retry number ``retry`` (1-based); ``jitter`` is uniform in [0, 1)."""
        ceiling = min(self.cap, self.base * (2 ** (retry - 1)))
        wait = ceiling * jitter
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def should_retry(self, error: LeaseError, tries_so_far: int) -> bool:
        if tries_so_far >= self.attempts or not is_retryable(error):
            return False
        if isinstance(error, ThrottledError) and error.retry_after is not None:
            return error.retry_after <= self.max_retry_after
        return True


def is_retryable(error: LeaseError) -> bool:
    """Throttling, server failures and network failures are worth another try.

    Authentication and permission failures never are: the API gateway locks an AK/SK for
    5 minutes after 5 consecutive failures, so a retry loop turns a typo into a lockout.
    """
    return isinstance(error, (ThrottledError, ServerError, NetworkError))


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """``Retry-After`` as seconds from ``now``: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)

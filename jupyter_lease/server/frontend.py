"""What the browser's views take from the server's ``c.JupyterLease``: served with every lease.

``GET …/jupyter-lease/api/lease`` answers ``{reading, now_ms, keep_alive, settings}``;
``settings`` is :func:`frontend_settings`' dict:

    warn_at_ms       [1800000, 600000, …]  the thresholds, largest first (``warn_at``)
    extend_choices   ["1h", "2h", …]       what Extend offers (``extend_choices``)
    notifications    true                  system notifications at thresholds (``notifications``)
    extend_default   "1h"                  what Extend offers first (``extend_default``)

The status item uses these unless the user's JupyterLab settings say otherwise. They are read
and checked once, when the extension loads: a value that cannot work is one WARNING line in the
server log and the default instead (a page must never get a threshold it cannot use).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from .._defaults import DEFAULT_EXTEND_CHOICES, DEFAULT_EXTEND_DEFAULT, DEFAULT_WARN_AT
from .._errors import DurationError, scrub
from ..core.duration import parse_duration
from ..core.schedule import parse_thresholds
from ..settings import JupyterLease

__all__ = ["frontend_settings"]

MAX_CHOICES = 24  # a select with more is no longer a choice


def frontend_settings(parent: Any, log: logging.Logger) -> Dict[str, Any]:
    """``c.JupyterLease`` (from ``parent``'s config) as the page's settings, checked."""
    try:
        config = JupyterLease(parent=parent)
    except Exception as exc:  # TraitError: e.g. notifications = "yes"
        log.warning("jupyter_lease: c.JupyterLease ignored, defaults used: %s", _line(exc))
        config = JupyterLease()
    return {
        "warn_at_ms": _warn_at_ms(config.warn_at, log),
        "extend_choices": _extend_choices(config.extend_choices, log),
        "notifications": bool(config.notifications),
        "extend_default": _extend_default(config.extend_default, log),
    }


def _warn_at_ms(value: str, log: logging.Logger) -> List[int]:
    try:
        thresholds = parse_thresholds(value)
    except DurationError as exc:
        log.warning(
            "jupyter_lease: c.JupyterLease.warn_at ignored, %s used: %s", DEFAULT_WARN_AT, exc
        )
        thresholds = parse_thresholds(DEFAULT_WARN_AT)
    return [int(round(t.total_seconds() * 1000)) for t in thresholds]


def _extend_choices(values: List[str], log: logging.Logger) -> List[str]:
    try:
        if not values or len(values) > MAX_CHOICES:
            raise DurationError(f"give 1 to {MAX_CHOICES} durations, e.g. ['1h', '2h']")
        for value in values:
            parse_duration(value)
    except DurationError as exc:
        defaults = ", ".join(DEFAULT_EXTEND_CHOICES)
        log.warning(
            "jupyter_lease: c.JupyterLease.extend_choices ignored, %s used: %s", defaults, exc
        )
        return list(DEFAULT_EXTEND_CHOICES)
    return list(dict.fromkeys(value.strip() for value in values))


def _extend_default(value: str, log: logging.Logger) -> str:
    try:
        parse_duration(value)
    except DurationError as exc:
        log.warning(
            "jupyter_lease: c.JupyterLease.extend_default ignored, %s used: %s",
            DEFAULT_EXTEND_DEFAULT,
            exc,
        )
        return DEFAULT_EXTEND_DEFAULT
    return value.strip()


def _line(exc: BaseException) -> str:
    return scrub(" ".join(str(exc).split()))[:200]

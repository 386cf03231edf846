"""The one rule for a state file that belongs to one lease (the keep-alive policy, the alerts
already sent): it says its format and whose it is, and a reader takes nothing written in
another format or for another lease. Pure."""

from __future__ import annotations

from typing import Any, Dict, List

__all__ = ["lease_record", "listed"]


def lease_record(data: Any, fmt: str, field: str, lease: str, what: str) -> Dict[str, Any]:
    """``data`` if it is a ``fmt`` record whose ``field`` names ``lease``; else ValueError
    (``what``: the record's name in that one line)."""
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ValueError(f"not a {what}")
    if data.get(field) != lease:
        raise ValueError(f"a {what} of another lease")
    return data


def listed(data: Dict[str, Any], name: str) -> List[Any]:
    """``data[name]``, which must be a list; else ValueError."""
    value = data.get(name)
    if not isinstance(value, list):
        raise ValueError(f"{name} is not a list")
    return value

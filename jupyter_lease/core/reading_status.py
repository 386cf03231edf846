"""The status of any provider's lease from its :class:`Reading` alone: text, HTML and JSON for
``jupyter lease status`` and ``%lease`` where the provider is not ModelArts (whose status,
with ModelArts' own lease JSON and discovery sources, is :mod:`.status`). Pure: ``now`` is
passed in; the words are :func:`~.present.present`'s.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Dict, List, Optional, Tuple

from .duration import format_duration
from .present import Presentation, present
from .reading import Reading

__all__ = ["ReadingStatus", "StatusTable"]


class StatusTable:
    """(label, value) rows, rendered as text and as HTML from the one list (rich's way)."""

    def rows(self, local_tz: Optional[tzinfo] = None) -> List[Tuple[str, str]]:
        raise NotImplementedError

    def to_text(self, local_tz: Optional[tzinfo] = None) -> str:
        rows = self.rows(local_tz)
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}".rstrip() for name, value in rows)

    def to_html(self, local_tz: Optional[tzinfo] = None) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.rows(local_tz)
        )
        return f"<table class='jupyter-lease-status'>{cells}</table>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Dict[str, str]:
        return {"text/plain": self.to_text(), "text/html": self.to_html()}


@dataclass(frozen=True)
class ReadingStatus(StatusTable):
    """One reading at one instant (``now``: this host's epoch seconds), and whose it is."""

    reading: Reading
    now: float
    provider: str = ""  # "slurm"
    why: str = ""  # why this provider was chosen

    def presentation(self, local_tz: Optional[tzinfo] = None) -> Presentation:
        return present(self.reading, self.now, local_tz=local_tz)

    def headline(self) -> str:
        return self.presentation().headline

    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe: ``reading`` is THE reading JSON; the rest is it in plain terms, with
        ``deadline`` on this host's clock (ISO, UTC)."""
        shown = self.presentation()
        reading = self.reading
        return {
            "provider": self.provider,
            "provider_why": self.why,
            "source": reading.source,
            "source_id": reading.source_id,
            "kind": reading.kind,
            "deadline": None if shown.deadline_local is None else _iso(shown.deadline_local),
            "remaining_seconds": (
                None if shown.remaining_s is None else round(shown.remaining_s, 3)
            ),
            "headline": shown.headline,
            "can_extend": reading.can_extend,
            "reading": reading.to_json(),
            "checked_at": _iso(self.now),
        }

    def rows(self, local_tz: Optional[tzinfo] = None) -> List[Tuple[str, str]]:
        shown = self.presentation(local_tz)
        rows = [("Lease", self.reading.source or self.provider), ("Left", shown.headline)]
        if shown.detail:
            rows.append(("", shown.detail))
        if self.reading.kind == "timed":
            rows.append(("Extend", _extend_text(self.reading)))
        if self.provider:
            rows.append(
                ("Provider", f"{self.provider} ({self.why})" if self.why else self.provider)
            )
        return rows


def _extend_text(reading: Reading) -> str:
    if not reading.can_extend:
        return "not allowed for this user"
    if reading.extend_range is None:
        return "allowed"
    low, high = (format_duration(timedelta(seconds=v)) for v in reading.extend_range)
    return f"allowed, by {low} to {high}"


def _iso(seconds: float) -> str:
    when = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")

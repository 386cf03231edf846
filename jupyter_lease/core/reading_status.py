"""The status of any provider's lease from its :class:`Reading` alone: text, HTML and JSON for
``jupyter lease status`` and ``%lease`` where the provider is not ModelArts (whose status,
with ModelArts' own lease JSON and discovery sources, is :mod:`.status`). Pure: ``now`` is
passed in; the words are :func:`~.present.present`'s.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Dict, List, Optional, Tuple, TypeVar

from ..i18n import _, language
from .duration import format_duration
from .present import Presentation, present
from .reading import Reading

__all__ = ["ReadingOnlySource", "ReadingStatus", "StatusTable"]

S = TypeVar("S", bound="ReadingOnlySource")


class StatusTable:
    """(label, value) rows, rendered as text and as HTML from the one list (rich's way)."""

    def rows(self, local_tz: Optional[tzinfo] = None) -> List[Tuple[str, str]]:
        raise NotImplementedError

    def to_text(self, local_tz: Optional[tzinfo] = None) -> str:
        rows = self.rows(local_tz)
        width = max(_width(name) for name, __ in rows)
        return "\n".join(
            f"{name}{' ' * (width - _width(name))}  {value}".rstrip() for name, value in rows
        )

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

    def presentation(self, local_tz: Optional[tzinfo] = None, lang: str = "en") -> Presentation:
        return present(self.reading, self.now, local_tz=local_tz, lang=lang)

    def headline(self) -> str:
        """For people: in the process's language (``--json`` keeps English)."""
        return self.presentation(lang=language()).headline

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
        shown = self.presentation(local_tz, language())
        rows = [(_("Lease"), self.reading.source or self.provider), (_("Left"), shown.headline)]
        if shown.detail:
            rows.append(("", shown.detail))
        if self.reading.kind == "timed":
            rows.append((_("Extend"), _extend_text(self.reading)))
        if self.provider:
            rows.append(
                (_("Provider"), f"{self.provider} ({self.why})" if self.why else self.provider)
            )
        return rows


def _width(text: str) -> int:
    """Columns in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _extend_text(reading: Reading) -> str:
    if not reading.can_extend:
        return _("not allowed for this user")
    if reading.extend_range is None:
        return _("allowed")
    low, high = (format_duration(timedelta(seconds=v)) for v in reading.extend_range)
    return _("allowed, by {low} to {high}").format(low=low, high=high)


def _iso(seconds: float) -> str:
    when = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


class ReadingOnlySource:
    """The LeaseSource methods a provider whose status is its reading alone shares (Slurm's
    walltime, a JupyterHub server's stop): the lease is named by ``source_id``, ``status`` lays
    the reading out with ``PROVIDER``'s name, and a ``with`` block closes it."""

    PROVIDER = ""

    @property
    def source_id(self) -> str:
        raise NotImplementedError

    def identity(self) -> str:
        return self.source_id

    def status(
        self,
        reading: Reading,
        now: float,
        *,
        health: Optional[Dict[str, Any]] = None,
        why: str = "",
    ) -> ReadingStatus:
        """``reading`` laid out for ``status``: the reading is all there is."""
        return ReadingStatus(reading, now, self.PROVIDER, why)

    def close(self) -> None:
        """Nothing to close unless the provider says otherwise."""

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""An ordered chain of sources, first that works wins, every source tried recorded.

Discovery (notebook id, project id, region, endpoint) and credentials are both chains: a
:class:`Chain` of :class:`Link` s run against a context.  A link's ``fetch(context)`` returns a
:class:`Hit`, or ``None`` / raises :class:`NotSet` (nothing here), :class:`Skipped` (deliberately
not tried), :class:`Failed` (configured but broken) or :class:`Invalid` (a bad value).  Any other
exception is a bug in one source and counts as failed: it must not take the chain down.

Each link tried leaves one :class:`Record` — its source, the :class:`Outcome`, a one-line scrubbed
detail and the unconfirmed fact it relies on — which ``doctor`` shows as it is.  Pure: no I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Generic, List, Optional, Sequence, Tuple, TypeVar

from .._errors import scrub

__all__ = [
    "Chain",
    "Failed",
    "Hit",
    "Invalid",
    "Link",
    "NotSet",
    "Outcome",
    "Record",
    "Result",
    "Skipped",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
C = TypeVar("C")


class Outcome(str, Enum):
    """What one source gave; compares equal to its text (``record.outcome == "found"``)."""

    FOUND = "found"
    NOT_SET = "not set"
    SKIPPED = "skipped"
    FAILED = "failed"
    INVALID = "invalid"

    def __str__(self) -> str:  # the text, not ``Outcome.FOUND``, in messages
        return self.value


@dataclass(frozen=True)
class Record:
    """One source tried: what ``doctor`` lists and one-line errors name.

    ``detail`` is the value found (masked by the source if secret) or why nothing was found;
    it is made one line and scrubbed here, whatever the source forgot.  ``unconfirmed`` is the
    unconfirmed fact the source relies on ("" when none).
    """

    source: str
    outcome: Outcome
    detail: str = ""
    unconfirmed: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", Outcome(self.outcome))
        object.__setattr__(self, "detail", scrub(" ".join(str(self.detail).split())))

    @property
    def found(self) -> bool:
        return self.outcome is Outcome.FOUND

    @property
    def status(self) -> str:
        """One word for a report: ok, unconfirmed, missing, skipped or failed."""
        if self.found:
            return "unconfirmed" if self.unconfirmed else "ok"
        if self.outcome is Outcome.NOT_SET:
            return "missing"
        if self.outcome is Outcome.SKIPPED:
            return "skipped"
        return "failed"

    @property
    def label(self) -> str:
        """The source, flagged when it relies on an unconfirmed fact."""
        return f"{self.source} (unconfirmed)" if self.unconfirmed else self.source

    @property
    def value(self) -> str:
        """The detail when something was found, else ""."""
        return self.detail if self.found else ""

    @property
    def reason(self) -> str:
        """The detail when nothing was found, else ""."""
        return "" if self.found else self.detail

    def line(self) -> str:
        """``source (outcome: detail)`` for the ``tried`` list of an error."""
        return f"{self.source} ({self.outcome}{': ' + self.detail if self.detail else ''})"


@dataclass(frozen=True)
class Hit(Generic[T]):
    """What a link found: the value, and how to record it (defaults: the link's own)."""

    value: T
    detail: str = ""
    source: str = ""
    unconfirmed: str = ""


class NotSet(Exception):
    """Nothing here; the message, if any, says why."""


class Skipped(Exception):
    """Deliberately not tried; the message says why."""


class Failed(Exception):
    """Configured but broken (unreachable, unreadable); the message is one masked line."""


class Invalid(Exception):
    """A bad value; the message is the one-line reason. ``source`` names where it came from."""

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__(message)
        self.source = source


@dataclass(frozen=True)
class Link(Generic[C, T]):
    """A named source. ``strict`` links are values a person set: a bad one can stop the chain."""

    label: str
    fetch: Callable[[C], Optional[Hit[T]]]
    strict: bool = False
    unconfirmed: str = ""


@dataclass(frozen=True)
class Result(Generic[T]):
    """The winning hit (or ``None``), every record, and the invalid record that stopped us."""

    hit: Optional[Hit[T]]
    records: Tuple[Record, ...]
    stopped: Optional[Record] = None

    @property
    def winner(self) -> Optional[Record]:
        return self.records[-1] if self.hit is not None else None


class Chain(Generic[C, T]):
    """Links tried in order; the first hit wins. ``name`` (what is sought) is for the log,
    where a failed source goes at ``failure_level``."""

    def __init__(
        self, name: str, links: Sequence[Link[C, T]], *, failure_level: int = logging.DEBUG
    ) -> None:
        self.name = name
        self.links = list(links)
        self.failure_level = failure_level

    def run(
        self, context: C, *, stop_on_invalid: bool = True, secrets: Sequence[str] = ()
    ) -> Result[T]:
        """Try every link until one hits; with ``stop_on_invalid``, until a strict link is
        invalid too. ``secrets`` are scrubbed from every detail."""
        records: List[Record] = []
        for link in self.links:
            hit, record = _try(link, context, secrets)
            records.append(record)
            if record.outcome is Outcome.FAILED:
                log.log(
                    self.failure_level,
                    "%s from %s failed: %s",
                    self.name,
                    link.label,
                    record.detail,
                )
            if hit is not None:
                return Result(hit, tuple(records))
            if record.outcome is Outcome.INVALID and link.strict and stop_on_invalid:
                return Result(None, tuple(records), record)
        return Result(None, tuple(records))


def _try(link: Link[C, T], context: C, secrets: Sequence[str]) -> Tuple[Optional[Hit[T]], Record]:
    def record(outcome: Outcome, detail: object, source: str = "", unconfirmed: str = "") -> Record:
        text = scrub(str(detail), secrets)
        return Record(source or link.label, outcome, text, unconfirmed or link.unconfirmed)

    try:
        hit = link.fetch(context)
    except NotSet as exc:
        return None, record(Outcome.NOT_SET, exc)
    except Skipped as exc:
        return None, record(Outcome.SKIPPED, exc)
    except Invalid as exc:
        return None, record(Outcome.INVALID, exc, exc.source)
    except Failed as exc:
        return None, record(Outcome.FAILED, exc)
    except Exception as exc:  # a buggy source must not take the chain down
        log.debug("source %s crashed", link.label, exc_info=True)
        return None, record(Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    if hit is None:
        return None, record(Outcome.NOT_SET, "")
    return hit, record(Outcome.FOUND, hit.detail, hit.source, hit.unconfirmed)

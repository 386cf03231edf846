"""A ``Reading``: what one lease source said about its stop, the one value every view gets.

Pure: no I/O and no clock. A reading keeps the deadline **on the source's clock** and, beside
it, the measured offset between the source's clock and this host's: a re-measured offset then
moves nothing but the offset, and each view converts to its own clock once (see
:mod:`jupyter_lease.core.present` and ``static/present.js``).

:meth:`Reading.to_json` is the one JSON shape the browser gets, as the widget's synced state
and from the server extension alike; :func:`newer` says which of two readings to show.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from .._errors import APIError, BadResponseError, LeaseError, error_detail, rebuild_error, scrub

# ruff's target is 3.9 (the server side); kernels go down to 3.7, where these are a backport.
if sys.version_info >= (3, 8):
    from typing import Literal, Protocol, runtime_checkable
else:  # Python 3.7 kernels (ModelArts images): the backport
    from typing_extensions import Literal, Protocol, runtime_checkable

__all__ = [
    "JSON_VERSION",
    "KINDS",
    "MAX_SECONDS",
    "Kind",
    "LeaseSource",
    "Reading",
    "clip_words",
    "failure",
    "newer",
    "one_line",
]

Kind = Literal["timed", "idle", "off", "stopped", "unknown"]
# timed: stops at ``deadline``; idle: after ``idle_after`` of low use; off: auto-stop is off;
# stopped: the instance is not running; unknown: nothing read yet (or nothing readable).
KINDS: Tuple[str, ...] = ("timed", "idle", "off", "stopped", "unknown")
JSON_VERSION = 1
ERROR_LIMIT = 300  # characters: one line in a widget, a status bar tooltip, a log


def clip_words(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters at a word boundary, ending " …".
    A first word longer than ``limit`` is kept whole: an id or a path cut is no use to read."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    if cut <= 0:
        word = text.split(" ", 1)[0]
        return word if len(word) == len(text) else word + " …"
    return text[:cut].rstrip() + " …"


def one_line(text: Any, limit: int = ERROR_LIMIT) -> Optional[str]:
    """``text`` as one scrubbed line of at most ``limit`` characters; ``None`` when empty."""
    if text is None:
        return None
    line = scrub(" ".join(str(text).split()))
    if not line:
        return None
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True)
class Reading:
    """What a source said, and when. Instants are epoch seconds on the SOURCE's clock."""

    kind: str = "unknown"  # one of KINDS
    deadline: Optional[float] = None  # timed: when the instance stops (source clock)
    clock_offset: float = 0.0  # source clock − this host's clock, seconds, as measured
    read_at: Optional[float] = None  # source clock at the last successful read
    started_at: Optional[float] = None  # timed: start of the current period (last renewal)
    idle_after: Optional[float] = None  # idle: seconds of low use before the stop
    stale: bool = False  # the last attempt to read failed: this is the last known reading
    error: Optional[str] = None  # that failure, one scrubbed line (see one_line)
    source: str = ""  # for people: "ModelArts notebook 881ed162…"
    source_id: str = ""  # for keys: which lease this is (e.g. the full notebook id)
    can_extend: bool = False
    extend_range: Optional[Tuple[float, float]] = None  # seconds: what extend() accepts
    extend_choices: Tuple[str, ...] = field(default=())  # offered durations, e.g. "2h"
    off_label: str = ""  # off: the provider's words for it ("no time limit"); "": the default
    subject: str = ""  # what stops, in the provider's word ("job"); "": "instance"
    lower_bound: bool = False  # timed: the stop comes no earlier than ``deadline`` (a culler)
    stop_reason: str = ""  # timed: why it stops then, in the provider's words; "": unsaid
    # The provider's own data beside the reading, JSON-safe and opaque to everyone else (the
    # cache stores it, ``status --json`` shows it): ModelArts' raw lease, a failure's detail.
    # Never sent to the browser, never compared.
    extra: Optional[Mapping[str, Any]] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a reading's kind is one of {', '.join(KINDS)}, not {self.kind!r}")
        # Whoever built it, an error reaches every view (and saved notebooks) scrubbed.
        object.__setattr__(self, "error", one_line(self.error))

    def with_error(self, error: Any) -> Reading:
        """This reading as the last known one, after a failed read: stale, with the error.
        A :class:`LeaseError` is kept whole in ``extra`` too (:func:`failure` raises it again:
        its HTTP status, code and request id reach whoever answers for it)."""
        extra = {k: v for k, v in (self.extra or {}).items() if k != _FAILURE}
        if isinstance(error, LeaseError):
            extra[_FAILURE] = error_detail(error)
            error = scrub(str(error))
        return replace(self, stale=True, error=error, extra=extra or None)

    def stale_as(self, failed: Reading) -> Reading:
        """This (last good) reading, stale with ``failed``'s error and its detail."""
        detail = (failed.extra or {}).get(_FAILURE)
        extra = {k: v for k, v in (self.extra or {}).items() if k != _FAILURE}
        if detail:
            extra[_FAILURE] = detail
        return replace(self, stale=True, error=failed.error, extra=extra or None)

    def to_json(self) -> Dict[str, Any]:
        """THE browser's JSON (version :data:`JSON_VERSION`). Every time is whole ms:

        ``v``                   1
        ``kind``                timed | idle | off | stopped | unknown
        ``deadline_ms``         timed: the stop on the source's clock (epoch ms), else null
        ``clock_offset_ms``     source clock − the serving host's clock (ms); a view's deadline
                                on that host's clock is ``deadline_ms − clock_offset_ms``
        ``read_at_ms``          source clock at the last successful read; null before one
        ``started_at_ms``       timed: start of the current period, the progress bar's 0 %
        ``idle_after_ms``       idle: low use this long stops the instance
        ``stale``               true: the last read failed, this is the last known reading
        ``error``               that failure (or why nothing is known), one line, or null
        ``source``, ``source_id``   the lease for people, and as a key
        ``can_extend``          whether ``extend`` may be offered
        ``extend_range_ms``     [min, max] accepted by extend, or null
        ``extend_choices``      durations to offer, e.g. ["1h", "2h"]
        ``off_label``           off: the provider's words, e.g. "no time limit" (Slurm); ""
        ``subject``             what stops, in the provider's word: "job" (Slurm); "" = instance
                                for the default, "auto-stop is off"
        ``lower_bound``         true: the stop comes no earlier than the deadline ("at least";
                                JupyterHub's idle culler), false: at the deadline
        ``stop_reason``         why it stops then, e.g. "the hub's maximum age; cannot be
                                extended here"; "" unsaid
        """
        return {
            "v": JSON_VERSION,
            "kind": self.kind,
            "deadline_ms": _ms(self.deadline),
            "clock_offset_ms": _ms(self.clock_offset) or 0,
            "read_at_ms": _ms(self.read_at),
            "started_at_ms": _ms(self.started_at),
            "idle_after_ms": _ms(self.idle_after),
            "stale": self.stale,
            "error": self.error,
            "source": self.source,
            "source_id": self.source_id,
            "can_extend": self.can_extend,
            "extend_range_ms": (
                None if self.extend_range is None else [_ms(v) for v in self.extend_range]
            ),
            "extend_choices": list(self.extend_choices),
            "off_label": self.off_label,
            "subject": self.subject,
            "lower_bound": self.lower_bound,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_json(cls, data: Any) -> Reading:
        """Parse :meth:`to_json`'s shape; :class:`BadResponseError` (one line) otherwise."""
        if not isinstance(data, Mapping):
            raise _bad(f"is a {type(data).__name__}, not a JSON object")
        if data.get("v") != JSON_VERSION:
            raise _bad(f"has version {data.get('v')!r}; this jupyter_lease reads {JSON_VERSION}")
        kind = data.get("kind")
        if kind not in KINDS:
            raise _bad(f"has kind {kind!r}; expected one of {', '.join(KINDS)}")
        return cls(
            kind=kind,
            deadline=_seconds(data, "deadline_ms"),
            clock_offset=_seconds(data, "clock_offset_ms") or 0.0,
            read_at=_seconds(data, "read_at_ms"),
            started_at=_seconds(data, "started_at_ms"),
            idle_after=_seconds(data, "idle_after_ms"),
            stale=_typed(data, "stale", bool, False),
            error=_typed(data, "error", str, None),
            source=_typed(data, "source", str, ""),
            source_id=_typed(data, "source_id", str, ""),
            can_extend=_typed(data, "can_extend", bool, False),
            extend_range=_range(data),
            extend_choices=_choices(data),
            off_label=one_line(_typed(data, "off_label", str, ""), 60) or "",
            subject=one_line(_typed(data, "subject", str, ""), 20) or "",
            lower_bound=_typed(data, "lower_bound", bool, False),
            stop_reason=one_line(_typed(data, "stop_reason", str, "")) or "",
        )


def newer(a: Reading, b: Reading) -> Reading:
    """The reading to show: the later read wins, on the clock of the host that read it
    (``read_at - clock_offset``; never read is oldest). The source's clock would not do: each
    process measures its offset to it from 1-second ``Date`` headers, so a kernel's read made
    just before an Extend could look later than the Extend's own read-back. At the same read
    time a fresh one beats a stale one, else ``b`` (the one that arrived last)."""
    ta = -math.inf if a.read_at is None else a.read_at - a.clock_offset
    tb = -math.inf if b.read_at is None else b.read_at - b.clock_offset
    if ta != tb:
        return a if ta > tb else b
    return a if b.stale and not a.stale else b


_FAILURE = "failure"  # the key of a failure's detail in ``Reading.extra``


def failure(reading: Reading) -> LeaseError:
    """The error behind a stale ``reading``, to raise where a failure must be one (the CLI's
    exit code, the server's HTTP status): the very class, code and request id when the
    provider kept them (:meth:`Reading.with_error`), else an :class:`APIError` with its line."""
    detail = (reading.extra or {}).get(_FAILURE)
    if isinstance(detail, Mapping):
        return rebuild_error(detail)
    return APIError(reading.error or "the lease could not be read")


@runtime_checkable
class LeaseSource(Protocol):
    """Anything that can say when it stops the machine: ModelArts, the simulator, Slurm, a
    JupyterHub server. Every caller (watcher, cache, server, CLI, ``%lease``) uses this and
    nothing else: no capability is probed.

    ``read`` never raises for a failure upstream: it returns the last known reading marked
    stale, with the error (one scrubbed line; :func:`failure` gives the error back). ``extend``
    neither, but raises for a caller's mistake (a duration outside ``extend_range``; an idle or
    off lease without ``force``; a lease it would shorten; a user who may not extend).
    ``identity`` names the lease (a cache key; no secret). ``status`` lays a reading out for
    ``status`` and ``%lease status`` (text, HTML, ``to_dict`` for ``--json``, which includes the
    reading's opaque ``extra``, e.g. ModelArts' raw lease).
    """

    def read(self) -> Reading: ...

    def extend(self, seconds: float, force: bool = False) -> Reading: ...

    def describe(self) -> str: ...

    def identity(self) -> str: ...

    def status(
        self,
        reading: Reading,
        now: float,
        *,
        health: Optional[Dict[str, Any]] = None,
        why: str = "",
    ) -> Any: ...

    def close(self) -> None: ...


# -- JSON helpers ---------------------------------------------------------------------------

# Beyond ±year 2200 is nothing a source says: refuse it before datetime arithmetic.
MAX_SECONDS = 7_258_118_400.0
_MAX_MS = 7_258_118_400_000


def _bad(what: str) -> BadResponseError:
    return BadResponseError(f"the lease reading {what}")


def _ms(seconds: Optional[float]) -> Optional[int]:
    if seconds is None or not math.isfinite(seconds) or abs(seconds) * 1000 > _MAX_MS:
        return None  # JSON has no NaN or Infinity, and browsers reject them
    return int(round(seconds * 1000))


def _seconds(data: Mapping, name: str) -> Optional[float]:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"field {name!r} should be a number of ms, not {type(value).__name__}")
    if not math.isfinite(value) or abs(value) > _MAX_MS:
        raise _bad(f"field {name!r} is out of range")
    return value / 1000


def _typed(data: Mapping, name: str, kind: type, default: Any) -> Any:
    value = data.get(name, default)
    if value is not default and not isinstance(value, kind):
        raise _bad(f"field {name!r} should be {kind.__name__}, not {type(value).__name__}")
    return value


def _range(data: Mapping) -> Optional[Tuple[float, float]]:
    value = data.get("extend_range_ms")
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _bad("field 'extend_range_ms' should be [min, max]")
    low, high = (_seconds({"extend_range_ms": v}, "extend_range_ms") for v in value)
    if low is None or high is None or low > high:
        raise _bad("field 'extend_range_ms' should be [min, max]")
    return (low, high)


def _choices(data: Mapping) -> Tuple[str, ...]:
    value = data.get("extend_choices", [])
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _bad("field 'extend_choices' should be a list of durations")
    return tuple(value)

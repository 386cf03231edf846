"""Keep alive while busy: the policy's saved state, one record per lease.

One small JSON file per lease next to the lease cache (``jupyter_lease-keep-alive-<hash16>.json``
in :func:`~jupyter_lease.watch.cachedata.cache_dir`, the hash of the lease's identity,
:func:`~jupyter_lease.watch.sources.lease_identity`, which the file also names inside), read and
written with the cache's file safety (:mod:`jupyter_lease.watch.cachefile`: our own directory,
mode 0600, never through a link, size capped) and changed only under its own file lock: a server
restart keeps the policy and its cap, several servers on one instance share one policy, and two
servers for two leases sharing a runtime dir share nothing. It holds on/off, the cap, who turned
it on, a note (why it turned itself off), which run of the lease it belongs to (ModelArts'
``create_at``: a new run is a new lease, and its record starts empty) and the last
:data:`MAX_RENEWALS` automatic renewals of this lease. No secret, no token.

Times are epoch seconds on the lease's clock (see :mod:`jupyter_lease.server.busy_policy`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._errors import scrub
from ..core.records import lease_record, listed
from ..watch import cachefile as _cachefile
from ..watch.cachedata import cache_dir
from ..watch.filelock import FileLock

__all__ = ["MAX_RENEWALS", "PolicyState", "Renewal", "StateFile"]

FORMAT = "jupyter_lease.keep-alive/2"
MAX_RENEWALS = 50
MAX_TEXT = 160  # a reason or a "who": one short line each
# 50 renewals of ~300 bytes at most, and the rest: far below this, which bounds any read.
MAX_BYTES = 32768
_MAX_SECONDS = 7_258_118_400.0  # year 2200, as for the lease cache


@dataclass(frozen=True)
class Renewal:
    at: float  # when (lease clock)
    why: str  # "t.ipynb was running"
    until: float  # the new stop time (lease clock)
    added: float  # seconds the deadline moved

    @property
    def id(self) -> str:
        """Stable across clock offsets (``at`` is on the lease's clock): the page announces
        each renewal once by it."""
        return str(int(round(self.at * 1000)))


@dataclass(frozen=True)
class PolicyState:
    on: bool = False
    since: Optional[float] = None  # when it was turned on (lease clock)
    cap: Optional[float] = None  # no renewal past this stop time (lease clock)
    asked: str = ""  # what the person asked for: "for 8h", "until 18:00"
    by: str = ""  # who turned it on or off: "config", "cli", "panel (alice)"
    note: str = ""  # why it is off when nobody turned it off (e.g. credentials refused)
    run: Optional[float] = None  # the lease's start (ModelArts create_at, s): which run it is
    renewals: Tuple[Renewal, ...] = field(default_factory=tuple)

    @property
    def last_renewal(self) -> Optional[Renewal]:
        return self.renewals[-1] if self.renewals else None

    def with_renewal(self, renewal: Renewal) -> PolicyState:
        return replace(self, renewals=(*self.renewals, renewal)[-MAX_RENEWALS:])

    def to_json(self, lease: str) -> Dict[str, Any]:
        data = asdict(self)
        data["renewals"] = [asdict(r) for r in self.renewals]
        data["format"] = FORMAT
        data["lease"] = lease
        return data

    @classmethod
    def from_json(cls, data: Any, lease: str) -> PolicyState:
        """``ValueError`` for anything this format did not write for this lease."""
        data = lease_record(data, FORMAT, "lease", lease, "keep-alive state file")
        renewals = listed(data, "renewals")
        return cls(
            on=data.get("on") is True,
            since=_time(data.get("since")),
            cap=_time(data.get("cap")),
            asked=_text(data.get("asked")),
            by=_text(data.get("by")),
            note=_text(data.get("note")),
            run=_time(data.get("run")),
            renewals=tuple(_renewal(r) for r in renewals[-MAX_RENEWALS:]),
        )


def _time(value: Any, allow_none: bool = True) -> Optional[float]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a time is not a number")
    if not -_MAX_SECONDS <= value <= _MAX_SECONDS:  # False for NaN too
        raise ValueError("a time is out of range")
    return float(value)


def _text(value: Any) -> str:
    return scrub(" ".join(value.split()))[:MAX_TEXT] if isinstance(value, str) else ""


def _renewal(data: Any) -> Renewal:
    if not isinstance(data, dict):
        raise ValueError("a renewal is not an object")
    at, until, added = (_time(data.get(k), allow_none=False) for k in ("at", "until", "added"))
    assert at is not None and until is not None and added is not None
    return Renewal(at=at, why=_text(data.get("why")), until=until, added=added)


class StateFile:
    """The state file. :meth:`load` never raises (an unusable file is "off", with a note);
    :meth:`update` applies a change under the lock and raises ``OSError`` /
    :class:`~jupyter_lease.watch.cachefile.UnsafeCache` when it cannot be saved."""

    def __init__(
        self, lease: str, directory: Optional[str] = None, lock_timeout: float = 10.0
    ) -> None:
        self.lease = lease  # watch.sources.lease_identity of the lease this record is for
        self.directory = directory or cache_dir()
        digest = hashlib.sha256(f"keep-alive\n{lease}".encode()).hexdigest()[:16]
        self.path = os.path.join(self.directory, f"jupyter_lease-keep-alive-{digest}.json")
        self.lock_timeout = lock_timeout

    def load(self) -> PolicyState:
        try:
            _cachefile.check_dir(self.directory)
            raw = _cachefile.read(self.path, MAX_BYTES)
            if raw is None:
                return PolicyState()
            return PolicyState.from_json(json.loads(raw.decode("utf-8")), self.lease)
        except FileNotFoundError:
            return PolicyState()
        except Exception as exc:  # a planted, corrupt or foreign file is no policy
            note = scrub(str(exc)) if isinstance(exc, _cachefile.UnsafeCache) else ""
            return PolicyState(note=note or f"the saved state is unusable ({type(exc).__name__})")

    def update(self, change: Callable[[PolicyState], PolicyState]) -> PolicyState:
        _cachefile.prepare_dir(self.directory)
        with FileLock(self.path[: -len(".json")] + ".lock", timeout=self.lock_timeout):
            state = change(self.load())
            data = json.dumps(state.to_json(self.lease), separators=(",", ":")).encode("utf-8")
            _cachefile.write(self.path, data, MAX_BYTES)
            return state

    def forget(self) -> None:
        """The lease has ended: its record goes (under the lock; gone already is fine)."""
        _cachefile.prepare_dir(self.directory)
        lock = FileLock(self.path[: -len(".json")] + ".lock", timeout=self.lock_timeout)
        with lock, contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def renewals_json(state: PolicyState, offset: float) -> List[Dict[str, Any]]:
    """The renewals for the HTTP API: times in ms on this host's clock."""
    return [
        {
            "id": r.id,
            "at_ms": _local_ms(r.at, offset),
            "why": r.why,
            "until_ms": _local_ms(r.until, offset),
            "added_ms": int(round(r.added * 1000)),
        }
        for r in state.renewals
    ]


def _local_ms(at: float, offset: float) -> int:
    return int(round((at - offset) * 1000))

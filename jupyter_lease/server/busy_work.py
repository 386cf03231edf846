"""Keep alive while busy: the declared work (``keep_alive()`` in code), under one lock.

The map changes on the event loop (a DELETE, the periodic check dropping expired work) and on
the lease service's threads (a registration, which reads the policy first; switching off; a
401), and is read on both (the check, the view): every access holds :attr:`DeclaredWork._lock`
and readers get copies, never the dict itself.

Work cleared because the policy was switched off is remembered (bounded): its next heartbeat is
refused (409) with the reason, so a ``keep_alive()`` block stops instead of registering again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from .._errors import UsageError

__all__ = ["MAX_TTL", "MAX_WORK", "Declared", "DeclaredWork", "WorkRefused"]

MAX_WORK = 64  # declared work items at once: a runaway client cannot grow the server
MAX_TTL = 3600.0
MAX_CANCELLED = 256


class WorkRefused(UsageError):
    """The server will not count this work (HTTP 409): another lease, the policy off, a
    margin or step it cannot honour. One line, which ``keep_alive()`` keeps as its note."""


@dataclass(frozen=True)
class Declared:
    label: str
    expiry: float  # this host's clock
    cap: Optional[float]  # lease clock; None: the policy's
    margin: Optional[float] = None  # seconds; None: the policy's
    step: Optional[float] = None


class DeclaredWork:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._items: Dict[str, Declared] = {}
        self._cancelled: OrderedDict[str, str] = OrderedDict()

    def put(
        self,
        work_id: str,
        label: str,
        ttl: float,
        cap_if_new: Callable[[], Optional[float]],
        margin: Optional[float] = None,
        step: Optional[float] = None,
    ) -> None:
        """Register or heartbeat (a heartbeat keeps the first cap)."""
        expiry = self._clock() + min(ttl, MAX_TTL)
        with self._lock:
            reason = self._cancelled.get(work_id)
            if reason is not None:
                raise WorkRefused(reason)
            previous = self._items.get(work_id)
            if previous is None and len(self._items) >= MAX_WORK:
                raise UsageError(f"too many work registrations (at most {MAX_WORK})")
            cap = previous.cap if previous is not None else cap_if_new()
            self._items[work_id] = Declared(label, expiry, cap, margin, step)

    def pop(self, work_id: str) -> bool:
        with self._lock:
            return self._items.pop(work_id, None) is not None

    def live(self) -> List[Tuple[str, Declared]]:
        """The unexpired work, sorted by id (expired work is dropped)."""
        now = self._clock()
        with self._lock:
            for work_id in [k for k, d in self._items.items() if d.expiry <= now]:
                del self._items[work_id]
            return sorted(self._items.items())

    def cancel_all(self, reason: str) -> int:
        """Clear every registration; their heartbeats are refused with ``reason``."""
        with self._lock:
            for work_id in self._items:
                self._cancelled[work_id] = reason
            while len(self._cancelled) > MAX_CANCELLED:
                self._cancelled.popitem(last=False)
            count = len(self._items)
            self._items.clear()
            return count

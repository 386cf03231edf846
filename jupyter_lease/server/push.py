"""The server pushes: every open page learns of a new reading of its lease within a second.

Whoever changes the lease — a cell's ``%lease extend``, ``jupyter lease extend`` in a terminal,
another server, keep-alive, or ModelArts itself at the next read — writes the shared cache file
(:mod:`jupyter_lease.watch.cacheslot`), so watching that one file is enough. Twice a second, on
the server's IOLoop, :class:`LeasePusher` compares the file's ``stat`` (no read, no lock). When
it changed, the view of the file as it is (no upstream call) is built on the service's worker
threads; every :data:`REREAD_S`, the service's own view — the one ``GET …/api/lease`` answers,
read upstream when the cache's schedule says it is due — so that ModelArts' answer comes in
even when no page asks. A view that differs from the last one pushed is emitted on
jupyter_server's event bus (``/api/events/subscribe``, which JupyterLab's
``serviceManager.events`` stream delivers to the page); the last one again every
:data:`HEARTBEAT_S`, for pages whose event socket connected since.

jupyter_server 1.x has no event bus: there the pusher is not started and the pages poll.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional

from .latest import Inputs

__all__ = ["SCHEMA", "SCHEMA_ID", "LeasePusher", "start_push"]

SCHEMA_ID = "https://events.jupyter.org/jupyter_lease/lease/v1"
SCHEMA: Dict[str, Any] = {
    "$id": SCHEMA_ID,
    "version": "1",
    "title": "The lease of this Jupyter server's machine",
    "description": "What GET jupyter-lease/api/lease answers, pushed when it changes.",
    "type": "object",
    "required": ["reading", "now_ms"],
    "properties": {
        "reading": {"type": "object", "description": "Reading.to_json()"},
        "now_ms": {"type": "integer", "description": "this host's clock as it was sent"},
        "keep_alive": {"type": "object", "description": "keep alive while busy, if on"},
        "settings": {"type": "object", "description": "c.JupyterLease for the page"},
    },
}
TICK_S = 0.5  # a stat of one file: nothing, twice a second
# The server reads upstream itself only when nobody else has (no kernel, page or CLI wrote the
# cache file) for a whole poll interval and this much more: each interval makes one read.
GRACE_S = 5.0
# The last view is sent again this often, changed or not: a page whose event socket connected
# (or reconnected) after the last change has it within this time. One small frame per page.
HEARTBEAT_S = 10.0

log = logging.getLogger(__name__)


class LeasePusher:
    """Watches the service's cache file; emits the view when it changes (see the module)."""

    def __init__(
        self,
        service: Any,
        emit: Callable[[Dict[str, Any]], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self._emit = emit
        self._clock = clock
        self._stamp: Optional[Inputs] = None
        # When the cache file last changed, or we last read: a page's first GET reads at once.
        self._quiet_since = clock()
        self._pushed: Optional[str] = None
        self._last: Optional[Dict[str, Any]] = None
        self._newest: Optional[Dict[str, Any]] = None  # the service's newest view, last looked at
        self._pushed_at = float("-inf")
        self._left: Optional[timedelta] = None  # time left in the last view, for the schedule
        self._busy = False
        # Called with every view built (the server-side alerts: jupyter_lease.notify).
        self.observers: List[Callable[[Dict[str, Any]], None]] = []
        self.callback: Any = None  # the IOLoop's PeriodicCallback, once started

    def stop(self) -> None:
        """No more checks (the server stops); a build in flight finishes on its own."""
        if self.callback is not None:
            self.callback.stop()

    def due(self) -> Optional[Callable[[], Optional[Dict[str, Any]]]]:
        """What to build now: the cache file as it is, when it or another input of the view
        (:meth:`~.service.LeaseService.stamp`) changed; the service's view
        (read upstream) when nobody has read for a poll interval and GRACE_S; else None."""
        source = self.service.built()
        if source is None or self._busy:
            return None
        stamp = self.service.stamp()  # the cache file, and the view's other inputs
        if stamp != self._stamp:
            if self._stamp is None or stamp is None or stamp[0] != self._stamp[0]:
                self._quiet_since = self._clock()  # someone wrote a reading: not quiet
            self._stamp = stamp
            return self.service.cached_view
        interval = self.service.schedule.next_poll(self._left)
        if self._clock() - self._quiet_since >= interval + GRACE_S:
            return self.service.lease
        return None

    async def tick(self) -> None:
        """One check (the IOLoop's PeriodicCallback calls it twice a second); never raises."""
        work = self.due()
        if work is None:
            # The newest view the server built (a GET's refresh, an Extend, a failed read that
            # marked it stale with the error): pages learn of it without reading.
            newest, _stamp = self.service.latest.get()
            if newest is not None and newest is not self._newest:  # not one dumps per tick
                self._newest = newest
                if self.push(newest):
                    return
            if self._last is not None and self._clock() - self._pushed_at >= HEARTBEAT_S:
                self.push(dict(self._last, now_ms=int(round(time.time() * 1000))), again=True)
            return
        self._busy = True
        try:
            view = await self.service.offload.shared(work)
        except Exception as exc:  # a failed read is the GET's to report; the page keeps its own
            log.debug("jupyter_lease: no lease view to push: %s", type(exc).__name__)
            return
        finally:
            if work == self.service.lease:  # tried upstream: quiet for another interval
                self._quiet_since = self._clock()
            self._busy = False
        if view is not None:
            self._left = _time_left(view, time.time())
            for observe in self.observers:
                observe(view)
            self.push(view)

    def push(self, view: Dict[str, Any], *, again: bool = False) -> bool:
        """Emit ``view`` unless the same reading, keep-alive and settings went out last (or
        ``again``: the heartbeat)."""
        key = json.dumps({k: v for k, v in view.items() if k != "now_ms"}, sort_keys=True)
        if key == self._pushed and not again:
            return False
        self._pushed, self._last, self._pushed_at = key, view, self._clock()
        try:
            self._emit(view)
        except Exception as exc:  # the bus must never take the lease API down
            log.debug("jupyter_lease: push failed: %s", type(exc).__name__)
            return False
        return True


def _time_left(view: Dict[str, Any], now: float) -> Optional[timedelta]:
    """The time left in a view's reading at ``now`` (this host's clock), for the schedule."""
    reading = view.get("reading") or {}
    deadline_ms = reading.get("deadline_ms")
    if reading.get("kind") != "timed" or not isinstance(deadline_ms, (int, float)):
        return None
    offset_ms = reading.get("clock_offset_ms") or 0
    return timedelta(seconds=max(0.0, (deadline_ms - offset_ms) / 1000 - now))


def start_push(serverapp: Any, service: Any) -> Optional[LeasePusher]:
    """Register the event schema and start the one-second check; None on jupyter_server 1.x."""
    event_logger = getattr(serverapp, "event_logger", None)
    if event_logger is None:
        return None
    from tornado.ioloop import PeriodicCallback

    event_logger.register_event_schema(SCHEMA)

    def emit(view: Dict[str, Any]) -> None:
        event_logger.emit(schema_id=SCHEMA_ID, data=view)

    pusher = LeasePusher(service, emit)
    pusher.callback = PeriodicCallback(pusher.tick, TICK_S * 1000)
    pusher.callback.start()
    return pusher

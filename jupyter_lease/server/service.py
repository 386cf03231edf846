"""The lease service behind the server extension: no tornado, no jupyter_server.

:class:`LeaseService` builds the server's one lease source on first use and answers what the
handlers (:mod:`.handlers`, routed by :mod:`.routes`, loaded by :mod:`.loader`) ask: the
lease view, an Extend, the view of the shared cache file as it is. Its methods block; they run
on the extension's own two worker threads (:class:`Offload`), never on the event loop and never
on asyncio's default executor, which jupyter_server's own handlers use: a slow ModelArts must
not stall ``/api/kernelspecs`` and the rest of Jupyter. Concurrent reads share one in-flight
read.

A GET never waits on an upstream refresh: :meth:`LeaseService.answer` serves the newest view
this server has built (:mod:`.latest`) and refreshes behind it; only the very first read, with
nothing known yet, waits (bounded).

Building the source may fail (not on ModelArts, no credentials): the failure is one line (a
WARNING once in the log, 503 to the page) and is tried again after ``CONFIG_RETRY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, TypeVar

from .._errors import (
    APIError,
    ConfigurationError,
    ExtendRefusedError,
    LeaseError,
    UsageError,
    scrub,
)
from ..core.reading import Reading, failure, one_line
from ..core.schedule import PollSchedule
from ..watch.cache import CachedSource
from .latest import (
    CHANGED_WAIT_S,
    FIRST_READ_WAIT_S,
    REFRESH_EVERY_S,
    Inputs,
    Latest,
    file_stamp,
    remembered,
)

__all__ = ["CONFIG_RETRY", "LeaseService", "Offload", "lease_view"]

CONFIG_RETRY = 30.0  # seconds before a failed discovery is tried again
# One thread for the (shared) read, one for an Extend: a stalled ModelArts holds at most these.
WORKERS = 2

SourceFactory = Callable[[], CachedSource]
T = TypeVar("T")


def lease_view(reading: Reading, *, now: Optional[float] = None) -> Dict[str, Any]:
    """The JSON the browser gets: ``{"reading": Reading.to_json(), "now_ms": ...}``.

    ``reading`` is the same JSON a kernel's widget syncs (the deadline on ModelArts' clock,
    the offset beside it); ``now_ms`` is this host's clock as it answers, which the page uses
    to measure its own clock against this host's. Other fields may come beside these two.
    """
    local_now = time.time() if now is None else now
    return {
        "reading": reading.to_json(),
        "now_ms": int(round(local_now * 1000)),
    }


class Offload:
    """The extension's own small thread pool, and single flight for lease reads.

    :meth:`run` runs blocking work on the pool; :meth:`shared` does too, unless the same
    ``work`` is already in flight in this process, whose result (or exception) every waiter
    then gets: eight tabs opening at once make one upstream read and hold one thread, not
    eight. Extends go through :meth:`run`, never merged: each is a RenewLease someone asked for.
    """

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jupyter-lease")
        self._flights: Dict[Callable[[], Any], asyncio.Future] = {}

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def shared(self, work: Callable[[], T]) -> T:
        """``run(work)``, or join the same ``work`` still in flight (bound methods of one
        object compare equal, so ``service.lease`` is one key however often it is spelled)."""
        flight = self._flights.get(work)
        if flight is None or flight.done():
            flight = self._flights[work] = asyncio.ensure_future(self.run(work))
        # shield: a waiter that goes away must not cancel the read the others wait for.
        return await asyncio.shield(flight)

    def shutdown(self) -> None:
        """Stop taking work; idle threads exit now, a call in flight when it returns. Shared
        reads still awaited are cancelled: no task is left pending when the loop closes."""
        self._pool.shutdown(wait=False)
        flights, self._flights = list(self._flights.values()), {}
        for flight in flights:
            _cancel(flight)


class LeaseService:
    """The server's one lease source, built on first use. Every method blocks: the handlers
    run them on :attr:`offload`'s threads."""

    def __init__(
        self,
        log: logging.Logger,
        *,
        base_url: str = "/",
        factory: Optional[SourceFactory] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.base_url = base_url
        self._factory = factory or self._default_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._source: Optional[CachedSource] = None
        self._failure: Optional[LeaseError] = None
        self._failed_at = float("-inf")
        self._logged: Optional[str] = None
        self._reported: weakref.WeakSet = weakref.WeakSet()
        self._stopped: Optional[Any] = None  # the stopped reading, once ShowNotebook agreed
        self.offload = Offload()
        self.schedule = PollSchedule()  # the read intervals; c.JupyterLease.poll_* may set them
        # Adds the keep-alive policy's summary to every lease view (set by _busy_server).
        self.keep_alive: Optional[Callable[[], Dict[str, Any]]] = None
        # c.JupyterLease for the page (server/frontend.py), checked once at load.
        self.settings: Optional[Dict[str, Any]] = None
        # True once server/push.py pushes new readings to the pages (jupyter_server 2's event
        # bus): they then read over HTTP only when they open, show again or reconnect.
        self.pushing = False
        self.notify: Optional[Any] = None  # the server-side alerts (server/notify_server.py)
        # The view's inputs beside the cache file, each a cheap token that changes with it: a
        # view built before one changed is rebuilt at the next GET and pushed (keep-alive's
        # record, written by any server of the lease; the alerts' last outcome).
        self.view_inputs: List[Callable[[], Any]] = []
        self.latest = Latest()  # the newest view built: what a GET answers at once
        self.first_wait = FIRST_READ_WAIT_S  # the first GET's bound on the first read
        self.refresh_every = REFRESH_EVERY_S  # a refresh behind the GETs at most this often
        self._refresh_at = float("-inf")

    def source(self) -> CachedSource:
        """The lease source; :class:`ConfigurationError` (one line) when not on ModelArts.

        A failure is remembered for ``CONFIG_RETRY`` seconds: resolving credentials may ask IAM
        or the metadata service, and a page polling this API must not turn into a login loop
        (IAM and the API gateway lock accounts after repeated failures).
        """
        with self._lock:
            if self._source is not None:
                return self._source
            if self._failure is not None and self._clock() - self._failed_at < CONFIG_RETRY:
                raise self._failure
            try:
                self._source = self._factory()
            except LeaseError as exc:
                self._failure, self._failed_at = exc, self._clock()
                self._log_once(f"jupyter_lease: the lease API is unavailable: {scrub(str(exc))}")
                raise
            self._failure = None
            self.log.debug("jupyter_lease: serving the lease of %s", self._source.describe())
            return self._source

    def built(self) -> Optional[CachedSource]:
        """The lease source if it has been built; never builds it (no I/O)."""
        return self._source

    def stamp(self) -> Optional[Inputs]:
        """What a view is built from, as it is now (None before the source is built): the
        shared cache file's ``stat`` stamp, then each of :attr:`view_inputs` (cheap, no lock
        held for long: a GET compares it on the event loop)."""
        source = self.built()
        if source is None:
            return None
        return (file_stamp(source.path), *(token() for token in self.view_inputs))

    async def answer(self) -> Dict[str, Any]:
        """GET, on the event loop: the newest view at once, refreshed behind it; a wait only
        when the cache file changed since (briefly) or nothing is known yet (see :mod:`.latest`)."""
        view, stamp = self.latest.get()
        if view is not None and stamp == self.stamp():
            if self._refresh_due():
                self._refresh_at = self._clock()
                # Started once this answer is written: the read's thread then takes the GIL
                # from the next request, not from this one.
                asyncio.get_running_loop().call_soon(self._refresh)
            return _now(view)
        flight = self._refresh()
        wait = self.first_wait if view is None else CHANGED_WAIT_S
        try:
            fresh = await asyncio.wait_for(asyncio.shield(flight), wait)
            return _now(self.latest.get()[0] or fresh)  # (unless a newer one came meanwhile)
        except asyncio.TimeoutError:
            if view is None:
                raise APIError(
                    "the lease is still being read (ModelArts is slow to answer); try again"
                ) from None
        except LeaseError:
            if view is None:
                raise
        # The refresh takes longer, or failed (_refreshed marked the view stale): the newest.
        return _now(self.latest.get()[0] or view)

    def _refresh_due(self) -> bool:
        """A refresh behind this GET: at most one every ``refresh_every`` s, and only once the
        reading is due for one (in memory: no thread, no file read while the cache is fresh)."""
        if self._clock() - self._refresh_at < self.refresh_every:
            return False
        source = self.built()
        if source is None:
            return True
        return self._stopped is None and source.due()  # a confirmed stop is never re-read

    def _refresh(self) -> asyncio.Future:
        """Start (or join) the shared read; its failure is kept on the remembered view."""
        self._refresh_at = self._clock()
        flight = asyncio.ensure_future(self.offload.shared(self.lease))
        flight.add_done_callback(self._refreshed)
        return flight

    def _refreshed(self, flight: asyncio.Future) -> None:
        """A refresh failed: one WARNING line per failure (as a GET's own), and the view
        remembered is now the last known one, stale, with the error."""
        exc = None if flight.cancelled() else flight.exception()
        if exc is None or isinstance(exc, ConfigurationError):  # source() logged that once
            return
        if self.first_report(exc):
            line = scrub(str(exc)) if isinstance(exc, LeaseError) else type(exc).__name__
            self.log.warning("jupyter_lease: reading the lease: %s", line)
        view, stamp = self.latest.get()
        if view is not None and isinstance(exc, LeaseError):
            reading = dict(view["reading"], stale=True, error=one_line(str(exc)))
            self.latest.remember(dict(view, reading=reading), stamp)

    @remembered
    def lease(self) -> Dict[str, Any]:
        """GET: the cached reading (read upstream only when the cache is due)."""
        source = self.source()
        if self._stopped is not None:
            return self._view(source, self._stopped)
        reading = source.read()
        if reading.kind == "stopped" and not reading.stale:
            self._confirm_stop(reading)
        return self._view(source, reading)

    def _confirm_stop(self, reading: Reading) -> None:
        """The stopped reading (the provider confirmed it: ModelArts' ShowNotebook, Slurm's
        queue), kept for the rest of this server's life: a stopped instance takes its Jupyter
        server with it, and one that starts again starts a new server."""
        self._stopped = reading
        self.log.info("jupyter_lease: %s has stopped", reading.source)

    @remembered
    def cached_view(self) -> Optional[Dict[str, Any]]:
        """The view of what the shared cache file holds now, or None: no lock, no upstream
        call, never builds the source (the push, after another process wrote the file)."""
        source = self.built()
        if source is None:
            return None
        reading = self._stopped or source.cached()
        return None if reading is None else self._view(source, reading)

    def _with_extras(self, view: Dict[str, Any]) -> Dict[str, Any]:
        """What every lease view carries beside the reading, whichever the provider: the
        keep-alive policy's summary, the page's settings (``c.JupyterLease``) and whether
        this server pushes."""
        if self.keep_alive is not None:
            view["keep_alive"] = self.keep_alive()
        if self.settings is not None:
            view["settings"] = self.settings
        if self.pushing:
            view["push"] = True
        if self.notify is not None and self.notify.sender.status() is not None:
            view["notify"] = self.notify.sender.status()  # the alerts' last outcome, one line
        return view

    @remembered
    def extend(
        self, duration: str, force: bool = False, basis: Optional[float] = None
    ) -> Dict[str, Any]:
        """POST extend: RenewLease, then the lease read back, in the GET shape (an IDLE or
        auto-stop-off lease only with ``force``: ExtendRefusedError, the caller answers 409)."""
        from ..core.duration import format_duration, parse_duration

        wanted = parse_duration(duration)  # DurationError: the caller answers 400
        source = self.source()
        if self._stopped is not None:
            raise ExtendRefusedError(
                f"not extended: {self._stopped.source} has stopped on its timer — start it "
                "again from the ModelArts console"
            )
        # A mistake raises (400/403/409); ``basis``: the deadline the page showed (one end
        # time per request, whoever asks again for it).
        reading = source.extend(wanted.total_seconds(), force, basis=basis)
        if reading.stale:  # the change was not confirmed: 502 with ModelArts' code
            raise failure(reading)
        self.log.info("jupyter_lease: %s extended by %s", reading.source, format_duration(wanted))
        return self._view(source, reading)

    def _view(self, source: CachedSource, reading: Reading) -> Dict[str, Any]:
        """``reading`` in the GET shape; when nothing is known at all, its error."""
        self._report_cache(source)
        if reading.stale and reading.read_at is None:
            raise failure(reading)
        return self._with_extras(lease_view(reading))

    def warm_up(self) -> None:
        """Build the source in the background at start, so the first page load is quick and
        a missing configuration is logged at start rather than at the first request."""
        try:
            self.source()
        except LeaseError:
            pass  # logged once by source()
        except Exception as exc:  # never let a warm-up thread print a traceback
            self.log.warning("jupyter_lease: lease source failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Shut the worker threads down and close the lease source's HTTP session."""
        self.offload.shutdown()
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            source.close()

    def first_report(self, exc: BaseException) -> bool:
        """True the first time ``exc`` is reported: the waiters of one shared read all get the
        same exception, and one failure is one line in the log, not one per waiter."""
        try:
            if exc in self._reported:
                return False
            self._reported.add(exc)
        except TypeError:  # a built-in exception (a bug's TypeError) takes no weak reference
            pass
        return True

    def _report_cache(self, source: CachedSource) -> None:
        # A cache that cannot be used (e.g. a runtime dir other users can write to) costs one
        # upstream call per request: worth one line in the server log, not one per request.
        if source.cache_problem is not None:
            self._log_once(f"jupyter_lease: the lease cache is not used: {source.cache_problem}")

    def _log_once(self, line: str) -> None:
        if line != self._logged:
            self._logged = line
            self.log.warning(line)

    def _default_factory(self) -> CachedSource:
        from ..watch.sources import build_source

        try:
            # This server's base_url names the notebook on ModelArts (a guess, confirmed on the
            # first call); JUPYTER_LEASE_NOTEBOOK_ID still wins.
            hint = {"server_base_url": self.base_url}
            return build_source(hint, schedule=lambda: self.schedule)
        except UsageError as exc:
            if isinstance(exc, ConfigurationError):
                raise
            raise ConfigurationError(str(exc)) from None


def _now(view: Dict[str, Any]) -> Dict[str, Any]:
    """``view`` as answered now: ``now_ms`` is this host's clock as it answers."""
    return dict(view, now_ms=int(round(time.time() * 1000)))


def _cancel(flight: asyncio.Future) -> None:
    """Cancel ``flight`` from any thread; nothing to do once its loop has closed (at exit)."""
    loop = flight.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        flight.cancel()
        return
    with contextlib.suppress(RuntimeError):  # closed
        loop.call_soon_threadsafe(flight.cancel)

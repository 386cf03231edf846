"""Keep alive while busy: the server side (the decision itself is :mod:`._busy_policy`).

Only the Jupyter server sees every kernel's execution state while the kernels are busy, so it
is the one place that can keep an instance running while a long cell runs. A periodic callback
on the server's IOLoop (:class:`BusyKeeper`) reads which kernels are busy (jupyter_server's
``execution_state``, updated from each kernel's IOPub status messages: a kernel started later
counts from its first busy status; an interrupted kernel goes idle and a dead one leaves the
kernel manager, so either stops counting), adds declared work (``keep_alive()`` in code,
registered over HTTP with a time to live), and — only when something is busy — reads the
lease through the shared cache and asks the policy. A renewal re-reads the lease upstream and
decides again under the cache's file lock (:meth:`CachedLeaseSource.renew_if`): one decision
per instance, however many server processes share the runtime dir. Everything blocking runs on
the lease service's own threads, never on the event loop.

ModelArts refusing the credentials (401/403) turns the policy off with one recorded line: the
gateway locks keys after 5 failures, so it is never retried.

The policy belongs to the lease this server serves (:func:`~..watch.sources.lease_identity`):
its record (:mod:`.busy_state`) is that lease's alone, and is forgotten when the lease ends
(the instance stopped, or a new run of it began). Declared work counts only while the policy is
on, from a ``keep_alive()`` of the same lease, with the margin and step it asked for; switching
the policy off clears it.

Configuration (``jupyter_server_config.py``): ``c.JupyterLease.renew_while_busy = "8h"`` turns
the policy on for a lease that has no record yet, with a cap of 8 h from the first look (a
record of this run of the lease is kept instead: a restart never re-arms or extends a cap,
even one that has passed); ``renew_max_cap`` (24h) bounds every cap; ``renew_margin``,
``renew_step``, ``renew_check_every`` tune it; ``poll_far`` / ``poll_near`` / ``poll_final``
are the server's lease-read intervals, named as the kernels' ``%config JupyterLease`` traits.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._errors import (
    APIError,
    AuthenticationError,
    DurationError,
    LeaseError,
    NotRunningError,
    PermissionDeniedError,
    UsageError,
    scrub,
)
from ..core.duration import parse_duration
from ..settings import JupyterLease
from ..watch.cachedata import CacheEntry
from ..watch.sources import lease_identity
from .busy_config import DEFAULT_CAP, Settings, check_registration, summary, view
from .busy_config import duration_text as _d
from .busy_policy import (
    Decision,
    LeaseNow,
    Policy,
    Work,
    clock_time,
    decide,
)
from .busy_state import PolicyState, Renewal, StateFile
from .busy_work import DeclaredWork, WorkRefused

__all__ = ["BusyKeeper", "JupyterLease", "Settings", "start_keep_alive"]


class BusyKeeper:
    """The periodic check, the declared work, and the state behind the HTTP API."""

    def __init__(
        self,
        serverapp: Any,
        service: Any,
        settings: Settings,
        directory: Optional[str] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.serverapp, self.service, self.settings = serverapp, service, settings
        self.log = serverapp.log
        self.directory = directory  # None: next to the lease's cache file
        self.clock = clock
        self.declared = DeclaredWork(clock)
        self.status = Decision(reason="starting")
        self.busy: List[str] = []
        self._store: Optional[StateFile] = None
        self._armed = False  # the record has had its first look (renew_while_busy, a new run)
        self._callback: Any = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        from tornado.ioloop import PeriodicCallback

        self._callback = PeriodicCallback(self.tick, self.settings.check_every * 1000)
        self._callback.start()

    def stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()

    # -- the record of this server's lease (all blocking) -----------------------------------------

    def store(self) -> StateFile:
        """The record of the lease this server serves; ConfigurationError (one line) while
        there is none to serve."""
        source = self.service.source()
        lease = lease_identity(source)
        if self._store is None or self._store.lease != lease:
            path = getattr(source, "path", None)
            directory = self.directory or (os.path.dirname(path) if path else None)
            self._store = StateFile(lease, directory)
            self._armed = False
        return self._store

    def state(self) -> PolicyState:
        """The record, after its first look (:meth:`_arm`), which reads the lease only to
        apply ``renew_while_busy``; else it looks at the cache: an idle server and a page's
        GET cost no upstream read (a busy check reads, and observes, anyway)."""
        store = self.store()
        if not self._armed:
            self._arm(store, self.settings.total is not None)
        return store.load()

    def _arm(self, store: StateFile, read: bool) -> None:
        """Once the lease is known: forget a record of an ended lease (:meth:`_observe`), then
        turn the policy on from ``renew_while_busy`` if this run of the lease never had one.
        A record of this run is kept as it is: its cap is never re-armed nor extended."""
        try:
            source = self.service.source()
            _require_renewable(source)
            entry = self._entry() if read else source.peek()
        except LeaseError:
            return  # not readable yet: the next look tries again
        if entry.lease is None:
            return
        if not read:
            self._observe(store, entry)
        self._armed = True
        total = self.settings.total
        if total is None:
            return
        saved = store.load()
        now = self.now()
        if saved.since is not None or saved.by:
            if not saved.on and saved.note and saved.cap is not None and saved.cap > now:
                store.update(lambda s: replace(s, on=True, note=""))  # a failure turned it off
            return
        store.update(lambda s: _turned_on(s, now, now + total, f"for {_d(total)}", "config"))
        self.log.info("jupyter_lease: keeping the instance alive while busy, for %s", _d(total))

    def _observe(self, store: StateFile, entry: CacheEntry) -> None:
        """A record of another run of this lease (ModelArts' ``create_at`` moved: the instance
        was started again) is forgotten; a record not yet stamped is stamped."""
        if entry.lease is None:
            return
        run = entry.lease.create_at / 1000
        saved = store.load()
        if saved.run is not None and saved.run != run:
            store.forget()
            self.log.info("jupyter_lease: a new run of the lease: keep-alive record forgotten")
        elif saved.run is None and saved != PolicyState():
            store.update(lambda s: replace(s, run=run))

    # -- time --------------------------------------------------------------------------------

    def offset(self) -> float:
        """Lease clock − local clock, as last measured (0 before any read)."""
        source = self.service.built()
        return (source.clock_offset if source is not None else None) or 0.0

    def now(self) -> float:
        return self.clock() + self.offset()

    # -- declared work -------------------------------------------------------------------------

    def register(self, work_id: str, label: str, ttl: float, asked: Dict[str, Any]) -> None:
        """Blocking. Register or heartbeat declared work of ``asked["lease"]`` with its
        ``for``, ``margin`` and ``step`` (seconds or None); :class:`WorkRefused` (one line)
        when this server cannot count it as asked."""
        store = self.store()
        lease = asked.get("lease")
        if lease is not None and lease != store.lease:
            raise WorkRefused(f"this server keeps {store.lease} alive, not {str(lease)[:80]}")
        state = self.state()
        if not state.on:
            raise WorkRefused("keep alive while busy is off on this server")
        total, margin, step = (asked.get(k) for k in ("for", "margin", "step"))
        check_registration(self.settings, total, margin, step)
        now = self.now()
        cap = None if total is None else now + total
        self.declared.put(work_id, label, ttl, lambda: cap, margin, step)

    # -- on / off --------------------------------------------------------------------------------

    def turn_on(self, until: Optional[float], total: Optional[float], asked: str, by: str) -> None:
        """Blocking. ``until``: local epoch seconds; ``total``: seconds from now. UsageError
        (one line) for a cap beyond ``renew_max_cap`` or in the past."""
        store = self.store()
        _require_renewable(self.service.source())
        self.state()
        now = self.now()
        if until is None and total is None:
            total = self.settings.total or parse_duration(DEFAULT_CAP).total_seconds()
            asked = f"for {_d(total)}"
        caps = [] if until is None else [until + self.offset()]
        caps += [now + total] if total is not None else []
        cap = min(caps)
        if cap <= now:
            raise UsageError("the cap must be in the future")
        limit = self.settings.max_cap
        if cap - now > limit + 60:  # a minute's grace: "until" picked on a clock a bit ahead
            raise UsageError(
                f"at most {_d(limit)} from now (this server's c.JupyterLease.renew_max_cap); "
                f"{asked} is further"
            )
        store.update(lambda s: _turned_on(s, now, cap, asked, by))

    def turn_off(self, by: str, note: str = "") -> None:
        self.store().update(lambda s: replace(s, on=False, by=by[:40], note=note))
        self.declared.cancel_all(f"keep alive while busy was switched off ({by[:40]})")

    # -- the periodic check ----------------------------------------------------------------------

    async def tick(self) -> None:
        """One look: never raises (a failing check must not stop the periodic callback)."""
        try:
            await self._tick()
        except Exception as exc:
            self.status = Decision(reason=f"the check failed ({type(exc).__name__})")
            self.log.debug("jupyter_lease: keep-alive check failed", exc_info=True)

    async def _tick(self) -> None:
        offload = self.service.offload
        try:
            state = await offload.run(self.state)
        except LeaseError as exc:  # no lease to serve (yet): nothing to keep alive
            self.busy, self.status = [], Decision(reason=f"no lease: {scrub(str(exc))}")
            return
        if not state.on:  # off means off: declared work does not count, and is let go
            self.declared.cancel_all(f"keep alive while busy is off ({state.by or 'off'})")
            self.busy, self.status = [], Decision(reason="off")
            return
        work = self._declared() + await self._kernels()
        self.busy = sorted({w.label for w in work})
        policy = Policy(state.on, state.cap, self.settings.margin, self.settings.step)
        last = state.last_renewal.at if state.last_renewal else None
        if not work:  # nothing running: no lease read at all, the policy costs nothing
            self.status = decide(policy, LeaseNow(None), [], last, self.now())
            return
        try:
            entry = await offload.run(self._entry)
        except LeaseError as exc:
            await offload.run(functools.partial(self._failed, exc))
            return
        decision = decide(policy, _lease_now(entry), work, last, self.now(), self.offset())
        self.status = decision
        if decision.renew_for is not None:
            await offload.run(lambda: self._renew_or_fail(policy, work))

    def _renew_or_fail(self, policy: Policy, work: List[Work]) -> None:
        try:
            self._renew(policy, work)
        except LeaseError as exc:
            self._failed(exc)

    def _entry(self) -> CacheEntry:
        """The lease (blocking); a stopped instance's record is forgotten, another run's too."""
        source = self.service.source()
        _require_renewable(source)
        store = self.store()
        try:
            entry = source.show_entry()
        except NotRunningError:
            if source.read().kind == "stopped":  # ShowNotebook agrees: the lease has ended
                store.forget()
            raise
        except APIError as exc:
            if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
                raise
            return source.peek()  # the last known lease decides; renew_if reads upstream
        self._observe(store, entry)
        return entry

    def _renew(self, policy: Policy, work: List[Work]) -> None:
        """Blocking: decide again on the lease read upstream under the lock, renew, record."""
        store = self.store()
        made: List[Tuple[float, Decision]] = []
        before: List[float] = []  # the deadline the decision saw (lease clock, s)

        def again(entry: CacheEntry) -> Optional[float]:
            if entry.lease is not None and entry.lease.deadline_ms is not None:
                before.append(entry.lease.deadline_ms / 1000)
            state = store.load()  # another server may have renewed and recorded it
            last = state.last_renewal.at if state.last_renewal else None
            now = self.clock() + (entry.clock_offset or 0.0)
            current = replace(policy, on=state.on, cap=state.cap)
            made.append((now, decide(current, _lease_now(entry), work, last, now)))
            return made[-1][1].renew_for

        entry, renewed = self.service.source().renew_if(again)
        at, decision = made[-1]
        if renewed is None or entry.lease is None or entry.lease.deadline_ms is None:
            self.status = decision
            return
        until = entry.lease.deadline_ms / 1000
        # What the stop moved by (RenewLease counts its duration from now, not from the stop).
        added = until - before[-1] if before else renewed
        record = Renewal(at=at, why=decision.why, until=until, added=added)
        store.update(lambda s: s.with_renewal(record))
        self.status = replace(decision, reason=f"renewed automatically: {decision.why}")
        self.log.info(
            "jupyter_lease: renewed automatically until %s (%s)",
            clock_time(until, self.offset()),
            decision.why,
        )

    def _failed(self, exc: LeaseError) -> None:
        """Blocking. 401/403 turn the policy off for good (never retried); others wait."""
        line = scrub(str(exc))
        self.status = Decision(reason=f"the last attempt failed: {line}")
        if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
            code = exc.code or f"HTTP {exc.status}"  # the whole line is in the log and status
            note = f"turned off: ModelArts refused the credentials ({code}); not retried"
            self.store().update(lambda s: replace(s, on=False, note=note[:160]))
            self.declared.cancel_all(note)
            self.status = Decision(reason=f"{note}: {line}")
            self.log.warning("jupyter_lease: keep alive while busy %s: %s", note, line)

    def _declared(self) -> List[Work]:
        return [Work(d.label, d.cap, d.margin, d.step) for _, d in self.declared.live()]

    async def _kernels(self) -> List[Work]:
        """Busy kernels of this server, named by their notebook's path where known."""
        manager = self.serverapp.kernel_manager
        paths: Dict[str, str] = {}
        try:
            for session in await self.serverapp.session_manager.list_sessions():
                paths[session["kernel"]["id"]] = session.get("path") or ""
        except Exception:  # no sessions API (a bare kernel manager): name kernels by id
            pass
        busy = []
        for kernel_id in list(manager.list_kernel_ids()):
            kernel = manager._kernels.get(kernel_id)
            if getattr(kernel, "execution_state", None) == "busy":
                busy.append(Work(label=paths.get(kernel_id) or f"kernel {kernel_id[:8]}"))
        return busy

    # -- what the views show (blocking) -----------------------------------------------------

    def summary(self, state: Optional[PolicyState] = None) -> Dict[str, Any]:
        """The lease view's ``keep_alive`` field."""
        return summary(self, state or self.state())

    def view(self) -> Dict[str, Any]:
        """``GET …/keep-alive``."""
        return view(self, self.state())


def _turned_on(state: PolicyState, now: float, cap: float, asked: str, by: str) -> PolicyState:
    return replace(state, on=True, since=now, cap=cap, asked=asked[:60], by=by[:40], note="")


def _lease_now(entry: CacheEntry) -> LeaseNow:
    lease = entry.lease
    if lease is None:
        return LeaseNow(None)
    deadline = lease.deadline_ms
    return LeaseNow(lease.kind.value, None if deadline is None else deadline / 1000)


def start_keep_alive(serverapp: Any, service: Any) -> BusyKeeper:
    """Build the keeper from ``c.JupyterLease``, add its routes, start its periodic check."""
    from .busy_handlers import register

    config = JupyterLease(parent=serverapp)
    try:
        settings = Settings.from_config(config)
    except DurationError as exc:
        serverapp.log.warning("jupyter_lease: keep-alive configuration ignored: %s", exc)
        settings = Settings()
    service.schedule = settings.schedule
    keeper = BusyKeeper(serverapp, service, settings)
    service.keep_alive = keeper.summary
    register(serverapp.web_app, keeper, serverapp.web_app.settings.get("base_url", "/"))
    keeper.start()  # its first look applies renew_while_busy, once the lease can be read
    return keeper


def _require_renewable(source: Any) -> None:
    """The policy decides and renews under the ModelArts cache's lock (``renew_if``); another
    provider's source (a Slurm job) cannot be kept alive this way yet: one line, not a crash."""
    if not hasattr(source, "renew_if"):
        raise UsageError(
            f"keep alive while busy works with ModelArts only for now; {source.describe()} "
            "is extended by hand (jupyter lease extend)"
        )

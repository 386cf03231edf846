"""Keep alive while busy: the server side (the decision itself is :mod:`._busy_policy`).

Only the Jupyter server sees every kernel's execution state while the kernels are busy, so it
is the one place that can keep an instance running while a long cell runs. A periodic callback
on the server's IOLoop (:class:`BusyKeeper`) reads which kernels are busy (jupyter_server's
``execution_state``, updated from each kernel's IOPub status messages: a kernel started later
counts from its first busy status; an interrupted kernel goes idle and a dead one leaves the
kernel manager, so either stops counting), adds declared work (``keep_alive()`` in code,
registered over HTTP with a time to live), and — only when something is busy — reads the
lease through the shared cache (whichever the provider: a :class:`~..core.reading.Reading`)
and asks the policy. A renewal reads the lease upstream and decides again under the shared
cache's lock, on that reading and the renewals any process recorded, then extends through the
source's ``extend()`` there (:meth:`~..watch.cache.CachedSource.extend_if`, which writes the
reading back for everyone): one decision per lease, however many server processes share the
runtime dir. ModelArts renews the lease; on JupyterHub an extension records this server's
activity with its own token, which restarts the idle culler's clock. Everything blocking runs
on the lease service's own threads, never on the event loop.

Credentials refused (401/403 raised by the source) turn the policy off with one recorded line:
ModelArts' gateway locks keys after 5 failures, so it is never retried.

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
    AuthenticationError,
    DurationError,
    LeaseError,
    PermissionDeniedError,
    UsageError,
    scrub,
)
from ..core.duration import parse_duration
from ..core.reading import Reading, failure
from ..settings import JupyterLease
from ..watch.cachefile import UnsafeCache
from ..watch.sources import lease_identity
from .busy_config import DEFAULT_CAP, Settings, check_registration, summary, view
from .busy_config import duration_text as _d
from .busy_policy import Decision, Policy, Work, clock_time, decide
from .busy_state import PolicyState, Renewal, StateFile
from .busy_work import DeclaredWork, WorkRefused
from .latest import file_stamp

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

    def record_stamp(self) -> Any:
        """The record file's ``stat`` stamp (None before it is known): an input of the lease
        view (its ``keep_alive`` field), whichever server of the lease wrote it."""
        store = self._store
        return None if store is None else file_stamp(store.path)

    def store(self) -> StateFile:
        """The record of the lease this server serves; ConfigurationError (one line) while
        there is none to serve."""
        source = self.service.source()
        lease = lease_identity(source)
        if self._store is None or self._store.lease != lease:
            # Next to the lease's cache file (the one cache: every source the server serves).
            directory = self.directory or os.path.dirname(source.path)
            self._store = StateFile(lease, directory)
            self._armed = False
        return self._store

    def state(self) -> PolicyState:
        """The record, after its first look (:meth:`_arm`), which reads the lease once
        (through the shared cache); after that only a busy check reads it."""
        store = self.store()
        if not self._armed:
            self._arm(store)
        return store.load()

    def _arm(self, store: StateFile) -> None:
        """Once the lease is known: forget a record of an ended lease (:meth:`_reading`), then
        turn the policy on from ``renew_while_busy`` if this run of the lease never had one.
        A record of this run is kept as it is: its cap is never re-armed nor extended."""
        try:
            reading = self._reading()
        except LeaseError:
            return  # not readable yet: the next look tries again
        if reading.kind in ("unknown", "stopped"):  # nothing to keep alive (yet)
            return
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

    def _observe(self, store: StateFile, reading: Reading) -> None:
        """A record of another run of this lease (the reading's ``extra["run"]`` moved, e.g.
        ModelArts' ``create_at``: the instance was started again) is forgotten; a record not
        yet stamped is stamped. A provider without runs keeps its record."""
        run = _run_of(reading)
        if run is None:
            return
        saved = store.load()
        try:
            if saved.run is not None and saved.run != run:
                store.forget()
                self.log.info("jupyter_lease: a new run of the lease: keep-alive record forgotten")
            elif saved.run is None and saved != PolicyState():
                store.update(lambda s: replace(s, run=run))
        except UnsafeCache:  # an unusable directory: the record's note says so; reading goes on
            pass

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
        _require_extendable(self.service.source(), self._reading())
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
            self.status = decide(policy, None, [], last, self.now())
            return
        try:
            reading = await offload.run(self._reading)
        except LeaseError as exc:
            await offload.run(functools.partial(self._failed, exc))
            return
        decision = decide(policy, reading, work, last, self.now(), self.offset())
        self.status = decision
        if decision.renew_for is not None:
            await offload.run(lambda: self._renew_or_fail(policy, work))

    def _renew_or_fail(self, policy: Policy, work: List[Work]) -> None:
        try:
            self._renew(policy, work)
        except LeaseError as exc:
            self._failed(exc)

    def _reading(self) -> Reading:
        """The lease through the shared cache (blocking); a stopped lease's record is forgotten,
        another run's too. A stale reading is the last known one: it decides, and the renewal
        reads again; credentials refused raise (:meth:`_failed` turns the policy off)."""
        store = self.store()
        reading: Reading = self.service.source().read()
        _raise_refused(reading)
        if reading.kind == "stopped":  # the lease has ended
            store.forget()
        else:
            self._observe(store, reading)
        return reading

    def _renew(self, policy: Policy, work: List[Work]) -> None:
        """Blocking: decide again on the lease read upstream under the shared cache's lock (with
        the renewals any process recorded), extend there, then record it: one decision per
        lease, however many processes (:meth:`~..watch.cache.CachedSource.extend_if`)."""
        store = self.store()
        made: List[Tuple[float, Reading, Decision]] = []

        def again(reading: Reading) -> Optional[float]:
            state = store.load()  # another server may have extended and recorded it
            last = state.last_renewal.at if state.last_renewal else None
            now = self.clock() + reading.clock_offset
            current = replace(policy, on=state.on, cap=state.cap)
            made.append((now, reading, decide(current, reading, work, last, now)))
            return made[-1][2].renew_for

        after, extended = self.service.source().extend_if(again)
        if not made:  # the read under the lock failed: nothing was decided
            _raise_refused(after)
            self.status = Decision(reason=f"the last attempt failed: {after.error or 'no answer'}")
            return
        at, before, decision = made[-1]
        self.status = decision
        if extended is None or before.deadline is None:
            return
        if after.stale or after.deadline is None or after.deadline <= before.deadline:
            line = after.error or "the stop did not move"  # not confirmed: the next check retries
            self.status = Decision(reason=f"the last attempt failed: {line}", why=decision.why)
            return
        until = after.deadline
        record = Renewal(at=at, why=decision.why, until=until, added=until - before.deadline)
        store.update(lambda s: s.with_renewal(record))
        self.status = replace(decision, reason=f"renewed automatically: {decision.why}")
        self.log.info(
            "jupyter_lease: renewed automatically until %s (%s)",
            clock_time(until, after.clock_offset),
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
    service.view_inputs.append(keeper.record_stamp)
    register(serverapp.web_app, keeper, serverapp.web_app.settings.get("base_url", "/"))
    keeper.start()  # its first look applies renew_while_busy, once the lease can be read
    return keeper


def _raise_refused(reading: Reading) -> None:
    """Credentials refused (401/403) behind a stale reading, raised again: never retried."""
    if reading.stale:
        exc = failure(reading)
        if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
            raise exc


def _run_of(reading: Reading) -> Optional[float]:
    """Which run of its lease a reading is of (``extra["run"]``, epoch s), if its provider says."""
    run = (reading.extra or {}).get("run")
    return float(run) if isinstance(run, (int, float)) and not isinstance(run, bool) else None


def _require_extendable(source: Any, reading: Reading) -> None:
    """UsageError (one line) when this lease's stop cannot be moved from here (a Slurm user
    who may not raise the limit, a hub's maximum age coming first): nothing to keep alive."""
    if reading.kind == "timed" and not reading.can_extend:
        why = f"it stops first for {reading.stop_reason}" if reading.stop_reason else ""
        raise UsageError(
            f"keep alive while busy cannot extend {source.describe()}"
            + (f": {why}" if why else " (extending is not allowed here)")
        )

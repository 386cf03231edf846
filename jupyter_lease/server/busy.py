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

Configuration (``jupyter_server_config.py``): ``c.JupyterLease.renew_while_busy = "8h"`` turns
the policy on at start, with a cap of 8 h from then (a running policy saved by an earlier
server, and its cap, are kept instead); ``renew_margin``, ``renew_step``, ``renew_check_every``
tune it; ``poll_far`` / ``poll_near`` / ``poll_final`` are the server's lease-read intervals,
named as the kernels' ``%config JupyterLease`` traits.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._errors import (
    APIError,
    AuthenticationError,
    DurationError,
    LeaseError,
    PermissionDeniedError,
    UsageError,
    scrub,
)
from ..core.duration import parse_duration, renewal
from ..core.schedule import PollSchedule
from ..settings import JupyterLease
from ..watch.cachedata import CacheEntry
from .busy_policy import Decision, LeaseNow, Policy, Work, clock_time, decide
from .busy_state import PolicyState, Renewal, StateFile, renewals_json

__all__ = ["BusyKeeper", "JupyterLease", "Settings", "start_keep_alive"]

DEFAULT_CAP = "8h"  # when turned on without "until" or "for" and nothing configured
MAX_WORK = 64  # declared work items at once: a runaway client cannot grow the server
MAX_TTL = 3600.0


@dataclass(frozen=True)
class Settings:
    total: Optional[float] = None  # renew_while_busy in seconds; None: off by configuration
    margin: float = 600.0
    step: float = 3600.0
    check_every: float = 30.0
    schedule: PollSchedule = PollSchedule()

    @classmethod
    def from_config(cls, config: JupyterLease) -> Settings:
        """:class:`DurationError` (one line) for a value that cannot work."""
        seconds = [
            parse_duration(v).total_seconds()
            for v in (config.renew_margin, config.renew_check_every)
        ]
        margin, every = seconds
        step = renewal(config.renew_step).total_seconds()
        if not every < margin < step:
            raise DurationError("renew_check_every < renew_margin < renew_step is required")
        far, near, final = (
            parse_duration(v).total_seconds()
            for v in (config.poll_far, config.poll_near, config.poll_final)
        )
        text = config.renew_while_busy.strip()
        total = parse_duration(text).total_seconds() if text else None
        return cls(total, margin, step, every, PollSchedule(far=far, near=near, final=final))


class BusyKeeper:
    """The periodic check, the declared work, and the state behind the HTTP API."""

    def __init__(
        self,
        serverapp: Any,
        service: Any,
        settings: Settings,
        store: Optional[StateFile] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.serverapp, self.service, self.settings = serverapp, service, settings
        self.log = serverapp.log
        self.store = store or StateFile()
        self.clock = clock
        self.work: Dict[str, Tuple[str, float, Optional[float]]] = {}  # id: label, expiry, cap
        self.status = Decision(reason="starting")
        self.busy: List[str] = []
        self._callback: Any = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        from tornado.ioloop import PeriodicCallback

        self._callback = PeriodicCallback(self.tick, self.settings.check_every * 1000)
        self._callback.start()

    def stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()

    def apply_config(self) -> None:
        """At start (blocking): turn the policy on from ``renew_while_busy`` unless a running
        policy was saved (a restart keeps it and its cap) or a person turned it off."""
        total = self.settings.total
        if total is None:
            return
        saved = self.store.load()
        now = self.now()
        if saved.on and saved.cap is not None and saved.cap > now:
            return
        if not saved.on and saved.by not in ("", "config") and not saved.note:
            return
        self.store.update(
            lambda _: _turned_on(saved, now, now + total, f"for {_d(total)}", "config")
        )
        self.log.info("jupyter_lease: keeping the instance alive while busy, for %s", _d(total))

    # -- time --------------------------------------------------------------------------------

    def offset(self) -> float:
        """Lease clock − local clock, as last measured (0 before any read)."""
        source = self.service.built()
        return (source.clock_offset if source is not None else None) or 0.0

    def now(self) -> float:
        return self.clock() + self.offset()

    # -- declared work -------------------------------------------------------------------------

    def register(self, work_id: str, label: str, ttl: float, total: Optional[float]) -> None:
        """Register or heartbeat declared work (on the event loop: memory only)."""
        if work_id not in self.work and len(self.work) >= MAX_WORK:
            raise LeaseError(f"too many work registrations (at most {MAX_WORK})")
        previous = self.work.get(work_id)
        cap = previous[2] if previous else (None if total is None else self.now() + total)
        self.work[work_id] = (label, self.clock() + min(ttl, MAX_TTL), cap)

    def unregister(self, work_id: str) -> bool:
        return self.work.pop(work_id, None) is not None

    # -- on / off --------------------------------------------------------------------------------

    def turn_on(self, until: Optional[float], total: Optional[float], asked: str, by: str) -> None:
        """Blocking. ``until``: local epoch seconds; ``total``: seconds from now."""
        try:
            source = self.service.source()
        except LeaseError:  # not configured yet: the policy may wait for it
            source = None
        if source is not None:
            _require_renewable(source)
        now = self.now()
        if until is None and total is None:
            total = self.settings.total or parse_duration(DEFAULT_CAP).total_seconds()
            asked = f"for {_d(total)}"
        caps = [c for c in (None if until is None else until + self.offset(),) if c is not None]
        caps += [now + total] if total is not None else []
        self.store.update(lambda s: _turned_on(s, now, min(caps), asked, by))

    def turn_off(self, by: str, note: str = "") -> None:
        self.store.update(lambda s: replace(s, on=False, by=by[:40], note=note))

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
        state = await offload.run(self.store.load)
        work = self._declared() + (await self._kernels() if state.on else [])
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
        source = self.service.source()
        _require_renewable(source)
        try:
            return source.show_entry()
        except APIError as exc:
            if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
                raise
            return source.peek()  # the last known lease decides; renew_if reads upstream

    def _renew(self, policy: Policy, work: List[Work]) -> None:
        """Blocking: decide again on the lease read upstream under the lock, renew, record."""
        made: List[Tuple[float, Decision]] = []
        before: List[float] = []  # the deadline the decision saw (lease clock, s)

        def again(entry: CacheEntry) -> Optional[float]:
            if entry.lease is not None and entry.lease.deadline_ms is not None:
                before.append(entry.lease.deadline_ms / 1000)
            state = self.store.load()  # another server may have renewed and recorded it
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
        self.store.update(lambda s: s.with_renewal(record))
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
            self.store.update(lambda s: replace(s, on=False, note=note[:160]))
            self.work.clear()
            self.status = Decision(reason=f"{note}: {line}")
            self.log.warning("jupyter_lease: keep alive while busy %s: %s", note, line)

    def _declared(self) -> List[Work]:
        now = self.clock()
        for work_id in [k for k, (_, expiry, _) in self.work.items() if expiry <= now]:
            del self.work[work_id]
        return [Work(label=label, cap=cap) for label, _, cap in self.work.values()]

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

    # -- what the views show -----------------------------------------------------------------------

    def summary(self, state: Optional[PolicyState] = None) -> Dict[str, Any]:
        """Blocking (reads the state file): the lease view's ``keep_alive`` field."""
        state = state or self.store.load()
        offset = self.offset()
        last = renewals_json(state, offset)[-1:] or [None]
        if state.on and state.cap is not None:
            line = f"kept alive while busy, until {clock_time(state.cap, offset)} at the latest"
        else:
            line = "off" + (f": {state.note}" if state.note else "")
        if last[0] is not None:
            renewed = state.renewals[-1]
            line += f"; renewed automatically at {clock_time(renewed.at, offset)} — {renewed.why}"
        return {
            "on": state.on,
            "line": line,
            "cap_ms": None if state.cap is None else int(round((state.cap - offset) * 1000)),
            "last_renewal": last[0],
            "margin_s": self.settings.margin,  # the page re-reads the lease once past it
        }

    def view(self) -> Dict[str, Any]:
        """Blocking: ``GET …/keep-alive``."""
        state = self.store.load()
        offset = self.offset()
        now = self.clock()
        status = self.status
        return {
            **self.summary(state),
            "since_ms": None if state.since is None else int(round((state.since - offset) * 1000)),
            "asked": state.asked,
            "by": state.by,
            "note": state.note,
            "status": status.reason,
            "next_check_ms": None
            if status.wake_at is None
            else int(round((status.wake_at - offset) * 1000)),
            "busy": list(self.busy),
            "work": [
                {"id": k, "label": label, "expires_ms": int(round(exp * 1000))}
                for k, (label, exp, _) in sorted(self.work.items())
            ],
            "renewals": renewals_json(state, offset),
            "margin_s": self.settings.margin,
            "step_s": self.settings.step,
            "now_ms": int(round(now * 1000)),
        }


def _d(seconds: float) -> str:
    from datetime import timedelta

    from ..core.duration import format_duration

    return format_duration(timedelta(seconds=seconds))


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
    try:
        keeper.apply_config()
    except Exception as exc:  # an unusable runtime dir: the API still says why
        serverapp.log.warning("jupyter_lease: keep-alive state not saved: %s", scrub(str(exc)))
    keeper.start()
    return keeper


def _require_renewable(source: Any) -> None:
    """The policy decides and renews under the ModelArts cache's lock (``renew_if``); another
    provider's source (a Slurm job) cannot be kept alive this way yet: one line, not a crash."""
    if not hasattr(source, "renew_if"):
        raise UsageError(
            f"keep alive while busy works with ModelArts only for now; {source.describe()} "
            "is extended by hand (jupyter lease extend)"
        )

"""Keep alive while busy: the decision. Pure — every time is passed in.

Given the policy (on/off, the cap, margin, step), the lease as any provider reads it (a
:class:`~jupyter_lease.core.reading.Reading`: its kind, deadline and what ``extend()`` accepts),
what is busy (kernels, declared work) and the last automatic renewal, :func:`decide` says: extend
now and by how much, or wait until when — always with a one-line reason for people.

All times are epoch seconds on **the lease's clock** (the source's clock: this host's clock plus
the measured offset), so that a jump of that clock (a simulator's clock control, a corrected
skew) moves "now", the deadline and the cap together. ``offset`` (lease clock − local clock) is
used only to show times in local wall-clock terms.

Rules, in order:

- off, past the cap, no lease known, an IDLE lease, auto-stop off, or a stop this provider
  cannot extend (a hub's maximum age): never renew (declared work counts only while the
  policy is on, and never past the policy's cap);
- nothing busy: wait (the lease counts down and the usual warnings run);
- the margin and step are the longest that any counted work asked for (a busy kernel: the
  policy's; ``keep_alive(margin=…, extend_by=…)``: its own);
- more than ``margin`` left: wait until the deadline minus ``margin``;
- a renewal pushes the deadline by ``step`` (an extension counts from now, so it asks for
  ``remaining + step``): one renewal per step, however long the work runs;
- what ``extend()`` accepts bounds it (the reading's ``extend_range``: ModelArts 1 h – 72 h
  from now; a hub's idle cull exactly its timeout, since recording activity restarts the idle
  clock): the step is at most the longest extension, and the margin at most half the step,
  so that a hub whose cull timeout is shorter than ``renew_margin`` is still renewed in time;
- never past the cap: the push is shortened to end at the cap, and skipped when that would be
  under the shortest extension (ModelArts: 1 h from now; a hub: the whole timeout) or would
  not move the deadline at all;
- at most one renewal in any ``step - margin`` window (a read that does not show a renewal
  just made must not cause a second one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional, Sequence, Tuple

from ..core.reading import Reading

__all__ = [
    "Decision",
    "Policy",
    "Work",
    "clock_time",
    "decide",
    "parse_until",
    "policy_line",
    "zone_name",
]

MIN_STEP = 3600.0  # renew_step and keep_alive(extend_by=…): 1 h ...
MAX_STEP = 72 * 3600.0  # ... to 72 h (what the policy is told; extend_range bounds what it asks)


@dataclass(frozen=True)
class Policy:
    on: bool
    cap: Optional[float] = None  # lease clock; the latest stop time any renewal may set
    margin: float = 600.0  # renew when less than this is left
    step: float = 3600.0  # push the deadline by this much per renewal


@dataclass(frozen=True)
class Work:
    """Something running, counted only while the policy is on: a busy kernel (the policy's
    cap, margin and step) or declared work (``keep_alive()``: its own cap, never past the
    policy's, and the margin and step it registered with, when given)."""

    label: str  # a notebook path, "kernel 1a2b3c4d", or the name code gave its work
    cap: Optional[float] = None
    margin: Optional[float] = None
    step: Optional[float] = None

    def bounded(self, policy: Policy) -> Optional[float]:
        """This work's cap under the policy's (None: no cap known)."""
        caps = [c for c in (self.cap, policy.cap) if c is not None]
        return min(caps) if caps else None


@dataclass(frozen=True)
class Decision:
    renew_for: Optional[float] = None  # seconds to ask RenewLease for; None: do not renew
    new_deadline: Optional[float] = None  # where that renewal puts the stop (lease clock)
    wake_at: Optional[float] = None  # when to look again (lease clock); None: next tick
    reason: str = ""  # one line: what is happening and why
    why: str = ""  # what is busy, for the record: "t.ipynb was running"


def clock_time(at: float, offset: float = 0.0) -> str:
    """``14:02 UTC+08:00`` on this host's wall clock for an instant on the lease's clock: the
    zone is always said, since whoever reads the line may live in another one."""
    local = at - offset
    return f"{datetime.fromtimestamp(local).strftime('%H:%M')} {zone_name(local)}"


def policy_line(view: Mapping[str, Any], now: Optional[float] = None) -> str:
    """The policy in one line, on this host's wall clock, from its JSON view (``on``,
    ``cap_ms``, ``note``, ``last_renewal``: times in ms on this host's clock; ``now``: epoch s,
    default this clock). The server says it in its zone; the CLI again in the person's."""
    cap, last = view.get("cap_ms"), view.get("last_renewal")
    now = time.time() if now is None else now
    if view.get("on") and isinstance(cap, (int, float)) and cap / 1000 > now:
        line = f"kept alive while busy, until {clock_time(cap / 1000)} at the latest"
    elif view.get("on") and isinstance(cap, (int, float)):
        line = f"the cap ({clock_time(cap / 1000)}) has passed: no more automatic renewals"
    else:
        line = "off" + (f": {view['note']}" if view.get("note") else "")
    if isinstance(last, Mapping) and isinstance(last.get("at_ms"), (int, float)):
        line += f"; renewed automatically at {clock_time(last['at_ms'] / 1000)} — {last.get('why')}"
    return line


def zone_name(at: float) -> str:
    """This host's zone at ``at`` (epoch s) as its UTC offset: ``UTC``, ``UTC+08:00``."""
    seconds = int(time.localtime(at).tm_gmtoff or 0)
    if seconds == 0:
        return "UTC"
    sign = "+" if seconds > 0 else "-"
    hours, rest = divmod(abs(seconds) // 60, 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _why(work: Sequence[Work]) -> str:
    labels = sorted({w.label for w in work})
    shown = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
    return f"{shown} {'was' if len(labels) == 1 else 'were'} running"


def decide(
    policy: Policy,
    lease: Optional[Reading],
    work: Sequence[Work],
    last_renewal: Optional[float],
    now: float,
    offset: float = 0.0,
) -> Decision:
    """Extend now (``renew_for``), or wait (``wake_at``); see the module's rules. ``lease``:
    the source's reading (None: not read, e.g. because nothing is busy)."""
    if not policy.on:
        return Decision(reason="off")
    if not work:
        return Decision(reason="nothing is running: the lease counts down as usual")
    live = [w for w in work if (w.bounded(policy) or now) > now]
    if not live:
        return Decision(reason="the cap has passed: no more automatic renewals")
    cap = max(w.bounded(policy) or now for w in live)
    margin = max(policy.margin if w.margin is None else w.margin for w in live)
    step = max(policy.step if w.step is None else w.step for w in live)
    why = _why(live)
    waits = _not_extendable(lease)
    if waits:
        return Decision(reason=waits, why=why)
    assert lease is not None and lease.deadline is not None
    low, high = lease.extend_range or (0.0, MAX_STEP)
    if step > high:  # one extension adds less than a step (a hub's cull timeout)
        step, margin = high, min(margin, high / 2)
    chosen = Policy(True, cap, margin, step)
    return _timed(chosen, lease.deadline, (low, high), last_renewal, now, offset, why)


def _not_extendable(lease: Optional[Reading]) -> str:
    """Why no extension can be decided on this reading; "" when one can."""
    if lease is None or lease.kind == "unknown":
        return "waiting for the lease to be read"
    if lease.kind == "stopped":
        return f"the {lease.subject or 'instance'} has stopped: nothing to renew"
    if lease.kind == "idle":
        return "an IDLE lease stops only when idle: never renewed"
    if lease.kind == "off" or lease.deadline is None:
        return "auto-stop is off: nothing to renew"
    if not lease.can_extend:
        why = f"it stops first for {lease.stop_reason}" if lease.stop_reason else "not allowed"
        return f"not renewed: {why}"
    return ""


def _timed(
    policy: Policy,
    deadline: float,
    accepts: Tuple[float, float],
    last_renewal: Optional[float],
    now: float,
    offset: float,
    why: str,
) -> Decision:
    cap = policy.cap
    assert cap is not None
    due = deadline - policy.margin
    if now < due:
        reason = f"{why.replace(' was ', ' is ').replace(' were ', ' are ')}; renews at "
        reason += f"{clock_time(due, offset)} if still busy"
        return Decision(wake_at=due, reason=reason, why=why)
    if last_renewal is not None and now < last_renewal + policy.step - policy.margin:
        again = last_renewal + policy.step - policy.margin
        return Decision(wake_at=again, reason="renewed moments ago: waiting", why=why)
    low, high = accepts
    target = min(deadline + policy.step, cap, now + high)
    if target <= deadline or target - now < low:
        reason = f"not renewed: that would pass the cap ({clock_time(cap, offset)})"
        return Decision(wake_at=cap, reason=reason, why=why)
    reason = f"renewing until {clock_time(target, offset)}: {why}"
    return Decision(renew_for=target - now, new_deadline=target, reason=reason, why=why)


def parse_until(text: str, now: float) -> float:
    """``"18:00"`` → the next 18:00 on this host's wall clock (today, else tomorrow), as
    epoch seconds; ``ValueError`` (one line) otherwise. Only the CLI calls it, in the
    person's own zone: the server takes instants (the page and the CLI send epoch times)."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 2 for p in parts):
        raise ValueError(f"cannot read the time {text[:20]!r}; use HH:MM, e.g. 18:00")
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text[:20]!r} is not a time of day; use HH:MM, e.g. 18:00")
    local = time.localtime(now)
    for days in (0, 1):
        at = time.mktime(
            (local.tm_year, local.tm_mon, local.tm_mday + days, hour, minute, 0, 0, 0, -1)
        )
        if at > now:
            return at
    raise ValueError(f"{text[:20]!r} could not be placed after now")  # pragma: no cover

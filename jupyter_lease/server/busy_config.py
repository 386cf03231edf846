"""Keep alive while busy: its settings (``c.JupyterLease``), what a registration may ask, and
the views its HTTP API answers (:mod:`.busy` holds the keeper that uses them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Dict, Optional

from .._errors import DurationError
from ..core.duration import format_duration, parse_duration, renewal
from ..core.schedule import PollSchedule
from ..settings import JupyterLease
from .busy_policy import MAX_STEP, MIN_STEP, policy_line
from .busy_state import PolicyState, renewals_json
from .busy_work import WorkRefused

__all__ = [
    "DEFAULT_CAP",
    "MIN_GAP",
    "Settings",
    "check_registration",
    "duration_text",
    "summary",
    "view",
]

DEFAULT_CAP = "8h"  # when turned on without "until" or "for" and nothing configured
MIN_GAP = 600.0  # a registration's step must exceed its margin by this (as keep_alive() checks)


def duration_text(seconds: float) -> str:
    """``8h``, ``1d``: a number of seconds as the durations people type."""
    return format_duration(timedelta(seconds=seconds))


@dataclass(frozen=True)
class Settings:
    total: Optional[float] = None  # renew_while_busy in seconds; None: off by configuration
    margin: float = 600.0
    step: float = 3600.0
    check_every: float = 30.0
    schedule: PollSchedule = PollSchedule()
    max_cap: float = 24 * 3600.0  # renew_max_cap: no cap further than this from now

    @classmethod
    def from_config(cls, config: JupyterLease) -> Settings:
        """:class:`DurationError` (one line) for a value that cannot work."""
        margin, every, max_cap = (
            parse_duration(v).total_seconds()
            for v in (config.renew_margin, config.renew_check_every, config.renew_max_cap)
        )
        step = renewal(config.renew_step).total_seconds()
        if not every < margin < step:
            raise DurationError("renew_check_every < renew_margin < renew_step is required")
        far, near, final = (
            parse_duration(v).total_seconds()
            for v in (config.poll_far, config.poll_near, config.poll_final)
        )
        text = config.renew_while_busy.strip()
        total = parse_duration(text).total_seconds() if text else None
        if total is not None and total > max_cap:
            raise DurationError(f"renew_while_busy ({text}) is beyond renew_max_cap")
        schedule = PollSchedule(far=far, near=near, final=final)
        return cls(total, margin, step, every, schedule, max_cap)


def check_registration(
    settings: Settings, total: Optional[float], margin: Optional[float], step: Optional[float]
) -> None:
    """:class:`WorkRefused` (one line) for a registration this server cannot honour."""
    if total is not None and total > settings.max_cap + 60:
        raise WorkRefused(
            f"max_total {duration_text(total)} is beyond this server's limit of "
            f"{duration_text(settings.max_cap)} (c.JupyterLease.renew_max_cap)"
        )
    if margin is not None and margin <= settings.check_every:
        raise WorkRefused(
            f"this server looks every {duration_text(settings.check_every)}: a margin of "
            f"{duration_text(margin)} could be missed"
        )
    if step is not None and not MIN_STEP <= step <= MAX_STEP:
        raise WorkRefused("extend_by must be between 1h and 72h")
    if step is not None and step - (settings.margin if margin is None else margin) < MIN_GAP:
        raise WorkRefused("extend_by must exceed margin by at least 10m")


def summary(keeper: Any, state: PolicyState) -> Dict[str, Any]:
    """The lease view's ``keep_alive`` field (blocking: the keeper's offset and store)."""
    offset = keeper.offset()
    last = renewals_json(state, offset)[-1:] or [None]
    view = {
        "on": state.on,
        "cap_ms": None if state.cap is None else int(round((state.cap - offset) * 1000)),
        "last_renewal": last[0],
        "note": state.note,
        "lease": keeper.store().lease,
        "margin_s": keeper.settings.margin,  # the page re-reads the lease once past it
    }
    return {**view, "line": policy_line(view)}


def view(keeper: Any, state: PolicyState) -> Dict[str, Any]:
    """``GET …/keep-alive``: the summary, and what the policy is doing and has done."""
    offset = keeper.offset()
    now = keeper.clock()
    status = keeper.status
    return {
        **summary(keeper, state),
        "since_ms": None if state.since is None else int(round((state.since - offset) * 1000)),
        "asked": state.asked,
        "by": state.by,
        "note": state.note,
        "status": status.reason,
        "next_check_ms": None
        if status.wake_at is None
        else int(round((status.wake_at - offset) * 1000)),
        "busy": list(keeper.busy),
        "work": [
            {"id": k, "label": d.label, "expires_ms": int(round(d.expiry * 1000))}
            for k, d in keeper.declared.live()
        ],
        "renewals": renewals_json(state, offset),
        "margin_s": keeper.settings.margin,
        "step_s": keeper.settings.step,
        "max_cap_s": keeper.settings.max_cap,
        "now_ms": int(round(now * 1000)),
    }

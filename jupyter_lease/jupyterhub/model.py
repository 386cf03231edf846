"""A JupyterHub server's stop as a :class:`Reading`. Pure: the Hub's answer and ``now`` are
passed in.

Three stops may apply; the earliest is shown:

- **idle cull** (``jupyterhub-idle-culler --timeout``): no earlier than the server's last
  activity + the timeout, no later than that + the culler's period + the activity-report lag;
  shown as a lower bound ("at least 12 min left"). Recording activity (Extend) moves it.
- **maximum age** (``--max-age``): the server's start + max age, checked on the culler's
  next pass; a lower bound too, and nothing here can move it.
- **a fixed run time** (jupyterlab-server-timer's ``JOB_START_TIME`` + ``JOB_RUN_TIME``,
  e.g. a batchspawner job's walltime): exact.

The Hub's user model, read with the server's own token, has the user's ``last_activity``;
the server's own entry (``servers[name]``, with ``last_activity`` and ``started``) only when
the token has ``read:servers!server`` (``c.Spawner.server_token_scopes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, List, Mapping, Optional, Tuple

from .._errors import BadResponseError
from ..core.duration import format_duration
from ..core.reading import Reading
from .config import HubSettings

__all__ = [
    "MAX_AGE_REASON",
    "SCOPE_HINT",
    "ServerTimes",
    "activity_body",
    "hub_reading",
    "parse_timestamp",
    "server_times",
]

MAX_AGE_REASON = "the hub's maximum age; cannot be extended here"
TIMER_REASON = "the job's run time (JOB_RUN_TIME); cannot be extended here"
SCOPE_HINT = (
    "the server's start time is not readable with its token, so its maximum age is not "
    "shown: the hub admin adds the read:servers!server scope (c.Spawner.server_token_scopes)"
)
SUBJECT = "server"
_STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class ServerTimes:
    """What the Hub said, as epoch seconds on the Hub's clock."""

    last_activity: Optional[float] = None  # the server's, else the user's
    started: Optional[float] = None  # None: not readable (or not sent)
    server_readable: bool = False  # the token could read the server's own entry
    running: bool = True  # False: the server's entry says it is not running


def parse_timestamp(value: Any, what: str = "a timestamp") -> Optional[float]:
    """The Hub's ISO 8601 (``2026-12-05T19:40:23.123456Z``; naive means UTC) → epoch
    seconds; None for null; :class:`BadResponseError` (one line) for anything else."""
    if value is None:
        return None
    match = _STAMP.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise BadResponseError(f"the hub sent {what} that is not a time: {str(value)[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            tzinfo=timezone.utc,
        )  # fmt: skip
    except ValueError:
        raise BadResponseError(f"the hub sent {what} out of range: {value[:40]!r}") from None
    shift = 0
    if zone and zone != "Z":
        digits = zone.replace(":", "")
        shift = (int(digits[1:3]) * 60 + int(digits[3:5])) * (1 if digits[0] == "+" else -1)
    seconds = float(fraction) if fraction else 0.0
    return (moment - timedelta(minutes=shift)).timestamp() + seconds


def server_times(model: Any, server_name: str) -> ServerTimes:
    """The times in the Hub's user model (``GET /users/{name}``) for this server."""
    if not isinstance(model, Mapping):
        raise BadResponseError("the hub's user model is not a JSON object")
    user_activity = parse_timestamp(model.get("last_activity"), "last_activity")
    servers = model.get("servers")
    if not isinstance(servers, Mapping):  # the default server token: no server entries
        return ServerTimes(last_activity=user_activity)
    entry = servers.get(server_name)
    if not isinstance(entry, Mapping):
        return ServerTimes(last_activity=user_activity, server_readable=True, running=False)
    activity = parse_timestamp(entry.get("last_activity"), "the server's last_activity")
    return ServerTimes(
        last_activity=user_activity if activity is None else activity,
        started=parse_timestamp(entry.get("started"), "the server's started"),
        server_readable=True,
        running=entry.get("stopped") is not True,
    )


def activity_body(settings: HubSettings, now: float) -> Mapping[str, Any]:
    """The body of ``POST /users/{name}/activity``: this server active at ``now`` (the Hub's
    clock), as jupyterhub-singleuser reports it."""
    stamp = datetime.fromtimestamp(now, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    return {
        "last_activity": stamp,
        "servers": {settings.server_name: {"last_activity": stamp}},
    }


@dataclass(frozen=True)
class _Stop:
    at: float
    since: Optional[float]  # the start of the period, for the progress bar
    reason: str
    lower_bound: bool
    extendable: bool


def _stops(settings: HubSettings, times: ServerTimes) -> Tuple[List[_Stop], List[str]]:
    stops: List[_Stop] = []
    notes: List[str] = []
    timeout = settings.cull_timeout
    if timeout is not None and times.last_activity is not None:
        every = settings.cull_every
        looks = f"; it looks every {format_duration(timedelta(seconds=every))}" if every else ""
        why = f"if idle until then (the hub's idle culler{looks})"
        stops.append(_Stop(times.last_activity + timeout, times.last_activity, why, True, True))
    if settings.max_age is not None:
        if times.started is not None:
            at = times.started + settings.max_age
            stops.append(_Stop(at, times.started, MAX_AGE_REASON, True, False))
        else:
            notes.append(SCOPE_HINT)
    start = settings.job_start if settings.job_start is not None else times.started
    if settings.job_run is not None and start is not None:
        stops.append(_Stop(start + settings.job_run, start, TIMER_REASON, False, False))
    return stops, notes


def hub_reading(settings: HubSettings, times: ServerTimes, now: float) -> Reading:
    """The earliest stop that applies, as a reading on the Hub's clock (``now`` on it too)."""
    base = dict(read_at=now, source=settings.name, source_id=settings.source_id, subject=SUBJECT)
    if not times.running:
        return Reading(kind="stopped", **base)
    stops, notes = _stops(settings, times)
    if not stops:
        missing = settings.missing() or " ".join(notes) or "the hub did not say when"
        return Reading(kind="unknown", error=missing, **base)
    first = min(stops, key=lambda stop: stop.at)
    timeout = settings.cull_timeout
    extendable = first.extendable and timeout is not None
    return Reading(
        kind="timed",
        deadline=first.at,
        started_at=first.since,
        lower_bound=first.lower_bound,
        stop_reason=first.reason,
        error=" ".join(notes) or None,
        can_extend=extendable,
        # Recording activity restarts the idle clock: every extension is the whole timeout.
        extend_range=(timeout, timeout) if extendable and timeout else None,
        extend_choices=(format_duration(timedelta(seconds=timeout)),) if extendable else (),
        **base,
    )

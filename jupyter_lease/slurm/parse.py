"""What Slurm's commands print about one job, parsed defensively. Pure: text in, data out.

Three readers, newest first, for the same :class:`JobTimes`:

- ``squeue --json``: Slurm 22.05 (OpenAPI v0.0.38) prints plain numbers (``end_time`` and
  ``start_time`` in epoch seconds, ``time_limit`` in minutes, null without a limit) and
  **ignores** ``-j``: every job is listed, so the job is picked here by ``job_id``. Later versions
  wrap numbers as ``{"set": true, "infinite": false, "number": N}`` and the state as a list.
- ``squeue -h -j ID -o '%A %T %S %e %l'`` with ``SLURM_TIME_FORMAT=%s`` (:data:`SQUEUE_FORMAT`).
  ``%A`` is the job's own number, the one in ``SLURM_JOB_ID``: ``%i`` prints an array task as
  ``1234_7`` and a heterogeneous job's component as ``1234+0``, and ``-j`` of an array's first
  task lists every task.
- ``scontrol show job -o ID``, one line of ``Key=Value`` (epoch seconds with the same variable,
  local ISO time without it).

A job without a time limit has none here (``limit_s`` None), never the fake deadline Slurm
reports for it (``end_time`` = start + 365 days). Anything else unexpected is a
:class:`BadResponseError` of one line: a number that is not finite or lies beyond year 2200
(``1e400``, ``Infinity``, ``NaN`` in JSON) too, and output that lists jobs but not this one
(the next command is asked).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from .._errors import BadResponseError
from ..core.reading import MAX_SECONDS

__all__ = [
    "SQUEUE_FORMAT",
    "JobTimes",
    "parse_config",
    "parse_duration",
    "parse_scontrol_job",
    "parse_squeue_json",
    "parse_squeue_text",
]

# Job id (its own number, never 1234_7 or 1234+0), state, start, end, limit; one line each.
SQUEUE_FORMAT = "%A %T %S %e %l"
# Slurm's NO_VAL and INFINITE for 32-bit fields: "not set" and "no limit" in old JSON layouts.
_NO_VAL32 = 0xFFFFFFFE
_INFINITE32 = 0xFFFFFFFF
_NO_LIMIT_WORDS = ("UNLIMITED", "INFINITE", "NONE", "NOT_SET", "N/A", "")
# States in which the job holds its allocation and its walltime counts.
ACTIVE_STATES = ("RUNNING", "CONFIGURING", "SUSPENDED", "STOPPED", "RESIZING", "SIGNALING")
WAITING_STATES = ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD")


@dataclass(frozen=True)
class JobTimes:
    """One job's walltime as Slurm reported it. Instants: epoch seconds (Slurm's clock)."""

    job_id: str
    state: str  # upper case, e.g. RUNNING, PENDING, COMPLETED; "" when not reported
    start: Optional[float] = None
    end: Optional[float] = None  # None when there is no limit
    limit_s: Optional[float] = None  # None: no time limit
    how: str = ""  # which command said so

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def waiting(self) -> bool:
        return self.state in WAITING_STATES


def _bad(what: str) -> BadResponseError:
    return BadResponseError(f"Slurm's {what}")


# -- squeue --json -----------------------------------------------------------------------------


def parse_squeue_json(text: str, job_id: str) -> Optional[JobTimes]:
    """The job ``job_id`` from ``squeue --json``; None when it is not listed (gone)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise _bad("squeue --json printed something that is not JSON") from None
    jobs = data.get("jobs") if isinstance(data, Mapping) else None
    if not isinstance(jobs, list):
        raise _bad("squeue --json printed no 'jobs' list")
    for job in jobs:
        if isinstance(job, Mapping) and str(_number(job, "job_id")) == str(job_id):
            return _json_job(job, str(job_id))
    return None


def _json_job(job: Mapping, job_id: str) -> JobTimes:
    state = _json_state(job.get("job_state"))
    limit = _number(job, "time_limit", limit=True)
    start = _number(job, "start_time")
    end = _number(job, "end_time")
    return JobTimes(
        job_id=job_id,
        state=state,
        start=float(start) if start else None,
        end=None if limit is None or not end else float(end),
        limit_s=None if limit is None else float(limit) * 60,
        how="squeue --json",
    )


def _json_state(value: Any) -> str:
    # 22.05 and 23.02: "RUNNING"; 23.11 and later: ["RUNNING"] (with flags such as "COMPLETING").
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value[0].upper()
    raise _bad(f"squeue --json gave a job_state of an unknown shape ({_shape(value)})")


def _number(job: Mapping, name: str, limit: bool = False) -> Optional[int]:
    """A number field in either layout; None when unset (or, for a ``limit``, infinite)."""
    value = job.get(name)
    if isinstance(value, Mapping) and "number" in value:
        if value.get("infinite") is True or value.get("set") is False:
            return None
        value = value.get("number")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"squeue --json gave {name} of an unknown shape ({_shape(value)})")
    if not -MAX_SECONDS <= value <= MAX_SECONDS:  # False for NaN and ±inf too
        raise _bad(f"squeue --json gave {name} = {value!r}, not a number Slurm uses")
    if limit and int(value) in (_NO_VAL32, _INFINITE32):
        return None
    return int(value)


def _shape(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object with " + ", ".join(sorted(str(k) for k in value)[:5])
    return type(value).__name__


# -- squeue -o -----------------------------------------------------------------------------------


def parse_squeue_text(text: str, job_id: str) -> Optional[JobTimes]:
    """The job from ``squeue -h -j ID -o SQUEUE_FORMAT``; None when nothing is listed (gone).
    Jobs listed but not this one: BadResponseError (an older format, another job's id)."""
    listed = [line.split() for line in text.splitlines() if line.strip()]
    for fields in listed:
        if fields[0] != str(job_id):
            continue
        if len(fields) != 5:
            raise _bad(f"squeue printed {len(fields)} fields where 5 were asked for")
        _, state, start, end, limit = fields
        limit_s = parse_duration(limit)
        return JobTimes(
            job_id=str(job_id),
            state=state.upper(),
            start=_epoch(start, "squeue"),
            end=None if limit_s is None else _epoch(end, "squeue"),
            limit_s=limit_s,
            how="squeue",
        )
    if listed:
        shown = ", ".join(fields[0][:20] for fields in listed[:3])
        raise _bad(f"squeue -j {job_id} listed {shown} but not job {job_id}")
    return None


# -- scontrol ------------------------------------------------------------------------------------


def parse_scontrol_job(text: str, job_id: str) -> Optional[JobTimes]:
    """The job from ``scontrol show job -o ID`` (one line per job: a heterogeneous job's
    components, an array's tasks); None when no line is this job."""
    jobs = [_key_values(line) for line in text.splitlines()]
    jobs = [fields for fields in jobs if fields]
    if not jobs:
        raise _bad("scontrol show job printed no Key=Value fields")
    fields = next((f for f in jobs if f.get("JobId") == str(job_id)), None)
    if fields is None:
        return None
    if "TimeLimit" not in fields or "JobState" not in fields:
        raise _bad("scontrol show job printed no TimeLimit or JobState")
    limit_s = parse_duration(fields["TimeLimit"])
    return JobTimes(
        job_id=str(job_id),
        state=fields["JobState"].upper(),
        start=_epoch(fields.get("StartTime", ""), "scontrol"),
        end=None if limit_s is None else _epoch(fields.get("EndTime", ""), "scontrol"),
        limit_s=limit_s,
        how="scontrol",
    )


def _key_values(text: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep and key and key not in out:
            out[key] = value
    return out


def parse_config(text: str) -> Dict[str, str]:
    """``scontrol show config``: ``Key = Value`` lines as a dict (values stripped)."""
    out: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


# -- values --------------------------------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def parse_duration(text: str) -> Optional[float]:
    """Seconds from a Slurm limit: ``UNLIMITED`` (None), ``5`` (minutes), ``5:00`` (min:s),
    ``1:05:00`` (h:min:s), ``2-03:00:00`` (days); BadResponseError otherwise."""
    word = text.strip()
    if word.upper() in _NO_LIMIT_WORDS or word.upper() == "PARTITION_LIMIT":
        return None
    match = _DURATION.match(word)
    if not match:
        raise _bad(f"time limit {word[:40]!r} is not a duration")
    days, a, b, c = match.groups()
    if any(len(part or "") > 9 for part in match.groups()):
        raise _bad(f"time limit {word[:40]!r} is out of range")
    if b is None:  # minutes, or days-hours
        seconds = int(a) * 3600 if days else int(a) * 60
    elif c is None:  # minutes:seconds, or days-hours:minutes
        seconds = int(a) * 3600 + int(b) * 60 if days else int(a) * 60 + int(b)
    else:
        seconds = int(a) * 3600 + int(b) * 60 + int(c)
    return float(seconds + int(days or 0) * 86400)


_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def _epoch(text: str, what: str) -> Optional[float]:
    """Epoch seconds (``SLURM_TIME_FORMAT=%s``) or Slurm's local ISO time; None for none."""
    word = text.strip()
    if word.isdigit():
        if float(word) > MAX_SECONDS:  # inf for hundreds of digits: no time Slurm prints
            raise _bad(f"{what} printed the time {word[:40]!r}, out of range")
        return float(word) or None  # 0: not set
    if word.upper() in ("N/A", "NONE", "UNKNOWN", "(NULL)", ""):
        return None
    if _ISO.match(word):  # printed on this host's local time zone
        return time.mktime(time.strptime(word, "%Y-%m-%dT%H:%M:%S"))
    raise _bad(f"{what} printed the time {word[:40]!r}, not epoch seconds or ISO time")

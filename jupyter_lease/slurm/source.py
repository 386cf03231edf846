"""A Slurm job's walltime as a lease: :class:`SlurmSource`, a :class:`LeaseSource`.

The deadline is the job's EndTime as slurmctld reports it, read from the scheduler every
time (never from variables a site must remember to set), on this host's clock (offset 0).
A job without a time limit reads as ``off``, a finished or vanished job as ``stopped``.

Extending is ``scontrol update JobId=ID TimeLimit=+N``, which Slurm allows root and its
SlurmUser only (operators too, with accounting); an ordinary user gets "Access/permission
denied". So :attr:`SlurmSource.can_extend` says whether this user may, and where not,
:meth:`SlurmSource.extend` raises :class:`ExtendNotAllowedError` with the site's words
(``JUPYTER_LEASE_SLURM_EXTEND_HELP``), sending nothing.
"""

from __future__ import annotations

import math
import os
import pwd
import re
import time
from typing import Callable, Iterator, List, Mapping, Optional, Tuple

from .._errors import (
    BadResponseError,
    ConfigurationError,
    DurationError,
    ExtendNotAllowedError,
    ExtendRefusedError,
)
from ..core.reading import Reading
from ..core.reading_status import ReadingOnlySource
from .commands import SlurmCommandError, SlurmCommands
from .discover import job_id_from
from .parse import (
    SQUEUE_FORMAT,
    JobTimes,
    parse_config,
    parse_scontrol_job,
    parse_squeue_json,
    parse_squeue_text,
)

__all__ = [
    "DEFAULT_EXTEND_HELP",
    "EXTEND_CHOICES",
    "EXTEND_HELP_ENV",
    "EXTEND_RANGE",
    "ExtendNotAllowedError",
    "SlurmSource",
]

EXTEND_HELP_ENV = "JUPYTER_LEASE_SLURM_EXTEND_HELP"
DEFAULT_EXTEND_HELP = (
    "this site does not let users extend Slurm jobs: ask the cluster's administrators to "
    "raise the time limit of job {job_id}"
)
EXTEND_CHOICES: Tuple[str, ...] = ("30m", "1h", "2h", "4h", "8h")
EXTEND_RANGE: Tuple[float, float] = (60.0, 7 * 86400.0)  # seconds; Slurm counts minutes
_DENIED = ("access/permission denied", "permission denied", "access denied")


class SlurmSource(ReadingOnlySource):
    """The walltime of Slurm job ``job_id``, read with squeue (JSON, then text) or scontrol.

    ``can_extend``: None detects it (root, or the cluster's SlurmUser); a site whose operators
    may extend says True. ``extend_help``: the one line an ordinary user gets instead of an
    extension (``{job_id}`` is filled in); default: ``$JUPYTER_LEASE_SLURM_EXTEND_HELP``.
    """

    PROVIDER = "slurm"

    def __init__(
        self,
        job_id: str,
        *,
        commands: Optional[SlurmCommands] = None,
        cluster: str = "",
        can_extend: Optional[bool] = None,
        extend_help: Optional[str] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        job_id = str(job_id).strip()
        if not job_id.isdigit():
            raise ConfigurationError(f"a Slurm job id is a number, not {job_id[:40]!r}")
        self.job_id = job_id
        self.commands = commands or SlurmCommands()
        env = self.commands.environ
        self.cluster = cluster or env.get("SLURM_CLUSTER_NAME", "")
        self._can_extend = can_extend
        self._help = extend_help or env.get(EXTEND_HELP_ENV) or DEFAULT_EXTEND_HELP
        self._clock = clock
        self._last = Reading(source=self.name, source_id=self.source_id)

    @classmethod
    def from_environ(
        cls, environ: Optional[Mapping[str, str]] = None, **options: object
    ) -> SlurmSource:
        """The job this process runs in (``SLURM_JOB_ID``); ConfigurationError outside one."""
        env = dict(os.environ if environ is None else environ)
        found = job_id_from(env)
        if found is None:
            raise ConfigurationError("not inside a Slurm job: SLURM_JOB_ID is not set")
        options.setdefault("commands", SlurmCommands(env))
        return cls(found[0], **options)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"SlurmSource({self.job_id!r}, cluster={self.cluster!r})"

    @property
    def name(self) -> str:
        return f"Slurm job {self.job_id}"

    @property
    def source_id(self) -> str:
        return f"slurm:{self.cluster}:{self.job_id}"

    @property
    def extend_help(self) -> str:
        return self._help.replace("{job_id}", self.job_id)

    def describe(self) -> str:
        where = f" on cluster {self.cluster}" if self.cluster else ""
        return f"{self.name}{where} (walltime from squeue or scontrol)"

    # -- reading -------------------------------------------------------------------------------

    def read(self) -> Reading:
        """The job's walltime now; the last known reading, stale, when Slurm cannot be asked."""
        try:
            self._last = self._reading(self._fetch(), self._clock())
        except (SlurmCommandError, BadResponseError) as exc:
            self._last = self._last.with_error(str(exc))
        return self._last

    def _fetch(self) -> Optional[JobTimes]:
        """The job's times from the first command that answers; None: Slurm no longer knows it."""
        errors: List[str] = []
        skip = set()
        for command, args, parse in self._readers():
            if command in skip:
                continue
            try:
                return parse(self.commands.run(command, *args), self.job_id)
            except SlurmCommandError as exc:
                if "invalid job id" in exc.stderr.lower():
                    return None  # left the queue (MinJobAge after its end)
                if exc.reason in ("missing", "timeout"):
                    skip.add(command)  # the text form would wait as long again
                errors.append(str(exc))
            except BadResponseError as exc:
                errors.append(str(exc))
        raise SlurmCommandError("; ".join(dict.fromkeys(errors)), reason="failed")

    def _readers(self) -> Iterator[Tuple[str, Tuple[str, ...], Callable]]:
        job = self.job_id
        # 22.05 ignores -j with --json (every job is listed); later versions honour it.
        yield "squeue", ("--json", "-j", job), parse_squeue_json
        yield "squeue", ("-h", "-j", job, "-o", SQUEUE_FORMAT), parse_squeue_text
        yield "scontrol", ("show", "job", "-o", job), parse_scontrol_job

    def _reading(self, times: Optional[JobTimes], now: float) -> Reading:
        base = dict(read_at=now, source=self.name, source_id=self.source_id, subject="job")
        if times is None or not (times.active or times.waiting):
            return Reading(kind="stopped", **base)
        if times.waiting:
            return Reading(kind="unknown", error=f"{self.name} has not started yet", **base)
        if times.limit_s is None:
            return Reading(kind="off", off_label="no time limit", **base)
        if times.end is None:
            raise BadResponseError(f"{times.how} gave {self.name} a time limit but no end time")
        return Reading(
            kind="timed",
            deadline=times.end,
            started_at=times.start,
            can_extend=self.can_extend,
            extend_range=EXTEND_RANGE,
            extend_choices=EXTEND_CHOICES,
            **base,
        )

    # -- extending -----------------------------------------------------------------------------

    @property
    def can_extend(self) -> bool:
        """Whether this user may raise the job's limit: root, or the cluster's SlurmUser."""
        if self._can_extend is None:
            self._can_extend = _may_raise_limits(self.commands)  # None again: ask next time
        return bool(self._can_extend)

    def extend(self, seconds: float, force: bool = False) -> Reading:
        """Add ``seconds`` (whole minutes, rounded up) to the job's time limit; read back.

        Raises for a caller's mistake only: a duration outside :data:`EXTEND_RANGE`, a user
        who may not extend (:class:`ExtendNotAllowedError`), a job without a time limit or not
        running (:class:`ExtendRefusedError`: ``+N`` on no limit wraps around to a short one,
        so ``force`` does not override it). A failure upstream is a stale reading.
        """
        minutes = _minutes(seconds)
        if not self.can_extend:
            raise ExtendNotAllowedError(self.extend_help)
        current = self.read()
        if current.stale:
            return current  # without a fresh limit, never send +N blind
        if current.kind == "off":
            raise ExtendRefusedError(f"{self.name} has no time limit: there is nothing to extend")
        if current.kind != "timed":
            raise ExtendRefusedError(f"{self.name} is not running: there is nothing to extend")
        change = (f"JobId={self.job_id}", f"TimeLimit=+{minutes}")
        try:
            self.commands.run("scontrol", "update", *change)
        except SlurmCommandError as exc:
            if any(word in exc.stderr.lower() for word in _DENIED):
                self._can_extend = False  # asked once; the answer will not change
                raise ExtendNotAllowedError(self.extend_help) from None
            self._last = self._last.with_error(f"extending failed: {exc}")
            return self._last
        return self.read()


def _minutes(seconds: float) -> int:
    low, high = EXTEND_RANGE
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise DurationError(f"extend takes seconds, not {type(seconds).__name__}")
    if not (math.isfinite(seconds) and low <= seconds <= high):
        raise DurationError(
            f"a Slurm job is extended by {low / 60:g} min to {high / 86400:g} days, "
            f"not {seconds:g} s"
        )
    return int(math.ceil(seconds / 60))


def _may_raise_limits(commands: SlurmCommands) -> Optional[bool]:
    """Root may; so may the user Slurm runs as (``SlurmUser = name(uid)`` in ``scontrol show
    config``). None when that cannot be read now: no Extend is offered meanwhile."""
    uid = os.geteuid()
    if uid == 0:
        return True
    try:
        config = parse_config(commands.run("scontrol", "show", "config"))
    except SlurmCommandError:
        return None
    match = re.match(r"^([^(\s]*)(?:\((\d+)\))?", config.get("SlurmUser", ""))
    name, number = match.groups() if match else ("", None)
    if number is not None:
        return int(number) == uid
    try:
        return bool(name) and name == pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        return False

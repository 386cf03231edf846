"""Where am I, for Slurm: the job this process runs in, the commands and version at hand, and
whether the job asked for a warning signal. Plain data for ``doctor`` to print as it is.

Each finding is a :class:`Fact`: what, the value, and how it was found. Nothing here raises
for what it cannot find: a command that fails leaves its one-line error as the value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

from .commands import SlurmCommandError, SlurmCommands

__all__ = ["JOB_ID_VARIABLES", "Fact", "discover", "job_id_from", "signal_from_script"]

# Set by sbatch, srun and salloc alike; SLURM_JOBID is the older spelling.
JOB_ID_VARIABLES: Tuple[str, ...] = ("SLURM_JOB_ID", "SLURM_JOBID")
_JOB_ID = re.compile(r"^\d+$")
_SIGNAL_LINE = re.compile(r"^#SBATCH\s+--signal[= ]\s*(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Fact:
    """One line of a doctor report: ``what`` is ``value``, found by ``how``."""

    what: str
    value: str
    how: str


def job_id_from(environ: Optional[Mapping[str, str]] = None) -> Optional[Tuple[str, str]]:
    """``(job id, variable it came from)`` when this process runs inside a Slurm job."""
    env = os.environ if environ is None else environ
    for name in JOB_ID_VARIABLES:
        value = env.get(name, "").strip()
        if _JOB_ID.match(value):
            return value, name
    return None


def signal_from_script(script: str) -> Optional[str]:
    """The ``--signal`` value of a batch script's ``#SBATCH`` lines (the last wins), or None."""
    found = _SIGNAL_LINE.findall(script)
    return found[-1] if found else None


def discover(
    environ: Optional[Mapping[str, str]] = None, commands: Optional[SlurmCommands] = None
) -> List[Fact]:
    """Everything ``doctor`` shows about Slurm, in the order a person checks it."""
    env = dict(os.environ if environ is None else environ)
    cmds = commands or SlurmCommands(env)
    job = job_id_from(env)
    facts = [
        Fact("Slurm job", job[0], job[1])
        if job
        else Fact("Slurm job", "none", f"{' and '.join(JOB_ID_VARIABLES)} are not set"),
        _conf_fact(env),
    ]
    for name in ("squeue", "scontrol"):
        path = cmds.which(name)
        facts.append(Fact(name, path or "not found", "PATH"))
    facts.append(_version_fact(cmds))
    if job:
        facts.append(_signal_fact(cmds, job[0]))
    return facts


def _conf_fact(env: Mapping[str, str]) -> Fact:
    if env.get("SLURM_CONF"):
        return Fact("Slurm configuration", env["SLURM_CONF"], "SLURM_CONF")
    return Fact(
        "Slurm configuration",
        "Slurm's default",
        "SLURM_CONF is not set: /etc/slurm/slurm.conf, or slurmctld found by DNS",
    )


def _version_fact(cmds: SlurmCommands) -> Fact:
    try:
        words = cmds.run("scontrol", "--version").split()
    except SlurmCommandError as exc:
        return Fact("Slurm version", "unknown", str(exc))
    return Fact("Slurm version", words[-1] if words else "unknown", "scontrol --version")


def _signal_fact(cmds: SlurmCommands, job_id: str) -> Fact:
    """Whether the job asked for a signal before its end (``--signal``). Slurm 22.05 shows it
    nowhere but in the batch script's ``#SBATCH`` lines; a command-line one stays unseen."""
    how = f"scontrol write batch_script {job_id}"
    try:
        script = cmds.run("scontrol", "write", "batch_script", job_id, "-")
    except SlurmCommandError as exc:
        return Fact("--signal", "unknown", f"{how}: {exc}")
    found = signal_from_script(script)
    if found:
        return Fact("--signal", found, how)
    return Fact(
        "--signal",
        "not in the batch script",
        f"{how} (one given to sbatch's command line is not shown)",
    )

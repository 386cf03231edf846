"""Slurm in the provider registry (:mod:`jupyter_lease.watch.providers`): whether this process
runs inside a job, its :class:`~.source.SlurmSource`, and that source behind the shared cache."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..watch.providers import NOT_FIRST, Choice, shared_cache

__all__ = ["build", "cached", "detect"]


def detect(env: Mapping[str, str], location: Mapping[str, Optional[str]]) -> Optional[Choice]:
    """Slurm, inside a job (``SLURM_JOB_ID``)."""
    from .discover import job_id_from

    job = job_id_from(env)
    if job is None:
        return None

    return Choice("slurm", f"{NOT_FIRST}, and {job[1]}={job[0]} (a Slurm job)")


def build(
    choice: Choice, location: Mapping[str, Optional[str]], environ: Optional[Mapping[str, str]]
) -> Any:
    from .source import SlurmSource

    return SlurmSource.from_environ(environ)


cached = shared_cache

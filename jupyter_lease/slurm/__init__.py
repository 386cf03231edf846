"""Slurm as a lease provider: a job's walltime, read from the scheduler, as a :class:`Reading`.

:class:`SlurmSource` is the :class:`~jupyter_lease.core.LeaseSource`; :func:`discover` is what
``doctor`` shows (the job, the commands, the version, ``--signal``). The modules: ``parse``
(pure: squeue's JSON and text, scontrol), ``commands`` (running them, bounded), ``source`` and
``discover``.
"""

from __future__ import annotations

from .commands import SlurmCommandError, SlurmCommands
from .discover import Fact, discover, job_id_from
from .source import ExtendNotAllowedError, SlurmSource

__all__ = [
    "ExtendNotAllowedError",
    "Fact",
    "SlurmCommandError",
    "SlurmCommands",
    "SlurmSource",
    "discover",
    "job_id_from",
]

"""The provider-neutral core: what a lease source reads, and how every view says it.

Pure: no I/O, no clock reads (``now`` is passed in), cheap to import. A provider (ModelArts,
the simulator, later Slurm) turns what it knows into a :class:`Reading`; every view turns a
reading into words with :func:`present` (and the browser with ``static/present.js``).
"""

from __future__ import annotations

from .present import (
    DEFAULT_EXTEND_CHOICES,
    DEFAULT_WARN_AT,
    DEFAULT_WARN_AT_S,
    STAGES,
    Presentation,
    format_remaining,
    present,
    stage_for,
    thresholds_from,
)
from .reading import KINDS, LeaseSource, Reading, newer

__all__ = [
    "DEFAULT_EXTEND_CHOICES",
    "DEFAULT_WARN_AT",
    "DEFAULT_WARN_AT_S",
    "KINDS",
    "STAGES",
    "LeaseSource",
    "Presentation",
    "Reading",
    "format_remaining",
    "newer",
    "present",
    "stage_for",
    "thresholds_from",
]

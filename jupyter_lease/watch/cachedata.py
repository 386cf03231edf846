"""Where the shared lease cache lives and what it holds: the file's name and its JSON (a
:class:`CacheEntry`: the last good :class:`~jupyter_lease.core.Reading` with its provider's
opaque ``extra``, and the last failure). Pure apart from reading the environment; how the file is
read and written safely is :mod:`jupyter_lease.watch.cachefile`, how it is used
:mod:`jupyter_lease.watch.cache`. Provider-neutral: any source's reading, keyed by its
``identity()``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping, Optional

from ..core.reading import Reading, one_line

__all__ = [
    "CACHE_DIR_ENV",
    "FORMAT",
    "CacheEntry",
    "cache_dir",
    "cache_path",
]

CACHE_DIR_ENV = "JUPYTER_LEASE_CACHE_DIR"
FORMAT = "jupyter_lease.cache/2"
# Times in the file are epoch seconds: anything beyond year 2200 either way is not something
# this package wrote, and would overflow datetime arithmetic.
_MAX_SECONDS = 7_258_118_400.0


# -- where ---------------------------------------------------------------------------------


def cache_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    """``$JUPYTER_LEASE_CACHE_DIR``, else the Jupyter runtime dir (shared by server and kernels)."""
    env = os.environ if environ is None else environ
    override = env.get(CACHE_DIR_ENV, "").strip()
    if override:
        return os.path.abspath(os.path.expanduser(override))
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return str(jupyter_runtime_dir())
    except Exception:  # jupyter_core missing (a bare `pip install` + CLI): its default layout
        runtime = env.get("JUPYTER_RUNTIME_DIR", "").strip()
        if runtime:
            return runtime
        return os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter", "runtime")


def cache_path(key: str, directory: Optional[str] = None) -> str:
    """The cache file of the lease ``key`` names (a source's ``identity()``):
    ``<dir>/jupyter_lease-<hash16>.json``."""
    digest = hashlib.sha256(f"lease\n{key}".encode()).hexdigest()
    return os.path.join(directory or cache_dir(), f"jupyter_lease-{digest[:16]}.json")


# -- what --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheEntry:
    """The file's content. Times are this machine's epoch seconds (``time.time()``)."""

    reading: Optional[Reading] = None  # the last good reading (never a stale one), with extra
    fetched_at: Optional[float] = None  # when it was read from the source
    error: Optional[str] = None  # the last failure's line (scrubbed); None after a success
    error_at: Optional[float] = None  # when that failure happened
    failure: Optional[Reading] = None  # that failed read (its error and detail), for sharing
    failures: int = 0  # consecutive failed reads, across all processes

    def age(self, now: float) -> Optional[float]:
        return None if self.fetched_at is None else now - self.fetched_at

    @property
    def clock_offset(self) -> Optional[float]:
        return None if self.reading is None else self.reading.clock_offset

    def shown(self) -> Optional[Reading]:
        """What a view shows from the file alone: the last good reading, stale with the last
        error when the last attempt failed; None before any good read."""
        if self.reading is None:
            return None
        return self.stale_reading() if self.error else self.reading

    def stale_reading(self, failed: Optional[Reading] = None) -> Reading:
        """The last known reading (or none), stale with ``failed``'s (else the recorded) error."""
        failed = failed or self.failure or Reading(error=self.error)
        if failed.error is None:
            failed = replace(failed, error="the lease could not be read")
        return (self.reading or Reading()).stale_as(failed)

    def to_json(self, key: str) -> Dict[str, Any]:
        failure = self.failure
        return {
            "format": FORMAT,
            "key": key,
            "reading": None if self.reading is None else self.reading.to_json(),
            "extra": None if self.reading is None else _plain(self.reading.extra),
            "fetched_at": self.fetched_at,
            "error": self.error,
            "error_at": self.error_at,
            "failure": None if failure is None else (failure.extra or {}).get("failure"),
            "failures": self.failures,
            "pid": os.getpid(),
        }

    @classmethod
    def from_json(cls, data: Any, key: str) -> CacheEntry:
        """Parse the file's JSON; ``ValueError`` (or BadResponseError) for anything else."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            raise ValueError("not a cache file for this lease")
        failures = data.get("failures", 0)
        if not isinstance(failures, int) or isinstance(failures, bool):
            raise ValueError("failures is not an integer")
        raw = data.get("reading")
        reading = (
            None if raw is None else replace(Reading.from_json(raw), extra=_dict(data, "extra"))
        )
        error = one_line(data.get("error")) if isinstance(data.get("error"), str) else None
        detail = {"failure": data["failure"]} if _dict(data, "failure") else None
        return cls(
            reading=reading,
            fetched_at=_number(data, "fetched_at"),
            error=error,
            error_at=_number(data, "error_at"),
            failure=None if error is None else Reading(stale=True, error=error, extra=detail),
            # ``detail``: {"failure": …}, as Reading.with_error keeps it
            failures=max(0, failures),
        )


def _plain(extra: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    return None if not extra else dict(extra)


def _dict(data: Mapping[str, Any], name: str) -> Optional[Dict[str, Any]]:
    value = data.get(name)
    return value if isinstance(value, dict) and value else None


def _number(data: Mapping[str, Any], name: str) -> Optional[float]:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} is not a number")
    if not -_MAX_SECONDS <= value <= _MAX_SECONDS:  # False for NaN and ±inf too
        raise ValueError(f"{name} is out of range")
    return float(value)

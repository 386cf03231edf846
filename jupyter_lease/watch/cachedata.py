"""Where the shared lease cache lives and what it holds: the file's name, its JSON (a
:class:`CacheEntry`) and a failure recorded in it. Pure apart from reading the environment;
how the file is read and written safely is :mod:`jupyter_lease.watch.cachefile`, how it is used
is :mod:`jupyter_lease.watch.cache`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from .. import _errors
from .._errors import APIError, LeaseError, ThrottledError, scrub
from ..core import Reading
from ..modelarts.lease import Lease, lease_reading

__all__ = [
    "CACHE_DIR_ENV",
    "FORMAT",
    "CacheEntry",
    "cache_dir",
    "cache_key",
    "cache_path",
    "error_detail",
    "rebuild_error",
]

CACHE_DIR_ENV = "JUPYTER_LEASE_CACHE_DIR"
FORMAT = "jupyter_lease.cache/1"
# Times in the file are epoch seconds (or an offset between two clocks): anything beyond year
# 2200 either way is not something this package wrote, and would overflow datetime arithmetic.
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


def cache_key(endpoint: str, project_id: str, notebook_id: str) -> str:
    """A stable hash of what identifies one lease upstream."""
    raw = "\n".join((endpoint.rstrip("/").lower(), project_id, notebook_id.lower()))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def cache_path(
    endpoint: str, project_id: str, notebook_id: str, directory: Optional[str] = None
) -> str:
    """The cache file for one lease: ``<dir>/jupyter_lease-<hash16>.json``."""
    key = cache_key(endpoint, project_id, notebook_id)
    return os.path.join(directory or cache_dir(), f"jupyter_lease-{key[:16]}.json")


# -- what --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheEntry:
    """The file's content. Local times are this machine's epoch seconds (``time.time()``)."""

    lease: Optional[Lease] = None
    fetched_at: Optional[float] = None  # local clock when ``lease`` was read upstream
    server_time: Optional[float] = None  # the server's clock at that moment
    clock_offset: Optional[float] = None  # server clock − local clock, as measured
    error: Optional[str] = None  # the last failure's line (scrubbed); None after a success
    error_at: Optional[float] = None  # local clock when that failure happened
    error_detail: Optional[Dict[str, Any]] = None  # enough to raise the same error again
    failures: int = 0  # consecutive failed fetches, across all processes

    def age(self, now: float) -> Optional[float]:
        return None if self.fetched_at is None else now - self.fetched_at

    def reading(self, notebook_id: str) -> Reading:
        """The lease as every view gets it (stale, with the error, after a failed refresh):
        the server extension serves this, and a kernel whose poll the cache answered shows it."""
        assert self.lease is not None
        return lease_reading(
            self.lease,
            read_at=self.server_time,
            clock_offset=self.clock_offset,
            notebook_id=notebook_id,
            error=self.error,
        )

    def to_json(self, key: str) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "key": key,
            "lease": None if self.lease is None else self.lease.to_json(),
            "fetched_at": self.fetched_at,
            "server_time": self.server_time,
            "clock_offset": self.clock_offset,
            "error": self.error,
            "error_at": self.error_at,
            "error_detail": self.error_detail,
            "failures": self.failures,
            "pid": os.getpid(),
        }

    @classmethod
    def from_json(cls, data: Any, key: str) -> CacheEntry:
        """Parse the file's JSON; ``ValueError`` for anything not written by this format."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            raise ValueError("not a cache file for this lease")
        lease = data.get("lease")
        detail = data.get("error_detail")
        error = data.get("error")
        failures = data.get("failures", 0)
        if not isinstance(failures, int) or isinstance(failures, bool):
            raise ValueError("failures is not an integer")
        return cls(
            lease=None if lease is None else Lease.from_json(lease),
            fetched_at=_number(data, "fetched_at"),
            server_time=_number(data, "server_time"),
            clock_offset=_number(data, "clock_offset"),
            error=error if isinstance(error, str) else None,
            error_at=_number(data, "error_at"),
            error_detail=detail if isinstance(detail, dict) else None,
            failures=max(0, failures),
        )


def _number(data: Mapping[str, Any], name: str) -> Optional[float]:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} is not a number")
    if not -_MAX_SECONDS <= value <= _MAX_SECONDS:  # False for NaN and ±inf too
        raise ValueError(f"{name} is out of range")
    return float(value)


# -- errors in the file ------------------------------------------------------------------------


def error_detail(exc: LeaseError) -> Dict[str, Any]:
    detail: Dict[str, Any] = {"type": type(exc).__name__, "message": scrub(exc.message)}
    if isinstance(exc, APIError):
        detail.update(status=exc.status, code=exc.code, request_id=exc.request_id)
    if isinstance(exc, ThrottledError):
        detail["retry_after"] = exc.retry_after
    return detail


def rebuild_error(detail: Mapping[str, Any]) -> LeaseError:
    """The same exception class and fields as the failure another process recorded."""
    message = str(detail.get("message") or "the lease could not be read")
    cls = getattr(_errors, str(detail.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, LeaseError)):
        cls = APIError
    fields = {k: detail.get(k) for k in ("status", "code", "request_id")}
    if issubclass(cls, ThrottledError):
        fields["retry_after"] = detail.get("retry_after")
    try:
        return cls(message, **fields) if issubclass(cls, APIError) else cls(message)
    except (TypeError, ValueError):  # an exotic constructor: the line still says what failed
        return APIError(message, **{k: v for k, v in fields.items() if k != "retry_after"})

"""The one lease a kernel process has: its client and its watcher, shared by magic, widget and API.

A kernel runs on one notebook instance, so one watcher per process is the right number: the
magic, the widgets and ``jupyter_lease.remaining()`` all read the same countdown, and the
upstream API sees one poller however many views are open.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Dict, Optional, Tuple

from ..core.schedule import PollSchedule
from .watcher import DEFAULT_THRESHOLDS, Watcher

__all__ = ["Runtime", "Settings", "existing_runtime", "get_runtime"]


@dataclass(frozen=True)
class Settings:
    """What configuration (traitlets, API arguments) decides about the watcher."""

    location: Dict[str, Optional[str]] = field(default_factory=dict)  # explicit discovery args
    warn_at: Tuple[timedelta, ...] = DEFAULT_THRESHOLDS
    schedule: PollSchedule = PollSchedule()


class Runtime:
    """Owns the process's lease client and watcher; creates both lazily, never at import."""

    def __init__(self, watcher_options: Optional[Dict[str, Any]] = None) -> None:
        self._lock = threading.RLock()
        self.settings = Settings()
        self._client: Any = None
        self._watcher: Optional[Watcher] = None
        self._watcher_options = dict(watcher_options or {})

    def configure(self, **changes: Any) -> None:
        """Apply new settings; a new location drops the client so the next poll rediscovers."""
        with self._lock:
            old = self.settings
            self.settings = replace(old, **changes)
            if self.settings.location != old.location:
                self._client = None
                if self._watcher is not None:
                    self._watcher.forget_client()
            if self._watcher is not None:
                self._watcher.warn_at = self.settings.warn_at
                self._watcher.schedule = self.settings.schedule

    def client(self) -> Any:
        """The shared lease source: a ``LeaseClient`` behind the machine-wide cache, so all
        kernels and the server make one ShowLease per poll interval between them.
        Discovery errors propagate (``ConfigurationError``)."""
        with self._lock:
            if self._client is None:
                from ..modelarts.client import LeaseClient
                from ..modelarts.discovery import discover
                from .cache import CachedLeaseSource

                explicit = {k: v for k, v in self.settings.location.items() if v}
                # The schedule is read on every show(): %config may change it after creation.
                self._client = CachedLeaseSource(
                    LeaseClient(discover(**explicit)), schedule=lambda: self.settings.schedule
                )
            return self._client

    def watcher(self) -> Watcher:
        """The process's watcher (created if needed, not started)."""
        with self._lock:
            if self._watcher is None:
                self._watcher = Watcher(
                    self.client,
                    schedule=self.settings.schedule,
                    warn_at=self.settings.warn_at,
                    **self._watcher_options,
                )
            return self._watcher

    def watch(self) -> Watcher:
        """The watcher, running."""
        return self.watcher().start()

    @property
    def watching(self) -> bool:
        return self._watcher is not None and self._watcher.running

    def stop(self) -> None:
        """Stop the watcher thread (instantly: it sleeps on an Event)."""
        with self._lock:
            if self._watcher is not None:
                self._watcher.stop()

    def close(self) -> None:
        """Stop and forget everything: the next use starts from scratch."""
        with self._lock:
            self.stop()
            self._watcher = None
            if self._client is not None:
                self._client.close()
            self._client = None


_RUNTIME: Optional[Runtime] = None
_RUNTIME_LOCK = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime."""
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = Runtime()
            # A loaded extension's magic kept its configuration while no runtime existed.
            from ..kernel.extension import configure_runtime

            configure_runtime(_RUNTIME)
        return _RUNTIME


def existing_runtime() -> Optional[Runtime]:
    """The process-wide runtime if it has been created, else None (never creates it)."""
    return _RUNTIME


def active_watchers() -> int:
    """How many watcher threads are alive in this process (reload safety is tested on this)."""
    return sum(
        1 for t in threading.enumerate() if t.name == "jupyter-lease-watcher" and t.is_alive()
    )

"""The one lease a kernel process has: its client and its watcher, shared by magic, widget and API.

A kernel runs on one notebook instance, so one watcher per process is the right number: the
magic, the widgets and ``jupyter_lease.remaining()`` all read the same countdown, and the
upstream API sees one poller however many views are open.
"""

from __future__ import annotations

import threading
from dataclasses import fields, replace
from typing import Any, Optional

from ..core.resolved import Resolved
from .watcher import Watcher

__all__ = ["Runtime", "existing_runtime", "get_runtime"]


class Runtime:
    """Owns the process's lease client and watcher; creates both lazily, never at import."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # c.JupyterLease resolved (settings.resolve), as the loaded magics last applied it.
        self.settings = Resolved()
        self._source: Any = None
        self._watcher: Optional[Watcher] = None

    def configure(self, **changes: Any) -> None:
        """Apply new settings (:class:`Resolved` fields); a new location or provider drops the
        source so the next poll rediscovers."""
        with self._lock:
            old = self.settings
            self.settings = replace(old, **changes)
            new = (self.settings.location, self.settings.provider)
            if new != (old.location, old.provider):
                self._source = None
                if self._watcher is not None:
                    self._watcher.forget_source()
            if self._watcher is not None:
                self._watcher.warn_at = self.settings.warn_at
                self._watcher.schedule = self.settings.schedule

    def apply(self, settings: Resolved) -> None:
        """Take every resolved setting (``jupyter_lease.settings.resolve``)."""
        self.configure(**{f.name: getattr(settings, f.name) for f in fields(settings)})

    def source(self) -> Any:
        """The process's lease source, built by :func:`~.sources.build_source` (behind the
        machine-wide cache, so all kernels and the server make one upstream read per poll
        interval between them). Discovery errors propagate (``ConfigurationError``)."""
        with self._lock:
            if self._source is None:
                from .sources import build_source

                # The schedule is read on every read: %config may change it after creation.
                self._source = build_source(
                    self.settings.location,
                    provider=self.settings.provider,
                    schedule=lambda: self.settings.schedule,
                )
            return self._source

    def watcher(self) -> Watcher:
        """The process's watcher (created if needed, not started)."""
        with self._lock:
            if self._watcher is None:
                self._watcher = Watcher(
                    self.source, schedule=self.settings.schedule, warn_at=self.settings.warn_at
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
            if self._source is not None:
                self._source.close()
            self._source = None


_RUNTIME: Optional[Runtime] = None
_RUNTIME_LOCK = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime."""
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = Runtime()
            # A loaded extension's magic kept its configuration while no runtime existed.
            from ..settings import configure_new_runtime

            configure_new_runtime(_RUNTIME)
        return _RUNTIME


def existing_runtime() -> Optional[Runtime]:
    """The process-wide runtime if it has been created, else None (never creates it)."""
    return _RUNTIME


def active_watchers() -> int:
    """How many watcher threads are alive in this process (reload safety is tested on this)."""
    return sum(
        1 for t in threading.enumerate() if t.name == "jupyter-lease-watcher" and t.is_alive()
    )

"""Sending an alert through Apprise, retried with backoff, on background threads.

Each channel is its own Apprise plugin (a retry goes only to the channels that failed, never
twice to one that took it). A failed try waits the full-jitter delay of
:class:`~..core.retry.RetryPolicy` on an event the server's shutdown sets, then tries again,
:data:`ATTEMPTS` tries in all. Nothing here blocks the lease API or the push: :meth:`Sender.submit`
only starts a daemon thread.

Apprise logs through the ``apprise`` logger, and some of its lines carry a URL's host or
path: that logger is kept out of the server's log (no propagation, a handler of ours that only
keeps the HTTP status or the kind of failure for :meth:`Sender.status`). Our own lines name a
channel by its scheme only (``json://…``); the status line the page shows is built here from
the scheme and that status, never from a URL or an Apprise message.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..core.retry import RetryPolicy
from .channels import INSTALL_LINE, Channel, Channels, apprise_missing
from .decide import Alert

__all__ = ["ATTEMPTS", "Sender"]

# Tries per alert and channel: waits of at most 2, 4, 8, 16, 32, 60, 60 s (full jitter: half
# that on average), so a webhook down for a minute or two still gets the alert.
ATTEMPTS = 8
POLICY = RetryPolicy(attempts=ATTEMPTS, base=2.0, cap=60.0)
_STATUS = re.compile(r"\b(?:error|status|code)[=: ]+([1-5]\d\d)\b|\b([45]\d\d)\b", re.IGNORECASE)


class _Capture(logging.Handler):
    """The ``apprise`` logger's lines, kept per thread (the sending one) and never printed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            lines = getattr(self.local, "lines", None)
            if lines is not None:
                lines.append(record.getMessage())

    def start(self) -> None:
        self.local.lines = []

    def failure(self) -> str:
        """What went wrong, in words of ours: ``HTTP 500``, ``connection failed`` or ``failed``."""
        text = " ".join(getattr(self.local, "lines", None) or [])
        match = _STATUS.search(text)
        if match:
            return f"HTTP {match.group(1) or match.group(2)}"
        if "connection" in text.lower() or "timeout" in text.lower():
            return "connection failed"
        return "failed"


_CAPTURE = _Capture()


def _quiet_apprise() -> None:
    logger = logging.getLogger("apprise")
    if _CAPTURE not in logger.handlers:
        logger.addHandler(_CAPTURE)
    logger.propagate = False
    logger.setLevel(logging.WARNING)


class Sender:
    """Queues alerts; delivers each to every channel with retries; keeps the last outcome."""

    def __init__(
        self,
        channels: Channels,
        log: logging.Logger,
        *,
        policy: RetryPolicy = POLICY,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.log = log
        self.policy = policy
        self._jitter = jitter
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._status: Optional[Dict[str, Any]] = None
        self.missing: Optional[str] = None
        self.use(channels)

    def use(self, channels: Channels) -> None:
        """Send to ``channels`` from now on (the endpoint rewrote the user file)."""
        self.channels = channels
        self.missing = apprise_missing() if channels.channels else None
        with self._lock:
            if self.missing:
                self._status = {"ok": False, "error": INSTALL_LINE, "at": None}
            elif self._status is not None and self._status.get("error") == INSTALL_LINE:
                self._status = None

    @property
    def active(self) -> bool:
        """Channels configured and Apprise installed."""
        return bool(self.channels.channels) and self.missing is None

    def status(self) -> Optional[Dict[str, Any]]:
        """The lease view's ``notify`` field: ``{"ok", "error", "at", "channels"}``; None when
        nothing is configured."""
        if not self.channels.channels:
            return None
        with self._lock:
            status = dict(self._status or {"ok": True, "error": None, "at": None})
        status["channels"] = [c.masked for c in self.channels.channels]
        return status

    def submit(self, alert: Alert) -> None:
        """Deliver ``alert`` in the background (never raises, never blocks)."""
        if self.active and not self._stopping.is_set():
            self.run(lambda: self._deliver(alert, list(self.channels.channels)))

    def run(self, work: Callable[[], None]) -> None:
        """``work`` on a daemon thread of its own: alerts are a handful per lease, and a
        delivery waiting out its backoff must never hold the server's exit (an executor's
        threads are joined at exit) nor the next claim."""
        threading.Thread(target=work, name="jupyter-lease-notify", daemon=True).start()

    def close(self) -> None:
        """Stop retrying: a delivery waiting for its next try gives up."""
        self._stopping.set()

    def _deliver(self, alert: Alert, channels: Sequence[Channel]) -> None:
        pending = list(channels)
        for attempt in range(1, self.policy.attempts + 1):
            failed = [(c, why) for c in pending for why in [self._send_one(c, alert)] if why]
            if not failed:
                self._report(None, alert, attempt)
                return
            pending = [c for c, _ in failed]
            line = "; ".join(f"{c.masked} {why}" for c, why in failed)
            if attempt == self.policy.attempts:
                self._report(f"{alert.kind} alert not delivered: {line}", alert, attempt)
                return
            delay = self.policy.delay(attempt, self._jitter())
            self._report(f"{alert.kind} alert: {line}; trying again", alert, attempt)
            if self._stopping.wait(delay):
                return

    def _send_one(self, channel: Channel, alert: Alert) -> Optional[str]:
        """None when ``channel`` took ``alert``; else why not, in a few words (no URL)."""
        try:
            import apprise

            _quiet_apprise()
            _CAPTURE.start()
            # One plugin, called in this thread (an Apprise() container sends on threads of
            # its own, whose log lines the capture would not see).
            plugin = apprise.Apprise.instantiate(channel.url)
            if plugin is None:
                return "is not a URL Apprise understands"
            if plugin.notify(title=alert.title, body=alert.body):
                return None
            return _CAPTURE.failure()
        except Exception as exc:  # a plugin's own bug must not kill the worker
            return f"failed ({type(exc).__name__})"

    def _report(self, error: Optional[str], alert: Alert, attempt: int) -> None:
        now_ms = int(round(time.time() * 1000))
        with self._lock:
            self._status = {"ok": error is None, "error": error, "at": now_ms}
        if error is None:
            self.log.info(
                "jupyter_lease: %s alert (%s) sent to %s (try %d)",
                alert.kind,
                alert.key,
                self.channels.masked(),
                attempt,
            )
        else:  # a background thread: below WARNING, as every thread of ours
            self.log.info("jupyter_lease: %s", error)

    def masked(self) -> List[str]:
        return [c.masked for c in self.channels.channels]

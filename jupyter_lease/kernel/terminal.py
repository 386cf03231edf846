"""The text renderer: one countdown line for terminals (``jupyter lease watch``, IPython)."""

from __future__ import annotations

import queue
import time
from datetime import timedelta
from typing import Any, Optional, Sequence, TextIO

from .._errors import APIError, LeaseError
from ..core import Presentation
from ..i18n import _, language
from ..watch.watcher import Snapshot, Watcher, WatchEvent

__all__ = ["countdown_line", "warning_line", "watch_in_terminal"]

# One mark per stage (core.STAGES): a log read later shows where the stage changed.
_MARK = {
    "plenty": "●",
    "warning": "▲",
    "critical": "■",
    "expired": "✖",
    "stopped": "✖",
    "idle": "○",
    "off": "○",
    "unknown": "?",
}


def countdown_line(snapshot: Snapshot, mono_now: float, warn_at: Sequence[timedelta]) -> str:
    """``● 1 h 05 min left · stops 14:05:00 local (13:05:00 UTC)``: the headline and detail
    every view shows (``(last known)`` and the error after a failed poll)."""
    shown = snapshot.present(mono_now, warn_at, language())
    text = f"{shown.headline} · {shown.detail}" if shown.detail else shown.headline
    return f"{_MARK.get(shown.stage, '?')} {text}"


def warning_line(shown: Presentation) -> str:
    """The warning of an urgent presentation, with how to extend from here."""
    how = _("`%lease extend 2h` / `jupyter lease extend 2h`")
    return f"⚠ jupyter_lease: {shown.warning} ({how})"


def watch_in_terminal(
    client: Any,
    warn_at: Sequence[timedelta],
    *,
    out: TextIO,
    tick: float = 1.0,
    max_seconds: Optional[float] = None,
) -> int:
    """Run a watcher and redraw one line every ``tick`` seconds until Ctrl-C or the stop.
    When ``out`` is not a terminal, a first read that fails raises its :class:`LeaseError`."""
    events: queue.Queue = queue.Queue()
    watcher = Watcher(lambda: client, warn_at=warn_at)
    watcher.add_listener(events.put)  # the thread only queues; this (main) thread prints
    interactive = bool(getattr(out, "isatty", lambda: False)())
    started = time.monotonic()
    last_plain, last_plain_at = "", float("-inf")
    watcher.start()
    try:
        while max_seconds is None or time.monotonic() - started < max_seconds:
            for event in _drain(events):
                shown = watcher.present(language()) if event.kind == "warning" else None
                if shown is not None and shown.warning:
                    line = warning_line(shown)
                    print(("\r\033[K" if interactive else "") + line + "\a", file=out, flush=True)
            line = countdown_line(watcher.snapshot, watcher.monotonic(), watcher.warn_at)
            if interactive:
                print("\r\033[K" + line, end="", file=out, flush=True)
            elif line[:1] != last_plain[:1] or time.monotonic() - last_plain_at >= 60:
                # Logs get a line a minute, and one at every stage change: not one a second.
                print(line, file=out, flush=True)
                last_plain, last_plain_at = line, time.monotonic()
            if watcher.snapshot.stopped:
                break
            if not interactive:
                _fail_if_never_read(watcher)
            time.sleep(tick)
    finally:
        watcher.stop()
        if interactive:
            print(file=out)
    return 1 if watcher.snapshot.stopped else 0


def _fail_if_never_read(watcher: Watcher) -> None:
    """Output that is not a terminal (a pipe, a log, a script) gets no "checking…" for ever:
    a first read that failed is the error (the CLI's one line and exit code)."""
    snap = watcher.snapshot
    if snap.known or not snap.failures:
        return
    if isinstance(watcher.last_exception, LeaseError):
        raise watcher.last_exception
    raise APIError(snap.last_error or "the lease could not be read")


def _drain(events: queue.Queue[WatchEvent]) -> list:
    items = []
    while True:
        try:
            items.append(events.get_nowait())
        except queue.Empty:
            return items

"""The text renderer: one countdown line for terminals (``jupyter lease watch``, IPython)."""

from __future__ import annotations

import queue
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Sequence, TextIO

from ._duration import format_remaining
from ._schedule import Stage
from ._watcher import Snapshot, Watcher, WatchEvent

__all__ = ["countdown_line", "warning_line", "watch_in_terminal"]

_MARK = {
    Stage.PLENTY: "●",
    Stage.WARNING: "▲",
    Stage.CRITICAL: "■",
    Stage.STOPPED: "✖",
    Stage.UNKNOWN: "?",
    Stage.NO_DEADLINE: "○",
}


def countdown_line(snapshot: Snapshot, mono_now: float, warn_at: Sequence[timedelta]) -> str:
    """``● 1 h 05 min left · stops 14:05 (local)``, plus staleness and errors when relevant."""
    stage = snapshot.stage(mono_now, warn_at)
    lease = snapshot.lease
    if snapshot.stopped:
        text = "the instance is not running"
    elif lease is None:
        text = "lease unknown" + (f": {snapshot.last_error}" if snapshot.last_error else "")
    elif snapshot.deadline is None:
        text = lease.describe(snapshot.server_now(mono_now) or 0.0)
    else:
        left = format_remaining(snapshot.remaining(mono_now) or timedelta(0))
        local = datetime.fromtimestamp(snapshot.deadline, tz=timezone.utc).astimezone()
        text = f"{left} left · stops {local:%H:%M:%S} local"
    if snapshot.stale and lease is not None and not snapshot.stopped:
        text += f" · stale ({snapshot.last_error})" if snapshot.last_error else " · stale"
    return f"{_MARK[stage]} {text}"


def warning_line(remaining: timedelta) -> str:
    return (
        f"⚠ jupyter_lease: {format_remaining(remaining)} left before this instance stops — "
        "save your work, or extend with `%lease extend 2h` / `jupyter lease extend 2h`"
    )


def watch_in_terminal(
    client: Any,
    warn_at: Sequence[timedelta],
    *,
    out: TextIO,
    tick: float = 1.0,
    max_seconds: Optional[float] = None,
) -> int:
    """Run a watcher and redraw one line every ``tick`` seconds until Ctrl-C or the stop."""
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
                if event.kind == "warning":
                    line = warning_line(watcher.remaining() or event.threshold)
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
            time.sleep(tick)
    finally:
        watcher.stop()
        if interactive:
            print(file=out)
    return 1 if watcher.snapshot.stopped else 0


def _drain(events: queue.Queue[WatchEvent]) -> list:
    items = []
    while True:
        try:
            items.append(events.get_nowait())
        except queue.Empty:
            return items

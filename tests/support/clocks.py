"""A monotonic clock for watcher tests: it moves only when told to, and waits return at once."""

from __future__ import annotations

import threading


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.is_set()

"""The watcher: one daemon thread that polls the lease and counts down between polls.

Like tqdm's monitor thread it sleeps on an ``Event`` (so ``stop()`` is instant), takes an
injectable clock (so tests drive it without waiting), and never prints or raises: anything a
person should see goes to listeners, which renderers (widget, terminal line, magic) turn into
output on their own terms. Listeners run in the watcher thread and must not print either.

It polls a :class:`~jupyter_lease.core.LeaseSource` (ModelArts behind the shared cache,
the simulator, Slurm…): each poll's answer is a :class:`~jupyter_lease.core.Reading` (the
deadline on the source's clock, the measured offset beside it), and every view presents it with
:func:`~jupyter_lease.core.present`. A failed read keeps the last known reading, stale.
Between polls the countdown runs on the monotonic clock, anchored to this host's clock at the
poll, so neither a clock step nor a suspended laptop moves the deadline.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Callable, List, Optional, Sequence, Set, Tuple

from .._errors import LeaseError, scrub
from ..core import LeaseSource, Presentation, Reading
from ..core.reading import failure
from ..core.schedule import PollSchedule
from .snapshot import DEFAULT_THRESHOLDS, Listener, Snapshot, WatchEvent, age

__all__ = ["DEFAULT_THRESHOLDS", "Snapshot", "SystemClock", "WatchEvent", "Watcher"]

log = logging.getLogger("jupyter_lease.watcher")

PHASE_STEP = 0.381966  # seconds: the golden ratio's fraction spreads polls evenly over a second


class SystemClock:
    """The real clock. Tests pass an object with the same two methods."""

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()

    @staticmethod
    def wait(event: threading.Event, timeout: float) -> bool:
        return event.wait(timeout)


@dataclass
class _Threshold:
    before: timedelta
    callback: Optional[Callable[[timedelta], Any]] = None  # None: a display threshold
    fired_for: Optional[float] = field(default=None)  # the deadline it last fired for


class Watcher:
    """Poll a lease in the background; tell listeners about changes, stages and thresholds."""

    def __init__(
        self,
        source_factory: Callable[[], LeaseSource],
        *,
        schedule: PollSchedule = PollSchedule(),
        warn_at: Sequence[timedelta] = DEFAULT_THRESHOLDS,
        clock: Any = SystemClock(),
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._source_factory = source_factory
        self._source: Optional[LeaseSource] = None
        self.schedule = schedule
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._poll_lock = threading.RLock()  # the thread and an API caller may poll at once
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._listeners: List[Listener] = []
        self._thresholds: List[_Threshold] = []
        self._snapshot = Snapshot()
        self._next_poll_at: float = float("-inf")
        self._stage: Optional[str] = None
        self.last_exception: Optional[BaseException] = None  # for API callers who must raise it
        self._logged_unexpected: Set[str] = set()  # kinds of unexpected poll failure logged
        self._warn_at: Tuple[timedelta, ...] = ()
        self._quiet: Tuple[Any, Any, float] = (None, None, 0.0)  # quiet(): per reading
        self.warn_at = tuple(warn_at)

    # -- configuration ------------------------------------------------------------------------

    @property
    def warn_at(self) -> Tuple[timedelta, ...]:
        return self._warn_at

    @warn_at.setter
    def warn_at(self, thresholds: Sequence[timedelta]) -> None:
        new = tuple(sorted(set(thresholds), reverse=True))
        with self._lock:
            changed = new != self._warn_at
            self._warn_at = new
            self._thresholds = [t for t in self._thresholds if t.callback is not None]
            self._thresholds += [_Threshold(before) for before in self._warn_at]
        self._wake.set()
        if changed:  # views show the thresholds: tell them
            self._emit(WatchEvent("update", self._snapshot))

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` from the watcher thread. Returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def on_warning(
        self, callback: Callable[[timedelta], Any], before: timedelta
    ) -> Callable[[], None]:
        """Call ``callback(remaining)`` once per lease when less than ``before`` is left."""
        entry = _Threshold(before, callback)
        with self._lock:
            self._thresholds.append(entry)
        self._wake.set()

        def remove() -> None:
            with self._lock:
                if entry in self._thresholds:
                    self._thresholds.remove(entry)

        return remove

    # -- reading ------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def remaining(self) -> Optional[timedelta]:
        return self._snapshot.remaining(self._clock.monotonic())

    def quiet(self) -> bool:
        """True while no view can be warning now: one comparison, for the pre-run hook of every
        cell (``present()`` costs ~40 µs; the instant is worked out once per reading)."""
        snap, warn_at, cached = self._snapshot, self._warn_at, self._quiet
        if cached[0] is not snap or cached[1] is not warn_at:
            cached = self._quiet = (snap, warn_at, snap.warns_from(warn_at))
        return self._clock.monotonic() < cached[2]

    def present(self, lang: str = "en") -> Presentation:
        """What the lease looks like now, in the words every view uses (in ``lang``)."""
        return self._snapshot.present(self._clock.monotonic(), self._warn_at, lang)

    def stage(self) -> str:
        return self.present().stage

    def health(self) -> dict:
        """Poller health for ``%lease status``: running, polls, failures, last success, error."""
        snap = self._snapshot
        last = snap.last_success_wall
        return {
            "running": self.running,
            "polls": snap.polls,
            "failures": snap.failures,
            "last_error": snap.last_error,
            "stale": snap.stale,
            "last_success_ago": None if last is None else max(0.0, self._wall() - last),
        }

    def forget_source(self) -> None:
        """Build the source afresh at the next poll (the location settings changed)."""
        self._source = None
        self.refresh()

    @property
    def source(self) -> LeaseSource:
        """The lease source, created on first use (discovery may fail: that is a poll error)."""
        if self._source is None:
            self._source = self._source_factory()
        return self._source

    # -- the thread ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Watcher:
        if self.running:
            return self
        # Each run has its own stop event: a thread that outlives stop()'s join (a poll taking
        # longer than the timeout) still sees its own event set when the poll returns, and
        # exits, even if start() has begun a new run meanwhile.
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name="jupyter-lease-watcher", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def refresh(self) -> None:
        """Poll as soon as possible (after an extension made here, for instance)."""
        self._next_poll_at = float("-inf")
        self._wake.set()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                delay = self.step()
            except Exception:  # never let the thread die or raise into a cell
                log.debug("watcher step failed", exc_info=True)
                delay = self.schedule.error_cap
            if self._snapshot.stopped or stop.is_set():  # stop() came while we were stepping
                break
            self._wake.clear()
            if stop.is_set():  # stop() between the check and the clear: its wake-up is gone
                break
            self._clock.wait(self._wake, delay)

    # -- one step (what the thread does each time it wakes; tests call it directly) -------------

    def step(self) -> float:
        """Poll if due, fire thresholds and stage changes; return seconds until the next wake."""
        now = self._clock.monotonic()
        if now >= self._next_poll_at:
            self.poll()
            now = self._clock.monotonic()
        self._check_thresholds(now)
        return self._seconds_to_next_wake(now)

    def poll(self) -> Snapshot:
        """Read the source now; update the snapshot and tell listeners. Never raises."""
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> Snapshot:
        before = self._snapshot
        try:
            reading = self.source.read()
            if reading.stale:  # the source's last known reading: this poll failed
                raise failure(reading)
            after = self._succeeded(before, reading)
            # What every view computes from the reading (time left, the stop as a date), done
            # once here: a value nothing can compute with fails this poll, not every view.
            delay = self._poll_delay(after)
            after.present(self._clock.monotonic(), self._warn_at)
        except Exception as exc:  # anything at all: poll() is documented never to raise
            after = self._failed_poll(before, exc)
            delay = self._poll_delay(after)
        else:
            self.last_exception = None
        self._snapshot = after
        self._next_poll_at = self._clock.monotonic() + delay
        if _visible_change(before, after):
            self._emit(WatchEvent("update", after))
        if after.stopped:
            self._wake.set()  # polled from another thread: let ours see it and end now
        return after

    def _poll_delay(self, snap: Snapshot) -> float:
        interval = self.schedule.next_poll(
            snap.remaining(self._clock.monotonic()), failures=snap.failures
        )
        if snap.failures or snap.stopped:
            return interval
        # A shared cache may have answered with a reading made `age` seconds ago: poll when it
        # expires, so every process on the machine polls in step and one of them fetches.
        # The odd fraction of a second moves each poll to another point of the second, which is
        # what lets whole-second Date headers pin the server's clock down (see core/clock.py); being
        # the same in every process, it does not make many kernels poll more often than one.
        return max(1.0, interval - age(snap)) + PHASE_STEP

    def _succeeded(self, before: Snapshot, reading: Reading) -> Snapshot:
        changed = not before.known or _lease_key(before.reading) != _lease_key(reading)
        return Snapshot(
            reading=reading,
            local_at_poll=self._wall(),
            mono_at_poll=self._clock.monotonic(),
            last_success_wall=self._wall(),
            polls=before.polls + 1,
            failures=0,
            generation=before.generation + (1 if changed else 0),
        )

    def _failed_poll(self, before: Snapshot, exc: Exception) -> Snapshot:
        if isinstance(exc, LeaseError):
            self.last_exception = exc
            return self._failed(before, exc)
        # A bug, or a value nothing here can compute with: stale, never a dead watcher.
        self.last_exception = None
        self._log_unexpected(exc)
        return self._failed(before, exc)

    def _log_unexpected(self, exc: Exception) -> None:
        """One INFO record per kind of unexpected failure, never a traceback (its text is not
        scrubbed) and never WARNING (logging's last-resort handler would print it into a cell)."""
        kind = type(exc).__name__
        if kind in self._logged_unexpected:
            return
        self._logged_unexpected.add(kind)
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        log.info("lease poll failed%s, shown as stale: %s", where, _unexpected_line(exc))

    def _failed(self, before: Snapshot, exc: BaseException) -> Snapshot:
        # A LeaseError is kept whole (core.failure raises it again for %lease status).
        reading = before.reading.with_error(
            exc if isinstance(exc, LeaseError) else _unexpected_line(exc)
        )
        return replace(
            before, reading=reading, polls=before.polls + 1, failures=before.failures + 1
        )

    def _check_thresholds(self, mono_now: float) -> None:
        snap = self._snapshot
        shown = snap.present(mono_now, self._warn_at)
        if shown.stage != self._stage:
            self._stage = shown.stage
            self._emit(WatchEvent("stage", snap, stage=shown.stage))
        if shown.remaining_s is None or snap.deadline is None:
            return
        remaining = timedelta(seconds=shown.remaining_s)
        due = self._due_thresholds(remaining, snap.deadline)
        display = [t for t in due if t.callback is None]
        if display:  # several crossed at once (started late): one warning, the most urgent
            self._emit(WatchEvent("warning", snap, threshold=min(t.before for t in display)))
        for entry in due:
            if entry.callback is not None:
                self._call(entry.callback, remaining)

    def _due_thresholds(self, remaining: timedelta, deadline: float) -> List[_Threshold]:
        due = []
        with self._lock:
            for entry in self._thresholds:
                if entry.fired_for is not None and deadline > entry.fired_for:
                    entry.fired_for = None  # re-armed: the lease was extended
                if entry.fired_for is None and remaining <= entry.before:
                    entry.fired_for = deadline
                    due.append(entry)
        return due

    def _seconds_to_next_wake(self, mono_now: float) -> float:
        until_poll = self._next_poll_at - mono_now
        remaining = self._snapshot.remaining(mono_now)
        candidates = [until_poll]
        if remaining is not None and remaining > timedelta(0):
            with self._lock:
                pending = [t.before for t in self._thresholds if t.fired_for is None]
            candidates += [(remaining - b).total_seconds() for b in pending if b < remaining]
            candidates.append(remaining.total_seconds())  # the stop itself is a stage change
        return max(0.05, min(candidates))

    def _emit(self, event: WatchEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            self._call(listener, event)

    @staticmethod
    def _call(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a listener's bug must not stop the countdown
            log.debug("lease listener %r failed", fn, exc_info=True)


def _unexpected_line(exc: BaseException) -> str:
    text = scrub(" ".join(str(exc).split()))[:200]
    return f"unexpected {type(exc).__name__} while polling" + (f": {text}" if text else "")


def _lease_key(reading: Reading) -> tuple:
    """What makes it another lease (re-arming thresholds), not another read of the same one."""
    return (reading.kind, reading.deadline, reading.idle_after, reading.source_id)


def _visible_change(before: Snapshot, after: Snapshot) -> bool:
    """Anything a view shows changed: all of the reading but when it was read."""
    return replace(before.reading, read_at=None) != replace(after.reading, read_at=None)

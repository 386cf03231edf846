"""The fault matrix's bench: a simulator, a lease client (alone or behind the shared cache) and
the real watcher thread, with what the matrix observes from outside.

Nothing here drives the watcher by hand: it runs its own thread (``Watcher.start()``) on the real
clock, with every poll interval divided by ``SCALE`` so that a case takes a second or two. The
bench only watches it: each ``show()`` the thread makes (when, how many upstream requests, how it
ended), the events a view would get, the countdown a caller would read (sampled while waiting,
and compared with the simulator's truth), every log record under ``jupyter_lease`` and any
exception that escapes a thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterator, List, Optional, Tuple

from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.modelarts.cached import CachedLeaseSource
from jupyter_lease.modelarts.client import LeaseClient
from jupyter_lease.modelarts.credentials import resolve_credentials
from jupyter_lease.modelarts.discovery import discover
from jupyter_lease.simulator.app import Simulator
from jupyter_lease.watch.cache import CACHE_DIR_ENV
from jupyter_lease.watch.watcher import Watcher, WatchEvent

FAKE_HOST = "modelarts.sim-fault.invalid"  # resolved by the stand-in resolver below, never by DNS
SCALE = 60  # every poll interval of the default schedule is divided by this
DEFAULT_SCHEDULE = PollSchedule()
SCHEDULE = replace(
    DEFAULT_SCHEDULE,
    far=DEFAULT_SCHEDULE.far / SCALE,
    near=DEFAULT_SCHEDULE.near / SCALE,
    final=DEFAULT_SCHEDULE.final / SCALE,
    no_deadline=DEFAULT_SCHEDULE.no_deadline / SCALE,
    error_base=DEFAULT_SCHEDULE.error_base / SCALE,
    error_cap=DEFAULT_SCHEDULE.error_cap / SCALE,
)
RETRY = RetryPolicy(attempts=2, base=0.01, cap=0.02)
TIMEOUT: Tuple[float, float] = (1.0, 0.5)  # (connect, read) seconds
SAMPLE_EVERY = 0.02  # seconds between countdown samples while waiting for the watcher
PRODUCT_LOGGER = "jupyter_lease"
NOT_THE_PRODUCT = "jupyter_lease.simulator"  # the test peer's own logs are not judged


@dataclass
class Call:
    """One ``read()`` the watcher thread made."""

    started: float  # time.monotonic(), the watcher's clock
    ended: float = math.nan
    upstream: int = 0  # ShowLease requests the simulator logged meanwhile
    ok: bool = False


class Recorder:
    """The watcher's lease source as seen from outside; everything is delegated to the real one."""

    def __init__(self, source: Any, upstream: Any) -> None:
        self._source = source
        self._upstream = upstream
        self.calls: List[Call] = []

    def read(self) -> Any:
        call = Call(time.monotonic())
        before = self._upstream()
        self.calls.append(call)
        try:
            reading = self._source.read()
            call.ok = True
            return reading
        finally:
            call.upstream = self._upstream() - before
            call.ended = time.monotonic()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


@dataclass
class Countdown:
    """What a caller of ``remaining()`` saw while the bench waited."""

    worst_drift: float = 0.0  # seconds between remaining() and the simulator's truth
    slowest_read: float = 0.0  # seconds one remaining() call took
    mismatch: str = ""  # a deadline on one side only

    def sample(self, watcher: Watcher, truth: Optional[float]) -> None:
        started = time.perf_counter()
        try:
            left = watcher.remaining()
        except Exception as exc:  # jupyter_lease.remaining() would raise this into user code
            self.mismatch = self.mismatch or f"remaining() raised {type(exc).__name__}: {exc}"
            return
        self.slowest_read = max(self.slowest_read, time.perf_counter() - started)
        if left is None or truth is None:
            if (left is None) != (truth is None) and not self.mismatch:
                self.mismatch = f"the countdown showed {left} while the truth was {truth} s"
            return
        self.worst_drift = max(self.worst_drift, abs(left.total_seconds() - truth))


@dataclass
class Bench:
    """A simulator, a client (``cached``: behind ``CachedLeaseSource``) and a running watcher."""

    sim: Simulator
    env: Dict[str, str]
    cached: bool = False
    skew: float = 0.0  # this machine's clock minus the true time, as the client reads it
    resolvable: bool = True
    client: Any = None  # the LeaseClient
    cache: Optional[CachedLeaseSource] = None
    recorder: Any = None  # what the watcher polls
    watcher: Any = None
    events: List[WatchEvent] = field(default_factory=list)
    countdown: Countdown = field(default_factory=Countdown)
    refusal: Optional[BaseException] = None  # what a refused action raised
    armed_at: int = 0  # index in recorder.calls of the first poll made with the fault armed

    def build(self) -> None:
        location = discover(environ=self.env)
        metadata = "JUPYTER_LEASE_METADATA_URL" in self.env
        creds = resolve_credentials(environ=self.env, use_metadata=metadata)
        self.client = LeaseClient(location, creds, retry=RETRY, timeout=TIMEOUT, clock=self.wall)
        # The cache finds its directory as every kernel does: JUPYTER_LEASE_CACHE_DIR.
        self.cache = CachedLeaseSource(self.client, schedule=SCHEDULE) if self.cached else None
        self.recorder = Recorder(self.cache or self.client, self.upstream)

    def source(self) -> Any:
        """What the product would call: the shared cache in front of the client, or the client."""
        return self.cache or self.client

    def wall(self) -> float:
        return time.time() + self.skew

    def start(self) -> None:
        self.watcher = Watcher(lambda: self.recorder, schedule=SCHEDULE, wall=self.wall)
        self.watcher.add_listener(self.events.append)
        self.watcher.start()

    def upstream(self) -> int:
        return self.sim.count(path_suffix="/lease")

    def truth(self) -> Optional[float]:
        """Seconds left according to the simulator, or None when nothing stops it on a timer."""
        state = self.sim.state()
        lease = state["notebooks"][self.sim.notebook_id]["lease"]
        if lease["type"] != "TIMING" or not lease["enable"]:
            return None
        return max(0.0, (lease["create_at"] + lease["duration"]) / 1000 - state["now"])

    def wait(self, done: Any, timeout: float, *, sample: bool = True) -> bool:
        """Until ``done()``, sampling the countdown meanwhile and once more at the end; False if
        ``timeout`` passed first."""
        end = time.monotonic() + timeout
        while True:
            finished = done()
            if sample:
                self.countdown.sample(self.watcher, self.truth())
            if finished:
                return True
            if time.monotonic() > end:
                return False
            time.sleep(SAMPLE_EVERY)

    def finished_since(self, since: float) -> List[Call]:
        """The polls that started at or after ``since`` (monotonic) and have ended."""
        return [c for c in self.recorder.calls if c.started >= since and not math.isnan(c.ended)]

    def armed_calls(self) -> List[Call]:
        """The finished polls since the fault was armed."""
        return [c for c in self.recorder.calls[self.armed_at :] if not math.isnan(c.ended)]

    def polls_done(self, n: int) -> Any:
        return lambda: self.watcher.snapshot.polls >= n


@contextlib.contextmanager
def stand_in_resolver(bench: Bench) -> Iterator[None]:
    """Resolve FAKE_HOST to 127.0.0.1 — or fail like a dead DNS server — without any DNS traffic.

    This replaces the operating system's resolver (``socket.getaddrinfo``) for one host name; the
    product code, requests and urllib3 run unchanged.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if host == FAKE_HOST:
            if not bench.resolvable:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            host = "127.0.0.1"
        return real(host, *args, **kw)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def watched_process() -> Iterator[List[str]]:
    """Collect, as lines, every traceback the product logs, every record it logs at WARNING or
    above (a kernel would print it into a cell) and every exception a thread dies of.

    The logger is opened down to DEBUG for the duration: the watcher logs an exception it did not
    expect at DEBUG, with its traceback, so a quieter level would hide exactly that.
    """
    logger = logging.getLogger(PRODUCT_LOGGER)
    handler, level = _Records(), logger.level
    died: List[str] = []
    previous_hook = getattr(threading, "excepthook", None)  # Python 3.8+

    def hook(args: Any) -> None:
        died.append(f"thread {args.thread.name} died: {args.exc_type.__name__}: {args.exc_value}")

    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    if previous_hook is not None:
        threading.excepthook = hook
    found: List[str] = []
    try:
        yield found
    finally:
        if previous_hook is not None:
            threading.excepthook = previous_hook
        logger.removeHandler(handler)
        logger.setLevel(level)
        found += died + [_traceback_line(r) for r in handler.records if _has_traceback(r)]
        found += [_loud_line(r) for r in handler.records if _is_loud(r)]


def _has_traceback(record: logging.LogRecord) -> bool:
    if record.name.startswith(NOT_THE_PRODUCT):
        return False
    return bool(record.exc_info or record.stack_info) or "Traceback" in record.getMessage()


def _is_loud(record: logging.LogRecord) -> bool:
    """In a kernel, a record at WARNING or above prints into the cell's stderr."""
    return record.levelno >= logging.WARNING and not record.name.startswith(NOT_THE_PRODUCT)


def _loud_line(record: logging.LogRecord) -> str:
    return f"logged at {record.levelname} (a cell would print it): {record.getMessage()}"


def _traceback_line(record: logging.LogRecord) -> str:
    exc = record.exc_info[1] if record.exc_info else None
    what = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    return f"logged a traceback at {record.levelname}: {record.name}: {record.getMessage()}{what}"


@contextlib.contextmanager
def private_cache_dir() -> Iterator[str]:
    """``JUPYTER_LEASE_CACHE_DIR`` pointing at a fresh directory for the duration."""
    previous = os.environ.get(CACHE_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="lease-cache-") as directory:
        os.environ[CACHE_DIR_ENV] = directory
        try:
            yield directory
        finally:
            if previous is None:
                os.environ.pop(CACHE_DIR_ENV, None)
            else:
                os.environ[CACHE_DIR_ENV] = previous

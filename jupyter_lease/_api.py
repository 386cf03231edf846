"""The API for code: ask how long is left, get told before the stop, keep the instance alive.

All of it reads the process's one watcher (started on first use), so calling
``remaining()`` in a training loop costs a clock read, not a network call.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._errors import DurationError, LeaseError, scrub
from .core.duration import DurationLike, format_duration, renewal, to_timedelta
from .core.schedule import backoff
from .watch.runtime import get_runtime
from .watch.watcher import Watcher

__all__ = ["deadline", "keep_alive", "on_warning", "remaining", "Subscription"]

log = logging.getLogger("jupyter_lease.api")

# keep_alive renews when less than `margin` is left, for `extend_by` from then: the gap between
# the two is how often it renews. Ten minutes caps that at six RenewLease calls an hour.
MIN_RENEWAL_GAP = timedelta(minutes=10)


def _register(body: Dict[str, Any]) -> Tuple[Any, str]:
    """``(link, "")`` if the Jupyter server of this very lease took the work (with its cap,
    margin and step), else ``(None, why not)``: one line."""
    from .server.busy_client import find_server

    try:
        link = find_server(lease=body["lease"])
        status, data = link.call("POST", "/work", body)
    except (LeaseError, OSError) as exc:
        return None, scrub(str(exc))
    except Exception as exc:  # never let a discovery problem stop the user's block
        log.debug("keep_alive: server registration failed", exc_info=True)
        return None, f"no server took it ({type(exc).__name__})"
    if status == 200:
        return link, ""
    return None, f"{link.name} refused it: {scrub(str(data.get('error') or f'HTTP {status}'))}"


def _lease_identity() -> str:
    """This process's lease, as servers name theirs (builds the source; no network call)."""
    from .watch.sources import lease_identity

    return lease_identity(get_runtime().source())


def _quietly(call: Callable[[], Any]) -> bool:
    """Run a call to the server; True when it answered 200. Never raises."""
    return _answer(call) == 200


def _answer(call: Callable[[], Any]) -> Optional[int]:
    """Run a call to the server; its HTTP status, None when it did not answer. Never raises."""
    try:
        result = call()
    except Exception:
        return None
    return int(result[0]) if result else None


def _watching() -> Watcher:
    """The running watcher, with at least one poll done (raising if it has never succeeded)."""
    watcher = get_runtime().watcher()
    if not watcher.snapshot.known:
        watcher.poll()  # before starting the thread, so its first step does not poll again
    watcher.start()
    if not watcher.snapshot.known:
        error = watcher.last_exception
        if isinstance(error, LeaseError):
            raise error
        raise LeaseError(watcher.snapshot.last_error or "the lease is not known yet")
    return watcher


def remaining() -> Optional[timedelta]:
    """Time left before this instance stops, or ``None`` when nothing stops it on a timer.

    ``None`` means an IDLE lease or auto-stop off. When the API is unreachable the countdown
    continues from the last known deadline. Raises a :class:`LeaseError` only if the lease
    has never been read (no configuration, no credentials, no network from the start).
    """
    return _watching().remaining()


def deadline() -> Optional[datetime]:
    """When the instance stops, as an aware UTC datetime on *this machine's* clock.

    It is the server's deadline corrected by the measured clock offset, so comparing it with
    ``datetime.now(timezone.utc)`` gives the right answer even when the local clock is off.
    """
    local = _watching().present().deadline_local  # moved onto this clock there, once
    return None if local is None else datetime.fromtimestamp(local, tz=timezone.utc)


class Subscription:
    """Returned by :func:`on_warning`; ``cancel()`` stops the callbacks."""

    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel = cancel

    def cancel(self) -> None:
        self._cancel()


def on_warning(callback: Callable[[timedelta], Any], before: DurationLike = "10m") -> Subscription:
    """Call ``callback(remaining)`` once per lease when less than ``before`` is left.

    The callback runs **in the watcher thread**: keep it short, and do not print or display
    from it (output from a thread lands in whichever cell ran last). Save a checkpoint, set a
    flag your training loop reads, or write to a log file. An extension of the lease re-arms
    it. Exceptions it raises are logged at DEBUG and otherwise ignored.
    """
    watcher = get_runtime().watch()
    return Subscription(watcher.on_warning(callback, to_timedelta(before)))


class keep_alive:
    """Renew the lease while a block runs, never past ``max_total`` from entering it.

        with jupyter_lease.keep_alive(max_total="6h", margin="15m"):
            train()

    Whenever less than ``margin`` is left, it renews for ``extend_by`` (default 1 h, the
    shortest renewal ModelArts accepts) — small steps, so an instance whose work is done
    stops soon after instead of running on for hours. A renewal that would carry the
    deadline past the cap is not made: the lease then ends at or before the cap. Renewals run
    in a daemon thread; failures are retried with backoff and collected in ``errors``.

    Inside a Jupyter server with the extension that serves **this** lease, and whose keep-alive
    policy is on, the work is registered there instead (one decision per instance), with its
    cap, margin and step; any other server is left alone, and a refusal (another lease, the
    policy off, a cap beyond the server's limit) means renewing on its own: ``note`` says why
    in one line. Switching the server's policy off while registered ends the renewals.

    ``extend_by`` must be 1 h – 72 h (what ModelArts accepts) and exceed ``margin`` by at least
    10 min: otherwise right after a renewal less than ``margin`` would be left again, and it
    would renew at every check. ``check_every`` (seconds, or a duration) must be shorter than
    ``margin``. Anything else is refused at once with a one-line :class:`DurationError`.
    """

    def __init__(
        self,
        max_total: DurationLike = "6h",
        margin: DurationLike = "15m",
        *,
        extend_by: DurationLike = "1h",
        check_every: DurationLike = 30.0,
    ) -> None:
        self.max_total = to_timedelta(max_total)
        self.margin = to_timedelta(margin)
        self.extend_by = renewal(extend_by)
        if self.extend_by - self.margin < MIN_RENEWAL_GAP:
            raise DurationError(
                f"keep_alive: extend_by ({format_duration(self.extend_by)}) must exceed margin "
                f"({format_duration(self.margin)}) by at least {format_duration(MIN_RENEWAL_GAP)}"
                ", or it would renew at every check"
            )
        every = to_timedelta(check_every)
        if every >= self.margin:
            raise DurationError(
                f"keep_alive: check_every ({format_duration(every)}) must be shorter than margin "
                f"({format_duration(self.margin)}), or the lease could run out between checks"
            )
        self.check_every = every.total_seconds()
        self.renewals: List[Tuple[float, timedelta]] = []  # (this host's time, duration)
        self.errors: List[str] = []
        self.cap: Optional[float] = None  # this host's epoch seconds
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._watcher: Optional[Watcher] = None
        # With a Jupyter server that has the extension, the work is registered there instead.
        self._link: Any = None
        self._id = uuid.uuid4().hex
        self._entered_at = 0.0
        self._lease = ""
        self.label = f"keep_alive() in process {os.getpid()}"
        self.note = ""  # why it renews on its own, or why it stopped ("" while registered)

    def __enter__(self) -> keep_alive:
        self._stop.clear()
        self._entered_at = time.monotonic()
        self._lease = _lease_identity()
        self._link, why = _register(self._work_body())
        if self._link is None:  # no server to decide for this lease: renew on our own
            self.note = f"renewing on its own: {why}"
            log.debug("keep_alive: %s", self.note)
            self._own_renewals()
        target = self._run if self._link is None else self._heartbeat
        self._thread = threading.Thread(target=target, name="jupyter-lease-keep-alive", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None
        link, self._link = self._link, None
        if link is not None:
            _quietly(lambda: link.call("DELETE", f"/work?id={self._id}"))

    def _work_body(self) -> Dict[str, Any]:
        left = self.max_total.total_seconds() - (time.monotonic() - self._entered_at)
        ttl = max(60.0, 4 * self.check_every)
        return {
            "id": self._id,
            "ttl": ttl,
            "label": self.label,
            "for": max(1.0, left),
            "margin": self.margin.total_seconds(),
            "step": self.extend_by.total_seconds(),
            "lease": self._lease,
        }

    def _own_renewals(self) -> None:
        self._watcher = _watching()
        left = self.max_total.total_seconds() - (time.monotonic() - self._entered_at)
        self.cap = self._now() + left

    def _heartbeat(self) -> None:
        """Server mode: keep the registration alive; the server decides and renews. If the
        server goes away, fall back to renewing on our own (one decision per instance)."""
        while not self._stop.wait(self.check_every):
            link = self._link
            body = self._work_body()
            answer = _answer(functools.partial(link.call, "POST", "/work", body))
            if answer == 200:
                continue
            self._link = None
            if answer == 409:  # the server let the work go (its policy was switched off)
                self.note = "stopped: keep alive while busy was switched off on the server"
                self.errors.append(self.note)
                return
            self.note = f"renewing on its own: {link.name} stopped answering"
            try:
                self._own_renewals()
            except LeaseError as exc:
                self.errors.append(scrub(str(exc)))
                return
            self._run()
            return

    def _now(self) -> float:
        """This host's clock as the watcher carries it (steady across a clock step)."""
        assert self._watcher is not None
        now = self._watcher.snapshot.local_now(self._watcher.monotonic())
        return now if now is not None else time.time()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                failures = 0 if self.check() else failures
            except LeaseError as exc:
                failures += 1
                self.errors.append(scrub(str(exc)))
            except Exception as exc:  # never raise into the user's process from a thread
                failures += 1
                self.errors.append(f"unexpected {type(exc).__name__} while renewing")
                log.debug("keep_alive check failed", exc_info=True)
            self._stop.wait(self.wait_after(failures))

    def wait_after(self, failures: int) -> float:
        """Seconds to the next check: ``check_every``, doubling per consecutive failure to 5 min."""
        return backoff(self.check_every, 300.0, failures + 1) if failures else self.check_every

    def check(self) -> bool:
        """Renew now if due. Returns True when nothing failed. Called by the thread."""
        watcher = self._watcher
        assert watcher is not None and self.cap is not None
        left = watcher.remaining()
        if left is None or left > self.margin:
            return True
        now = self._now()
        if now + self.extend_by.total_seconds() > self.cap:
            log.debug("keep_alive: renewing %s would pass the cap", format_duration(self.extend_by))
            return True
        extended = watcher.source.extend(self.extend_by.total_seconds())
        if extended.stale:  # not confirmed: the caller backs off and tries again
            from .core.reading import failure

            raise failure(extended)
        self.renewals.append((now, self.extend_by))
        watcher.poll()
        return True

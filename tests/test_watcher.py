"""The watcher core, driven step by step with an injected clock against the real simulator."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest

from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.modelarts.cached import CachedLeaseSource
from jupyter_lease.watch.watcher import Watcher
from tests.support.clocks import FakeClock
from tests.support.factories import make_client

M = timedelta(minutes=1)


class Rig:
    def __init__(self, sim, warn_at=(30 * M, 10 * M), **client_kw):
        self.sim = sim
        self.clock = FakeClock()
        self.client = make_client(sim, **client_kw)
        self.events = []
        self.watcher = Watcher(lambda: self.client, warn_at=warn_at, clock=self.clock)
        self.watcher.add_listener(self.events.append)

    def tick(self, seconds: float) -> float:
        """Time passes for everyone: the simulator's clock and the watcher's."""
        self.clock.t += seconds
        self.sim.advance(seconds)
        return self.watcher.step()

    def kinds(self):
        return [e.kind for e in self.events]

    def warnings(self):
        return [e.threshold for e in self.events if e.kind == "warning"]

    def truth(self) -> timedelta:
        return self.client.show().remaining(self.sim.now())


def close(a: timedelta, b: timedelta, tolerance: float = 1.5) -> bool:
    return abs((a - b).total_seconds()) <= tolerance


def test_first_step_polls_and_counts_down_between_polls(simulator):
    simulator.set_lease(remaining=2 * 3600)
    rig = Rig(simulator)
    rig.watcher.step()
    assert rig.kinds()[:1] == ["update"]
    assert close(rig.watcher.remaining(), timedelta(hours=2))
    polls = simulator.count(method="GET")
    rig.tick(100)  # less than the 5-minute far interval: no poll, the clock counts
    assert simulator.count(method="GET") == polls
    assert close(rig.watcher.remaining(), timedelta(hours=2) - timedelta(seconds=100))


def test_the_poll_interval_adapts_and_the_wake_targets_thresholds(simulator):
    simulator.set_lease(remaining=31 * 60)
    rig = Rig(simulator)
    wake = rig.watcher.step()
    assert wake == pytest.approx(60, abs=1.5)  # 31 min left: next wake at the 30-min crossing
    rig.tick(wake)
    assert rig.warnings() == [30 * M]
    assert rig.watcher.stage() == "warning"


def test_threshold_fires_once_and_rearms_after_an_extension(simulator):
    simulator.set_lease(remaining=30 * 60 + 20)
    rig = Rig(simulator)
    rig.watcher.step()
    assert rig.warnings() == []
    rig.tick(30)
    rig.tick(30)
    assert rig.warnings() == [30 * M]
    rig.client.renew("1h")  # the user extends: the 30-min warning must come again later
    rig.watcher.poll()
    rig.tick(31 * 60)
    assert rig.warnings() == [30 * M, 30 * M]


def test_started_late_gives_one_warning_for_the_most_urgent_threshold(simulator):
    simulator.set_lease(remaining=4 * 60)
    rig = Rig(simulator, warn_at=(30 * M, 10 * M, 5 * M, M))
    rig.watcher.step()
    assert rig.warnings() == [5 * M]
    assert rig.watcher.stage() == "warning"


def test_stage_changes_are_events(simulator):
    simulator.set_lease(remaining=10 * 60 + 5)
    rig = Rig(simulator)
    rig.watcher.step()
    rig.tick(10)
    stages = [e.stage for e in rig.events if e.kind == "stage"]
    assert stages == ["warning", "critical"]


def test_api_errors_keep_counting_mark_stale_back_off_and_recover(simulator):
    simulator.set_lease(remaining=3600)
    rig = Rig(simulator, retry=RetryPolicy(attempts=1))
    rig.watcher.step()
    simulator.inject("503", count=100)
    waits = []
    for _ in range(3):
        rig.watcher.refresh()
        rig.watcher.step()
        waits.append(rig.watcher._next_poll_at - rig.clock.t)
    snap = rig.watcher.snapshot
    assert snap.stale and snap.failures == 3 and "HTTP 503" in snap.last_error
    assert waits == [15, 30, 60]  # backoff, not a retry loop
    rig.tick(600)
    assert close(rig.watcher.remaining(), timedelta(minutes=50))  # still counting
    simulator.clear_faults()
    rig.watcher.refresh()
    rig.watcher.step()
    assert not rig.watcher.snapshot.stale and rig.watcher.snapshot.failures == 0


def test_auth_failure_is_one_request_per_poll(simulator):
    simulator.set_lease(remaining=3600)
    rig = Rig(simulator, env_overrides={"HUAWEICLOUD_SDK_SK": "z" * 40})
    for _ in range(3):
        rig.watcher.refresh()
        rig.watcher.step()
    assert simulator.count(path_suffix="/lease") == 3
    assert "z" * 40 not in rig.watcher.snapshot.last_error


def test_notices_a_renewal_made_elsewhere(simulator):
    simulator.set_lease(remaining=20 * 60)
    rig = Rig(simulator)
    rig.watcher.step()
    generation = rig.watcher.snapshot.generation
    make_client(simulator).renew("3h")  # another kernel, or the console
    rig.tick(61)  # inside 30 min the watcher polls every minute
    assert rig.watcher.snapshot.generation == generation + 1
    assert close(rig.watcher.remaining(), rig.truth())
    assert rig.watcher.remaining() > timedelta(hours=2, minutes=58)


def test_the_instance_stopping_ends_the_watch(simulator):
    simulator.set_lease(remaining=30)
    rig = Rig(simulator)
    rig.watcher.step()
    rig.tick(31)
    snap = rig.watcher.snapshot
    assert snap.stopped and rig.watcher.stage() == "stopped"
    assert "not running" in snap.last_error


def test_server_clock_is_the_reference(simulator):
    simulator.set_lease(remaining=3600)
    simulator.advance(600)  # the server's clock is 10 min ahead of this machine
    simulator.set_lease(remaining=3600)
    rig = Rig(simulator)
    rig.watcher.step()
    assert close(rig.watcher.remaining(), rig.truth())


def test_on_warning_callbacks_and_a_failing_listener(simulator):
    simulator.set_lease(remaining=11 * 60)
    rig = Rig(simulator)
    seen = []
    rig.watcher.add_listener(lambda e: 1 / 0)  # a broken listener must not stop anything
    rig.watcher.on_warning(seen.append, before=10 * M)
    rig.watcher.step()
    rig.tick(61)
    assert len(seen) == 1 and seen[0] <= 10 * M
    assert rig.warnings() == [30 * M, 10 * M]


def test_thread_starts_stops_instantly_and_never_prints(simulator, capfd):
    simulator.set_lease(remaining=3600)
    client = make_client(simulator)
    watcher = Watcher(lambda: client, schedule=PollSchedule(far=3600))
    watcher.start()
    deadline = time.monotonic() + 5
    while watcher.snapshot.polls == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 0.5
    assert not watcher.running and watcher.snapshot.polls == 1
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_thread_survives_a_client_factory_that_raises(capfd):
    def no_config():
        from jupyter_lease._errors import ConfigurationError

        raise ConfigurationError("notebook id not found")

    watcher = Watcher(no_config, schedule=PollSchedule(error_base=3600))
    watcher.start()
    deadline = time.monotonic() + 5
    while watcher.snapshot.polls == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert watcher.running and watcher.snapshot.last_error == "notebook id not found"
    watcher.stop()
    assert capfd.readouterr() == ("", "")


def test_changing_thresholds_tells_the_views(simulator):
    rig = Rig(simulator)
    rig.watcher.step()
    before = len(rig.events)
    rig.watcher.warn_at = (20 * M, 2 * M)
    assert rig.events[before:] and rig.events[-1].kind == "update"
    rig.watcher.warn_at = (2 * M, 20 * M)  # the same set: nothing to tell
    assert rig.events[-1] is rig.events[before]


def _watcher_threads(exclude=()):
    return [
        t
        for t in threading.enumerate()
        if t.name == "jupyter-lease-watcher" and t.is_alive() and t not in exclude
    ]


def _wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_stop_then_start_during_a_slow_poll_leaves_one_thread(simulator, capfd):
    """`%lease stop` then `%lease watch` while a poll outlasts stop()'s join."""
    simulator.set_lease(remaining=3600)
    others = _watcher_threads()
    client = make_client(simulator)
    watcher = Watcher(lambda: client, schedule=PollSchedule(far=3600))
    watcher.start()
    assert _wait_until(lambda: watcher.snapshot.polls == 1)
    simulator.inject("latency", count=1, seconds=1.5)
    watcher.refresh()  # the thread polls again now: a poll of 1.5 s
    time.sleep(0.3)
    watcher.stop(timeout=0.3)  # the join times out: the thread is still inside its poll
    assert len(_watcher_threads(others)) == 1 and watcher.snapshot.polls == 1
    watcher.start()
    # The old poll finishes within ~1.5 s; the old thread must then see its own stop and exit.
    assert _wait_until(lambda: watcher.snapshot.polls >= 3, timeout=10)
    time.sleep(0.3)
    assert len(_watcher_threads(others)) == 1
    assert watcher.running
    watcher.stop()
    assert _wait_until(lambda: not _watcher_threads(others), timeout=5)
    assert capfd.readouterr() == ("", "")


class _BuggySource:
    """A lease source with a bug: ``show()`` raises something no one expected."""

    def __init__(self, client, error: Exception) -> None:
        self.client, self.error = client, error

    def read(self):
        raise self.error

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_poll_never_raises_logs_once_and_never_prints(simulator, caplog, capfd):
    simulator.set_lease(remaining=3600)
    client = make_client(simulator)
    source = client
    watcher = Watcher(lambda: source, clock=FakeClock())
    watcher.poll()
    secret = "AKIDq9Z3x7Yb2Wc4Vd6Ue8Tf0Sg1Rh3Q"  # key-shaped: scrub() must take it out
    source = _BuggySource(client, RuntimeError(f"bug\nwith {secret} inside"))
    watcher.forget_source()
    with caplog.at_level(logging.DEBUG, logger="jupyter_lease"):
        for _ in range(3):
            snap = watcher.poll()
    assert snap.stale and snap.failures == 3 and snap.known
    assert snap.last_error.startswith("unexpected RuntimeError while polling: bug with ")
    assert secret not in snap.last_error and "\n" not in snap.last_error
    assert close(watcher.remaining(), timedelta(hours=1), tolerance=5)  # the countdown goes on
    records = [r for r in caplog.records if r.name.startswith("jupyter_lease")]
    assert len(records) == 1, [r.getMessage() for r in records]  # logged once, not per poll
    assert records[0].levelno < logging.WARNING and records[0].exc_info is None
    assert secret not in records[0].getMessage()
    assert capfd.readouterr() == ("", "")


def test_a_lease_nothing_can_compute_with_is_a_stale_poll(simulator, capfd):
    """A deadline ~3 million years away: before, poll() raised OverflowError and kept the lease."""
    simulator.set_lease(remaining=3600)
    rig = Rig(simulator)
    rig.watcher.poll()
    simulator.inject("ill_typed_field", count=1, field="duration", value=1e17)
    snap = rig.watcher.poll()  # must not raise
    assert snap.stale and snap.last_error and "\n" not in snap.last_error
    assert close(rig.watcher.remaining(), timedelta(hours=1), tolerance=5)  # the last good lease
    rig.watcher.step()  # thresholds and the next wake still compute
    assert capfd.readouterr() == ("", "")


def test_watchers_started_apart_poll_in_step_through_the_shared_cache(simulator, tmp_path):
    """The phase rule behind "20 kernels cost one upstream read": a watcher the shared cache
    answered with a reading ``age`` old polls again when that reading expires, not one interval
    after its own poll; so kernels started at different moments all poll at one instant, and
    one of them reads upstream for all."""
    simulator.set_lease(remaining=2 * 3600)
    every = PollSchedule(far=60, near=60, final=60)
    mono = FakeClock()
    offset = time.time() - mono.t  # one clock: the watchers' wall and the cache's, in step

    def wall() -> float:
        return offset + mono.t

    def source() -> CachedLeaseSource:  # each kernel: its own client, the one cache file
        client = make_client(simulator, clock=wall)  # it stamps its readings' read_at
        return CachedLeaseSource(client, schedule=every, directory=str(tmp_path), clock=wall)

    start = mono.t
    due = {}  # watcher -> when it polls next (on the monotonic clock)
    for started in (0.0, 15.0, 30.0, 45.0):  # four kernels, spread over one interval
        mono.t = start + started
        watcher = Watcher(source, schedule=every, clock=mono, wall=wall)
        due[watcher] = mono.t + watcher.step()
    first_round = sorted(due.values())
    assert first_round[-1] - first_round[0] < 0.5, first_round  # one phase, the first read's
    assert first_round[0] == pytest.approx(start + 60, abs=1.5)
    while min(due.values()) < start + 300:  # five minutes, each watcher stepped when due
        watcher = min(due, key=due.__getitem__)
        mono.t = due[watcher]
        due[watcher] = mono.t + watcher.step()
    assert max(due.values()) - min(due.values()) < 0.5, sorted(due.values())  # still in step
    assert simulator.count(method="GET", path_suffix="/lease") == 5  # one read an interval


@pytest.mark.parametrize("warn_at", [(30 * M, 10 * M), (5 * M,)], ids=["two", "one"])
def test_quiet_is_exactly_when_no_view_is_warning(simulator, warn_at):
    """The pre-run hook of every cell asks ``quiet()`` (a comparison) instead of presenting the
    lease (~40 µs, issue 19's cell latency): it must never hide a warning ``present()`` gives,
    and must stop being quiet within a few ms of the first one."""
    simulator.set_lease(remaining=40 * 60)
    rig = Rig(simulator, warn_at=warn_at)
    rig.watcher.step()
    largest = max(warn_at).total_seconds()
    left = rig.watcher.remaining().total_seconds()
    start = rig.clock.t
    for offset in [left - largest + d for d in (-2.0, -0.01, -0.0015, -0.0005, 0.0, 0.01, 2.0)]:
        rig.clock.t = start + offset
        warning = rig.watcher.present().warning is not None
        assert not (rig.watcher.quiet() and warning), offset  # never hides one
        if offset <= left - largest - 0.002:
            assert rig.watcher.quiet(), offset  # and is quiet until a few ms before
    rig.clock.t = start + left + 5  # the stop passed: expired warns too
    assert not rig.watcher.quiet() and rig.watcher.present().warning is not None
    simulator.set_lease(lease_type="IDLE")
    rig.watcher.poll()
    assert rig.watcher.quiet()  # an idle lease never warns


def test_quiet_follows_a_new_reading_and_new_thresholds(simulator):
    simulator.set_lease(remaining=20 * 60)
    rig = Rig(simulator, warn_at=(10 * M,))
    rig.watcher.step()
    assert rig.watcher.quiet()
    rig.watcher.warn_at = (30 * M,)  # now inside the largest threshold
    assert not rig.watcher.quiet()
    simulator.set_lease(remaining=2 * 3600)
    rig.watcher.poll()
    assert rig.watcher.quiet()

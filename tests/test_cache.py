"""The shared lease cache: real processes, a real lock, the simulator as the only HTTP peer."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import pytest

from jupyter_lease._errors import AuthenticationError, RequestTimeout, ServerError
from jupyter_lease.core import present
from jupyter_lease.core.reading import Reading
from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.modelarts.cached import CachedLeaseSource
from jupyter_lease.modelarts.lease import Lease
from jupyter_lease.simulator.app import Simulator
from jupyter_lease.watch.cache import (
    CACHE_DIR_ENV,
    FORMAT,
    cache_dir,
    cache_path,
    fresh_for,
)
from jupyter_lease.watch.cacheslot import schedule_now
from jupyter_lease.watch.filelock import FileLock, LockTimeout
from jupyter_lease.watch.runtime import Runtime
from tests.support.factories import make_source, read_file, show_calls

# Every lease in these tests is 2 h away: the "far" interval applies.
FAST = PollSchedule(far=0.5, near=0.5, final=0.5)
SHARE = PollSchedule(far=2.0, near=2.0, final=2.0)
NO_RETRY = RetryPolicy(attempts=1)


def subprocess_env(sim: Simulator, directory: Any) -> Dict[str, str]:
    return {**os.environ, **sim.environ(), CACHE_DIR_ENV: str(directory)}


class Wall:
    """The cache's wall clock (its ``clock=``), moved only by ``advance``: entries age at once."""

    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for ``check()`` to hold, polling, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# -- the lock ------------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from jupyter_lease.watch.filelock import FileLock
with FileLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def test_the_lock_excludes_another_process(tmp_path):
    path = str(tmp_path / "x.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path, "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockTimeout):
            FileLock(path, timeout=0.3).acquire()
        started = time.monotonic()
        with FileLock(path, timeout=10):  # granted as soon as the holder lets go
            waited = time.monotonic() - started
        assert 0.5 < waited < 5
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_excludes_threads_of_one_process(tmp_path):
    path = str(tmp_path / "x.lock")
    inside: List[int] = []
    overlaps: List[int] = []

    def work() -> None:
        for _ in range(20):
            with FileLock(path, timeout=10):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


# -- one upstream call per interval -----------------------------------------------------------

POLLER = """
import json, sys, time
from jupyter_lease.modelarts.cached import CachedLeaseSource
from jupyter_lease.modelarts.client import LeaseClient
from jupyter_lease.core.schedule import PollSchedule

schedule = PollSchedule(far=1.0, near=1.0, final=1.0)
source = CachedLeaseSource(LeaseClient(), schedule=schedule)
print("ready", flush=True)  # imported: the test says when to start, the same instant for all
start, seconds = (float(word) for word in sys.stdin.readline().split())
time.sleep(max(0.0, start - time.time()))
deadlines, calls = set(), 0
while time.time() < start + seconds:
    deadlines.add(source.show().deadline_ms)
    calls += 1
    time.sleep(0.1)
print(json.dumps({"calls": calls, "deadlines": sorted(deadlines)}))
"""


def test_processes_make_one_upstream_call_per_interval(simulator, tmp_path):
    env = subprocess_env(simulator, tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", POLLER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for p in procs:  # every one has imported what it needs ...
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        start = time.time() + 0.2  # ... then all start polling together, for 2 s
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"{start} 2.0\n")
            p.stdin.flush()  # communicate() closes it
        outputs = [p.communicate(timeout=30) for p in procs]
    finally:
        for p in procs:
            p.kill()
    results = [json.loads(out) for out, _ in outputs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    asked = sum(r["calls"] for r in results)
    # 4 processes × ~20 show() calls; max_age is 1 s − 0.1 s slack → fetches at ~0, ~0.9-1,
    # ~1.8-2 s: at most 3 upstream calls in the 2 s window.
    assert asked > 50, results
    assert 2 <= show_calls(simulator) <= 3
    assert {d for r in results for d in r["deadlines"]} == {
        results[0]["deadlines"][0]
    }  # everyone saw the one lease


def test_a_fresh_entry_is_not_fetched_again_and_a_due_one_is(simulator, tmp_path):
    wall = Wall()
    a = make_source(simulator, tmp_path, schedule=FAST, clock=wall)
    b = make_source(simulator, tmp_path, schedule=FAST, clock=wall)
    assert a.show() == b.show()
    assert show_calls(simulator) == 1
    wall.advance(0.44)  # younger than max_age (0.45 s): still fresh
    assert b.show() and show_calls(simulator) == 1
    wall.advance(0.02)  # older than max_age
    b.show()
    assert show_calls(simulator) == 2
    assert read_file(a)["format"] == FORMAT


def test_renew_updates_the_cache_for_everyone(simulator, tmp_path):
    a = make_source(simulator, tmp_path)
    b = make_source(simulator, tmp_path)
    before = b.show()
    renewed = a.renew("3h")
    assert renewed.deadline_ms != before.deadline_ms
    assert abs(renewed.deadline_ms / 1000 - (simulator.now() + 3 * 3600)) < 2
    calls = show_calls(simulator)
    assert b.show() == renewed  # from the file: no new ShowLease
    reader = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jupyter_lease.modelarts.cached import CachedLeaseSource;"
            "from jupyter_lease.modelarts.client import LeaseClient;"
            "print(CachedLeaseSource(LeaseClient()).show().deadline_ms)",
        ],
        env=subprocess_env(simulator, tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert reader.returncode == 0, reader.stderr
    assert int(reader.stdout) == renewed.deadline_ms  # another process sees it too
    assert show_calls(simulator) == calls
    assert simulator.count(method="PATCH", path_suffix="/lease") == 1


def test_fresh_reads_upstream_once_and_shares_the_answer(simulator, tmp_path):
    a, b = make_source(simulator, tmp_path), make_source(simulator, tmp_path)
    old = a.show()
    simulator.set_lease(remaining=600)  # changed behind our back (the console, say)
    assert a.show() == old  # background polling: the cached answer
    with a.fresh():
        new = a.show()  # an explicit request: read now
        assert a.show() == new  # ... once: read since the block began is good enough
    assert new != old and show_calls(simulator) == 2
    assert b.show() == new  # and everyone gets it


# -- failures ------------------------------------------------------------------------------


def test_a_failed_fetch_is_recorded_but_never_cached_as_fresh(simulator, tmp_path):
    wall = Wall()
    a = make_source(simulator, tmp_path, schedule=FAST, retry=NO_RETRY, clock=wall)
    b = make_source(simulator, tmp_path, schedule=FAST, retry=NO_RETRY, clock=wall)
    good = a.show()
    wall.advance(0.5)  # older than max_age (0.45 s)
    simulator.inject("500", count=1)
    with pytest.raises(ServerError):
        a.show()
    wall.advance(0.01)  # b starts after a's attempt ended: not a waiter that shares it
    data = read_file(a)
    assert "ModelArts.6102" in data["error"] and "\n" not in data["error"]
    assert data["failures"] == 1
    last = Lease.from_json(data["extra"]["lease"])
    assert last == good  # the last known lease stays, not fresher
    calls = show_calls(simulator)
    assert b.show() == good  # b asks upstream itself ...
    assert show_calls(simulator) == calls + 1
    data = read_file(b)
    assert data["error"] is None and data["failures"] == 0  # ... and a success clears it


def test_waiters_share_the_attempt_they_waited_for(simulator, tmp_path):
    # One ShowLease that times out while a second caller waits on the lock: the second gets
    # the same failure instead of asking a failing service again right away.
    kw = dict(schedule=FAST, retry=NO_RETRY, timeout=(2.0, 0.6))
    a, b = make_source(simulator, tmp_path, **kw), make_source(simulator, tmp_path, **kw)
    simulator.inject("latency", count=1, seconds=1.2)
    errors: Dict[str, Optional[BaseException]] = {}

    def call(name: str, source: CachedLeaseSource) -> None:
        try:
            source.show()
            errors[name] = None
        except Exception as exc:
            errors[name] = exc

    first = threading.Thread(target=call, args=("a", a))
    first.start()
    # The simulator took the latency fault: a's ShowLease has arrived, so a holds the lock.
    until(lambda: simulator.state()["faults"] == [], "a's ShowLease to reach the simulator")
    call("b", b)
    first.join()
    assert isinstance(errors["a"], RequestTimeout)
    assert isinstance(errors["b"], RequestTimeout)
    assert str(errors["b"]) == str(errors["a"])
    # a's request is logged when the simulator answers it, 1.2 s after it came; one of b's
    # would have been logged before b's call returned.
    until(lambda: show_calls(simulator) >= 1, "the delayed ShowLease in the simulator's log")
    assert show_calls(simulator) == 1
    assert b.show().deadline_ms  # not a waiter any more: b asks upstream itself
    assert show_calls(simulator) == 2


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\x00\xff\xfe garbage",
        b"[]",
        b'{"format": "jupyter_lease.cache/2", "key": "other"}',
        b"",
    ],
    ids=["truncated", "binary", "wrong-shape", "wrong-key", "empty"],
)
def test_a_corrupt_cache_file_is_ignored_and_rewritten(simulator, tmp_path, content):
    source = make_source(simulator, tmp_path)
    with open(source.path, "wb") as fh:
        fh.write(content)
    assert source.show().deadline_ms
    assert show_calls(simulator) == 1
    assert read_file(source)["format"] == FORMAT


def test_an_ill_typed_reading_in_the_file_is_ignored(simulator, tmp_path):
    source = make_source(simulator, tmp_path)
    source.show()
    data = read_file(source)
    data["reading"]["deadline_ms"] = "soon"
    with open(source.path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    assert source.show().duration > 0
    assert show_calls(simulator) == 2


def test_an_unusable_cache_directory_means_uncached_not_broken(simulator, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    source = make_source(simulator, blocker / "cache")
    assert source.show() == source.show()
    assert show_calls(simulator) == 2  # every call upstream, none failed


def test_the_cache_file_holds_no_secret_and_is_private(simulator, tmp_path):
    wall = Wall()
    source = make_source(simulator, tmp_path, schedule=FAST, retry=NO_RETRY, clock=wall)
    source.show()
    source.renew("2h")
    wall.advance(0.5)  # older than max_age (0.45 s)
    simulator.inject("401", count=1)
    with pytest.raises(AuthenticationError):
        source.show()
    with open(source.path, encoding="utf-8") as fh:
        raw = fh.read()
    assert "APIG.0301" in raw  # the failure was recorded ...
    for secret in (simulator.ak, simulator.sk, "SDK-HMAC", "Signature=", "X-Auth-Token"):
        assert secret not in raw  # ... and no credential or header
    assert stat.S_IMODE(os.stat(source.path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_reading_is_right_when_the_lease_came_from_the_cache(simulator, tmp_path):
    simulator.advance(120)  # the server's clock is 2 min ahead of this machine's
    a = make_source(simulator, tmp_path)
    lease = a.show()
    b = make_source(simulator, tmp_path)  # never talked to the server itself
    assert b.client.clock_offset is None
    assert b.show() == lease
    assert show_calls(simulator) == 1
    assert b.clock_offset is not None and abs(b.clock_offset - 120) < 1.5
    # What b's views get is the entry's reading, the offset a measured beside the deadline.
    reading = b.read()
    assert reading == a.read() == a.peek().reading
    assert abs(reading.read_at - simulator.now()) < 1.5
    assert abs(b.server_now() - simulator.now()) < 1.5  # with the offset that came with it
    truth = lease.deadline_ms / 1000 - simulator.now()
    left = present(reading, time.time()).remaining_s
    assert left is not None and abs(left - truth) < 1.5


# -- plumbing ------------------------------------------------------------------------------


def test_a_reading_is_fresh_for_the_schedules_interval_minus_slack():
    schedule = PollSchedule()  # 5 min far, 1 min near, 15 s final
    now = 1_800_000_000.0

    def timed(left: float) -> Reading:
        return Reading(kind="timed", deadline=now + left, clock_offset=0.0)

    assert fresh_for(timed(7200), now, schedule) == pytest.approx(298.0)
    assert fresh_for(timed(20 * 60), now, schedule) == pytest.approx(58.0)
    assert fresh_for(timed(120), now, schedule) == pytest.approx(13.5)
    assert fresh_for(timed(0.5), now, schedule) == pytest.approx(0.9)  # poll at the deadline


def test_the_cache_lives_in_the_runtime_dir_unless_overridden(tmp_path):
    assert cache_dir({CACHE_DIR_ENV: str(tmp_path)}) == str(tmp_path)
    runtime = tmp_path / "rt"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    env.pop(CACHE_DIR_ENV, None)
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jupyter_lease.watch.cache import cache_dir; print(cache_dir())",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert found.stdout.strip() == str(runtime)
    one = cache_path("modelarts:n@x.example.com", str(tmp_path))
    assert one == cache_path("modelarts:n@x.example.com", str(tmp_path))
    assert one != cache_path("modelarts:n@y.example.com", str(tmp_path))
    assert os.path.dirname(one) == str(tmp_path)


def test_the_runtime_hands_out_a_cached_source_following_the_settings(
    simulator, tmp_path, monkeypatch
):
    for name, value in {**simulator.environ(), CACHE_DIR_ENV: str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    runtime = Runtime()
    try:
        source = runtime.source()
        assert isinstance(source, CachedLeaseSource)
        assert os.path.dirname(source.path) == str(tmp_path)
        runtime.configure(schedule=SHARE)
        assert schedule_now(source._schedule) is SHARE  # %config after creation still applies
        assert runtime.watcher().poll().known
    finally:
        runtime.close()

"""The busy tracker's declared-work map (item 8 of issue 18): the event loop changes it (a
DELETE, the check dropping expired work) while a pool thread reads or changes it (a view, a
registration, switching off). Real threads, the interpreter made to switch between them as
often as it can."""

from __future__ import annotations

import sys
import threading
import time
from typing import List

from jupyter_lease.server.busy_work import DeclaredWork


def test_the_work_map_survives_concurrent_changes_and_reads():
    clock = [1000.0]
    work = DeclaredWork(clock=lambda: clock[0])
    errors: List[BaseException] = []
    stop = threading.Event()

    def loop() -> None:  # the event loop's side: registrations come and go, some expire
        i = 0
        while not stop.is_set():
            i += 1
            work.put(f"w{i % 60}", "train", 0.001 if i % 3 else 600, lambda: None)
            if i % 2:
                work.pop(f"w{(i * 7) % 60}")

    def pool() -> None:  # the pool's side: every view and check walks the map
        while not stop.is_set():
            try:
                work.live()
                clock[0] += 0.0001
            except BaseException as exc:  # a RuntimeError: changed size during iteration
                errors.append(exc)
                return

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=f, daemon=True) for f in (loop, loop, pool, pool)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not errors:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        sys.setswitchinterval(switch)
    assert errors == []


def test_switching_off_refuses_the_heartbeats_of_the_work_it_let_go():
    work = DeclaredWork()
    work.put("a", "train", 60, lambda: None)
    assert work.cancel_all("switched off (panel)") == 1 and work.live() == []
    try:
        work.put("a", "train", 60, lambda: None)
    except Exception as exc:
        assert type(exc).__name__ == "WorkRefused" and "switched off" in str(exc)
    else:
        raise AssertionError("a heartbeat of cancelled work was taken")
    work.put("b", "other", 60, lambda: None)  # new work is welcome
    assert [k for k, _ in work.live()] == ["b"]

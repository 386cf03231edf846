"""The server extension stops with the server: once jupyter_server has shut down (its own
``_cleanup``, which awaits every extension app's ``stop_extension``), no jupyter_lease thread is
left and nothing calls ModelArts any more — the push's re-reads included. In this process, so
that the threads can be seen."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List

import pytest

from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.server import push
from tests.support.factories import show_calls
from tests.support.inprocess import get
from tests.support.jupyter import LEASE

pytest.importorskip("pytest_jupyter", reason="needs pytest-jupyter[server] (jupyter_server>=2)")
pytestmark = pytest.mark.usefixtures("lease_env")


def lease_threads() -> List[str]:
    """The extension's threads (the module's simulator, standing in for ModelArts, aside)."""
    names = [t.name for t in threading.enumerate() if t.name.startswith("jupyter-lease")]
    return [name for name in names if not name.startswith("jupyter-lease-simulator")]


async def wait_calls(sim, more_than: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while show_calls(sim) <= more_than:
        if time.monotonic() > deadline:
            raise AssertionError(f"no ShowLease within {timeout} s")
        await asyncio.sleep(0.05)
    return show_calls(sim)


async def test_after_the_server_stops_no_thread_is_left_and_nothing_calls_upstream(
    jp_serverapp, jp_fetch, lease_service, sim, monkeypatch
):
    assert (await get(jp_fetch, LEASE)).status_code == 200
    assert lease_threads(), "the service's worker threads should be running"
    # The push re-reads ModelArts on its own at every tick from now on (nobody else reads).
    monkeypatch.setattr(push, "GRACE_S", 0.0)
    lease_service.schedule = PollSchedule(far=0.0, near=0.0, final=0.0, no_deadline=0.0)
    calls = await wait_calls(sim, show_calls(sim), 5)
    await wait_calls(sim, calls, 5)  # and again: what the stop must end

    (app,) = jp_serverapp.extension_manager.extension_apps["jupyter_lease"]
    assert app.started.pusher.callback.is_running()
    alert_ticks = app.started.alerts.timers  # the server-side alerts' once-a-second look
    assert alert_ticks and all(timer.is_running() for timer in alert_ticks)
    await jp_serverapp._cleanup()  # what ServerApp.stop() runs
    assert not app.started.pusher.callback.is_running()  # the push's ticks ended with it
    assert not any(timer.is_running() for timer in alert_ticks)  # and the alerts' too

    deadline = time.monotonic() + 5
    while lease_threads() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert lease_threads() == []
    calls = show_calls(sim)
    await asyncio.sleep(4 * push.TICK_S)  # four ticks of a push that would read at each
    assert show_calls(sim) == calls

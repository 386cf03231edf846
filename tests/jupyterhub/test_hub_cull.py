"""Against a real JupyterHub and its real idle culler (``--timeout=30 --cull-every=5``): the
deadline jupyter_lease shows is one the culler then meets, Extend moves it, and our own API
polling does not keep an abandoned server alive.

One hub for the module; each user's scenario runs in its own thread from the start, so the
module takes about as long as its longest scenario (≈ 1 min), not their sum. Times are this
host's epoch seconds (the hub runs here too; the reading's offset is applied anyway).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator

import pytest
import requests

from tests.support.hub import (
    EVERY,
    SLACK,
    Hub,
    Proxied,
    bound,
    culled_at,
    require_hub,
    until,
)

pytestmark = [pytest.mark.hub, pytest.mark.timeout(240)]

TIMEOUT = 30


def idle(hub: Hub, token: str) -> Dict[str, Any]:
    view = Proxied(hub, "alice", token).get()
    shown = bound(view)
    return {"view": view, "bound": shown, "culled": culled_at(hub, "alice", shown + 60)}


def extended(hub: Hub, token: str) -> Dict[str, Any]:
    server = Proxied(hub, "bob", token)
    first = bound(server.get())
    until(first - TIMEOUT + 20)  # 20 s into the idle period: 10 s before the first bound
    answer = server.extend(f"{TIMEOUT}s")
    assert answer.status_code == 200, answer.text
    later = bound(answer.json())
    too_long = server.extend("1h")
    return {
        "first": first,
        "later": later,
        "too_long": (too_long.status_code, too_long.json()),
        "culled": culled_at(hub, "bob", later + 60),
    }


def polled(hub: Hub, token: str) -> Dict[str, Any]:
    """GETs of the lease, doctor and keep-alive APIs every 2 s, straight to the server (a tab
    polling it): the server must still be culled on time."""
    direct = f"{hub.target('carol')}/user/carol/jupyter-lease/api/"
    headers = {"Authorization": f"token {token}"}
    first = bound(requests.get(direct + "lease", headers=headers, timeout=20).json())
    answered = 0
    while hub.running("carol") and time.time() < first + 60:
        for path in ("lease", "doctor", "keep-alive"):
            try:
                ok = requests.get(direct + path, headers=headers, timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            answered += ok
        time.sleep(2)  # the polling interval of the simulated tab, not synchronisation
    return {"bound": first, "answered": answered, "culled": culled_at(hub, "carol", first + 60)}


SCENARIOS: Dict[str, Callable[[Hub, str], Dict[str, Any]]] = {
    "alice": idle,
    "bob": extended,
    "carol": polled,
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    require_hub()
    culler = [f"--timeout={TIMEOUT}", f"--cull-every={EVERY}"]
    env = {"JUPYTER_LEASE_CULL_TIMEOUT": str(TIMEOUT), "JUPYTER_LEASE_CULL_EVERY": f"{EVERY}s"}
    started = Hub(tmp_path_factory.mktemp("hub"), culler=culler, user_env=env).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def scenarios(hub: Hub) -> Iterator[Dict[str, Future]]:
    """Every user spawned at once, each scenario running in its own thread."""
    pool = ThreadPoolExecutor(max_workers=len(SCENARIOS) + 1)
    tokens = {user: pool.submit(hub.spawn, user) for user in SCENARIOS}

    def run(user: str) -> Dict[str, Any]:
        return SCENARIOS[user](hub, tokens[user].result())

    try:
        yield {user: pool.submit(run, user) for user in SCENARIOS}
    finally:
        pool.shutdown(wait=True)


def _result(scenarios: Dict[str, Future], hub: Hub, user: str) -> Dict[str, Any]:
    try:
        got = dict(scenarios[user].result(timeout=200))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- hub log ---\n{hub.log()}") from None
    log = hub.log(tail=10**7).splitlines()
    lines = [line for line in log if user in line and "ulling" in line]
    got["culler"] = lines[-3:]  # the culler's own words, shown when an assertion fails
    shown = got.get("bound", got.get("later"))
    print(f"{user}: the culler acted {got['culled'] - shown:.1f} s after the bound shown")
    return got


def test_the_culler_meets_the_shown_lower_bound(scenarios: Dict[str, Future], hub: Hub) -> None:
    got = _result(scenarios, hub, "alice")
    reading = got["view"]["reading"]
    assert reading["source"] == "JupyterHub server alice" and reading["subject"] == "server"
    assert reading["can_extend"] is True and reading["extend_choices"] == [f"{TIMEOUT}s"]
    assert "idle culler" in reading["stop_reason"]
    assert got["bound"] <= got["culled"] <= got["bound"] + EVERY + SLACK, got


def test_extend_keeps_the_server_past_its_first_cull_time(
    scenarios: Dict[str, Future], hub: Hub
) -> None:
    got = _result(scenarios, hub, "bob")
    assert got["later"] >= got["first"] + 15, got  # recorded 20 s into a 30 s idle period
    assert got["culled"] > got["first"] + EVERY + SLACK, got  # alive past its first window
    assert got["later"] <= got["culled"] <= got["later"] + EVERY + SLACK, got
    status, body = got["too_long"]  # one extension restarts the idle clock, no more
    assert status == 400 and "at most 30s" in body["error"], got["too_long"]


def test_polling_our_api_does_not_keep_an_abandoned_server_alive(
    scenarios: Dict[str, Future], hub: Hub
) -> None:
    got = _result(scenarios, hub, "carol")
    assert got["answered"] >= 9, got  # three rounds of three answered GETs at least
    assert got["bound"] <= got["culled"] <= got["bound"] + EVERY + SLACK, got

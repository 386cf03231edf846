"""Keep alive while busy, end to end: a real ``jupyter_server`` with the extension, real kernels
running ``time.sleep``, the simulator as ModelArts. Its clock is moved forward (clock control)
to just inside the margin, so each would-be stop takes a second instead of an hour; the server
reads the lease every second and checks every half second (``c.JupyterLease`` config)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any, Dict, Iterator

import pytest
import requests

from jupyter_lease.simulator.app import Simulator
from jupyter_lease.watch.cache import CACHE_DIR_ENV
from tests.support.busy import (
    KEEP_ALIVE,
    configured,
    deadline_s,
    execute,
    keep_alive,
    kernel_state,
    start_busy_kernel,
    to_margin,
    turn_on,
    wait_for,
)
from tests.support.factories import renew_calls
from tests.support.jupyter import TOKEN, JupyterServer, clean_env

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def sim_options() -> Dict[str, Any]:
    # Moving the clock by hours would otherwise make each signed request 401 (date skew).
    return {"max_date_skew": None}


@pytest.fixture(scope="module")
def server(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    srv = configured(tmp_path_factory.mktemp("busy"), {**clean_env(), **sim.environ()})
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fresh(server: JupyterServer, sim: Simulator) -> Iterator[JupyterServer]:
    """Policy off, no busy kernel, a running instance with 20 min left."""
    sim.clear_faults()
    sim.set_lease(status="RUNNING", lease_type="TIMING", enabled=True, remaining=1200)
    server.forget_cache()  # the lease changed behind the server's back (an IDLE one is kept long)
    yield server
    for kernel in server.get("api/kernels").json():
        server.post(f"api/kernels/{kernel['id']}/interrupt", {})
    server.post(KEEP_ALIVE, {"on": False})
    sim.clear_faults()


def test_a_busy_kernel_is_kept_alive_once_per_step_and_never_past_the_cap(fresh, sim):
    server = fresh
    start_busy_kernel(server, "t.ipynb")
    on_at = sim.now()
    view = turn_on(server, **{"for": "3h30m"})
    assert view["on"] and view["line"].startswith("kept alive while busy, until")
    assert view["by"].startswith("panel")
    renews = renew_calls(sim)
    for step in (1, 2, 3):  # three would-be stops
        before = to_margin(sim)
        wait_for(lambda s=step: renew_calls(sim) == renews + s, 15, f"renewal {step}")
        assert deadline_s(sim) - before == pytest.approx(3600, abs=5)  # pushed by one step
    time.sleep(1.5)
    assert renew_calls(sim) == renews + 3  # one per step, not one per check
    # The fourth would pass the cap (3 h 30 min after turning on): not made.
    last = to_margin(sim)
    wait_for(lambda: "pass the cap" in keep_alive(server)["status"], 10, "the cap")
    time.sleep(1.5)
    assert renew_calls(sim) == renews + 3
    assert last <= on_at + 3.5 * 3600 + 5
    view = keep_alive(server)
    assert [r["why"] for r in view["renewals"][-3:]] == ["t.ipynb was running"] * 3
    # Each record says what the stop moved by (one step), not RenewLease's duration from now.
    assert [r["added_ms"] for r in view["renewals"][-3:]] == [
        pytest.approx(3_600_000, abs=5000)
    ] * 3
    shown = server.get("jupyter-lease/api/lease").json()["keep_alive"]  # every view gets it
    assert shown["line"].startswith("kept alive while busy, until")
    assert "renewed automatically at" in shown["line"] and "t.ipynb" in shown["line"]
    sim.advance(400)  # the stop arrives, as the warnings said
    assert sim.state()["notebooks"][sim.notebook_id]["status"] == "STOPPED"


def test_an_idle_server_lets_the_lease_run_out(fresh, sim):
    server = fresh
    kernel_id = start_busy_kernel(server, "idle.ipynb")
    server.post(f"api/kernels/{kernel_id}/interrupt", {})  # interrupted: stops counting
    wait_for(lambda: kernel_state(server, kernel_id) == "idle", 15, "kernel idle")
    turn_on(server, **{"for": "8h"})
    renews, requests_before = renew_calls(sim), len(sim.requests())
    to_margin(sim)
    time.sleep(2.5)
    view = keep_alive(server)
    assert view["busy"] == [] and "nothing is running" in view["status"]
    assert renew_calls(sim) == renews
    assert len(sim.requests()) == requests_before  # idle: the policy does not even read
    sim.advance(400)
    assert sim.state()["notebooks"][sim.notebook_id]["status"] == "STOPPED"


def test_a_kernel_that_goes_away_while_busy_stops_counting(fresh, sim):
    """A busy kernel shut down (or dead: it leaves the kernel manager the same way) mid-cell
    must not keep the instance alive: the next check sees nothing running."""
    server = fresh
    kernel_id = start_busy_kernel(server, "gone.ipynb")
    turn_on(server, **{"for": "8h"})
    wait_for(lambda: keep_alive(server)["busy"], 10, "the busy kernel counted")
    assert server.delete(f"api/kernels/{kernel_id}").status_code == 204
    renews = renew_calls(sim)
    to_margin(sim)
    wait_for(lambda: "nothing is running" in keep_alive(server)["status"], 10, "nothing running")
    time.sleep(1.5)
    assert renew_calls(sim) == renews
    assert keep_alive(server)["busy"] == []


def test_an_idle_lease_is_never_renewed(fresh, sim):
    server = fresh
    sim.set_lease(lease_type="IDLE", duration_ms=3_600_000)
    start_busy_kernel(server, "busy.ipynb")
    turn_on(server, **{"for": "8h"})
    renews = renew_calls(sim)
    sim.advance(3 * 3600)
    wait_for(lambda: "IDLE" in keep_alive(server)["status"], 10, "IDLE seen")
    time.sleep(1.5)
    assert renew_calls(sim) == renews


def test_a_401_turns_the_policy_off_after_one_attempt(fresh, sim):
    server = fresh
    logged = len(server.log())  # this test's lines only (a kernel shut down mid-cell logs one)
    start_busy_kernel(server, "t.ipynb")
    turn_on(server, until_ms=int((time.time() + 2 * 3600) * 1000))  # type: ignore[arg-type]
    time.sleep(1.5)  # the policy has read the lease: the next read is the one that fails
    renews = renew_calls(sim)
    sim.inject("401", count=5)
    to_margin(sim)
    view = wait_for(lambda: (lambda v: v if not v["on"] else None)(keep_alive(server)), 15, "off")
    assert "refused the credentials" in view["note"] and "APIG.0301" in view["note"]
    assert view["line"].startswith("off: turned off")
    time.sleep(2.0)  # and it stays off: never retried
    assert len([r for r in sim.requests() if r["status"] == 401]) == 1
    assert renew_calls(sim) == renews
    log = server.log()[logged:]
    assert log.count("keep alive while busy turned off") == 1 and "Traceback" not in log


def test_five_busy_kernels_on_two_servers_renew_once_per_step(fresh, sim, tmp_path):
    # A second server on the same instance: same lease cache and policy file, own kernels.
    env = {**clean_env(), **sim.environ(), CACHE_DIR_ENV: str(fresh.cache_dir)}
    other = configured(tmp_path / "other", env)
    other.env[CACHE_DIR_ENV] = str(fresh.cache_dir)
    try:
        other.start()
        for i in range(3):
            start_busy_kernel(fresh, f"a{i}.ipynb")
        for i in range(2):
            start_busy_kernel(other, f"b{i}.ipynb")
        turn_on(fresh, **{"for": "8h"})
        wait_for(lambda: keep_alive(other)["on"], 5, "the other server sees the policy")
        renews = renew_calls(sim)
        for step in (1, 2):
            to_margin(sim)
            wait_for(lambda s=step: renew_calls(sim) >= renews + s, 15, f"renewal {step}")
            time.sleep(2.0)  # both servers have looked again, several times
            assert renew_calls(sim) == renews + step
        whys = [r["why"] for r in keep_alive(other)["renewals"][-2:]]
        assert all("running" in why for why in whys), whys
    finally:
        for kernel in other.get("api/kernels").json() if other.alive else []:
            other.post(f"api/kernels/{kernel['id']}/interrupt", {})
        other.stop()


def test_a_restart_keeps_the_policy_and_its_cap(sim, tmp_path):
    # A running instance whatever the test before left (the first test lets it stop).
    sim.set_lease(status="RUNNING", lease_type="TIMING", enabled=True, remaining=1200)
    env = {**clean_env(), **sim.environ()}
    first = configured(tmp_path / "srv", env, token=TOKEN, renew_while_busy="8h")
    try:
        first.start()
        before = keep_alive(first)
        shown = run_cli(first, "keep-alive", "status", "--json")  # finds the token itself
        assert shown.returncode == 0 and json.loads(shown.stdout)["on"], shown.stderr
        assert TOKEN not in shown.stdout + shown.stderr
    finally:
        first.stop()
    assert before["on"] and before["by"] == "config" and before["asked"] == "for 8h"
    assert before["cap_ms"] == pytest.approx(time.time() * 1000 + 8 * 3600_000, abs=60_000)
    time.sleep(1.0)
    again = configured(tmp_path / "srv", env, token=TOKEN, renew_while_busy="8h")
    try:
        again.start()
        after = keep_alive(again)
    finally:
        again.stop()
    assert after["on"] and after["by"] == "config"
    assert after["cap_ms"] == pytest.approx(before["cap_ms"], abs=2000)  # not 8 h from now


def test_bad_input_is_one_line_and_work_can_be_declared(fresh, sim):
    server = fresh
    for body in ({"on": "yes"}, {"on": True, "until": "25:00"}, {"on": True, "for": "abc"},
                 {"on": True, "until": 1.0}, "[1]"):  # fmt: skip
        response = server.post(KEEP_ALIVE, body)
        assert response.status_code == 400 and "\n" not in response.json()["error"], body
    assert server.post(KEEP_ALIVE, {"on": True}, xsrf=None).status_code == 403
    off = server.post(f"{KEEP_ALIVE}/work", {"id": "job-1", "ttl": 60, "label": "train"})
    assert off.status_code == 409 and "off" in off.json()["error"]  # counts only while on
    turn_on(server, **{"for": "2h"})
    response = server.post(f"{KEEP_ALIVE}/work", {"id": "job-1", "ttl": 60, "label": "train"})
    assert response.status_code == 200, response.text
    assert [w["label"] for w in response.json()["work"]] == ["train"]
    gone = requests.delete(
        server.url(f"{KEEP_ALIVE}/work?id=job-1"),
        headers={"X-XSRFToken": "x" * 32}, cookies={"_xsrf": "x" * 32}, timeout=10,
    )  # fmt: skip
    assert gone.status_code == 200 and gone.json()["work"] == []
    assert server.post(f"{KEEP_ALIVE}/work", {"id": "bad id!"}).status_code == 400


def run_cli(server: JupyterServer, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_lease", *args],
        env={**server.env, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_cli_turns_it_on_and_off_and_status_shows_it(fresh, sim, tmp_path):
    on = run_cli(fresh, "keep-alive", "on", "--for", "2h")
    assert on.returncode == 0, on.stderr
    assert on.stdout.startswith("Keep alive while busy: kept alive while busy, until")
    data = json.loads(run_cli(fresh, "keep-alive", "status", "--json").stdout)
    assert data["on"] and data["by"].startswith("cli") and data["asked"] == "for 2h"
    status = run_cli(fresh, "status")
    assert status.returncode == 0 and "Keep alive while busy: kept alive" in status.stdout
    off = run_cli(fresh, "keep-alive", "off")
    assert off.returncode == 0 and off.stdout.strip() == "Keep alive while busy: off"
    bad = run_cli(fresh, "keep-alive", "on", "--until", "25:00")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "HH:MM" in bad.stderr
    (tmp_path / "empty").mkdir()
    none = run_cli(fresh, "keep-alive", "status", JUPYTER_RUNTIME_DIR=str(tmp_path / "empty"))
    assert none.returncode == 2 and none.stderr.count("\n") == 1
    assert "no running Jupyter server with jupyter_lease's extension" in none.stderr


def test_keep_alive_in_code_registers_with_the_server_one_decision(fresh, sim):
    server = fresh  # the policy is on; the block's kernel is busy in its sleep
    turn_on(server, **{"for": "8h"})
    code = (
        "import jupyter_lease, time\n"
        "with jupyter_lease.keep_alive(max_total='3h', check_every=1):\n"
        "    time.sleep(600)\n"
    )
    body = {"path": "train.ipynb", "type": "notebook", "name": "t", "kernel": {"name": "python3"}}
    kernel_id = server.post("api/sessions", body).json()["kernel"]["id"]
    asyncio.run(execute(server, kernel_id, code))
    work = wait_for(lambda: keep_alive(server)["work"], 30, "work registered")
    assert work[0]["label"].startswith("keep_alive() in process")
    renews = renew_calls(sim)
    to_margin(sim)
    wait_for(lambda: renew_calls(sim) == renews + 1, 15, "renewed for the declared work")
    time.sleep(2.0)  # the kernel's own keep_alive does not renew as well
    assert renew_calls(sim) == renews + 1
    # The block's kernel is busy too (time.sleep): the server may name either for this one
    # renewal, the declared work or the notebook whose kernel runs it.
    why = keep_alive(server)["renewals"][-1]["why"]
    assert "keep_alive() in process" in why or "train.ipynb" in why, why
    server.post(f"api/kernels/{kernel_id}/interrupt", {})  # the block ends: unregistered
    wait_for(lambda: keep_alive(server)["work"] == [], 15, "work ended")

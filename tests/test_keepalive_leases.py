"""Keep alive while busy acts for exactly one lease, within exactly the cap the person chose
(issue 18): real ``jupyter_server`` processes with the extension, real kernels, simulators as
ModelArts (one per notebook), the CLI as a subprocess. The patterns are
``tests/test_busy_server.py``'s (its clock control brings each would-be stop within a second)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, Tuple

import pytest

from jupyter_lease.simulator.app import Simulator
from jupyter_lease.watch.cache import CACHE_DIR_ENV
from tests.support.busy import (
    KEEP_ALIVE,
    configured,
    deadline_s,
    keep_alive,
    start_busy_kernel,
    to_margin,
    turn_on,
    wait_for,
)
from tests.support.factories import renew_calls
from tests.support.jupyter import JupyterServer, clean_env
from tests.support.kernel_helpers import KernelSession

pytestmark = pytest.mark.kernel
H = 3600.0


def simulator(notebook_id: str) -> Simulator:
    return Simulator(max_date_skew=None, notebook_id=notebook_id).start()


@pytest.fixture(scope="module")
def sims() -> Iterator[Tuple[Simulator, Simulator]]:
    a = simulator("aaaaaaaa-0000-4000-8000-00000000000a")
    b = simulator("bbbbbbbb-0000-4000-8000-00000000000b")
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def pair(
    sims: Tuple[Simulator, Simulator], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tuple[JupyterServer, JupyterServer]]:
    """Server A for notebook A, server B for notebook B: ONE runtime dir and lease cache dir."""
    root = tmp_path_factory.mktemp("two")
    shared = root / "shared-runtime"
    shared.mkdir(mode=0o700)
    servers = []
    for name, sim in zip("ab", sims):
        server = configured(root / name, {**clean_env(), **sim.environ()})
        server.env["JUPYTER_RUNTIME_DIR"] = server.env[CACHE_DIR_ENV] = str(shared)
        server.env["TZ"] = "UTC"  # the server's zone; a person elsewhere (test_until_…)
        server.cache_dir = shared
        servers.append(server.start())
    try:
        for server in servers:
            server.wait_ready()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def fresh_pair(pair, sims) -> Iterator[Tuple[JupyterServer, JupyterServer]]:
    for sim in sims:
        sim.clear_faults()
        sim.set_lease(status="RUNNING", lease_type="TIMING", enabled=True, remaining=1200)
    pair[0].forget_cache()  # one cache dir for both: every lease cache and record goes
    yield pair
    for server in pair:
        for kernel in server.get("api/kernels").json():
            server.post(f"api/kernels/{kernel['id']}/interrupt", {})
        server.post(KEEP_ALIVE, {"on": False})


def renewed(server: JupyterServer, sim: Simulator, renews: int, what: str = "renewed") -> None:
    """RenewLease was called once more, and the server has recorded it (the record follows
    the call)."""
    wait_for(lambda: renew_calls(sim) == renews + 1, 15, what)
    wait_for(lambda: keep_alive(server)["last_renewal"], 5, f"{what}: recorded")


def forget_lease_cache(server: JupyterServer) -> None:
    """The lease cache only: the keep-alive records stay."""
    for path in server.cache_files():
        if not path.name.startswith("jupyter_lease-keep-alive-"):
            path.unlink()


def run_cli(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_lease", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_two_notebooks_sharing_a_runtime_dir_share_nothing(fresh_pair, sims):
    """Item 1: two servers, one runtime dir, two instances. On for A does nothing for B; a
    renewal of B is never counted ("renewed moments ago") nor announced for A."""
    a, b = fresh_pair
    sim_a, sim_b = sims
    start_busy_kernel(a, "a.ipynb")
    start_busy_kernel(b, "b.ipynb")
    turn_on(a, **{"for": "8h"})
    time.sleep(1.5)  # B has looked at its policy several times
    assert keep_alive(b)["on"] is False and keep_alive(b)["lease"] != keep_alive(a)["lease"]
    turn_on(b, **{"for": "8h"})
    renews_a, renews_b = renew_calls(sim_a), renew_calls(sim_b)
    to_margin(sim_b)
    wait_for(lambda: renew_calls(sim_b) == renews_b + 1, 15, "B renewed")
    wait_for(lambda: keep_alive(b)["renewals"], 5, "B's record")
    assert keep_alive(a)["renewals"] == [] and keep_alive(a)["last_renewal"] is None
    shown = a.get("jupyter-lease/api/lease").json()["keep_alive"]  # what A's pages announce
    assert shown["last_renewal"] is None and "b.ipynb" not in shown["line"]
    to_margin(sim_a)  # A's own stop: B's renewal a moment ago must not hold A back
    wait_for(lambda: renew_calls(sim_a) == renews_a + 1, 15, "A renewed")
    whys = wait_for(lambda: [r["why"] for r in keep_alive(a)["renewals"]], 5, "A's record")
    assert whys == ["a.ipynb was running"]
    assert [r["why"] for r in keep_alive(b)["renewals"]] == ["b.ipynb was running"]
    a.post(KEEP_ALIVE, {"on": False})
    assert keep_alive(b)["on"] is True  # off for A is off for A only


def test_a_kernel_of_another_lease_renews_on_its_own(fresh_pair, sims):
    """Item 2: the running servers serve leases A and B; keep_alive() in a kernel of lease C
    (same runtime dir) registers with neither, and renews C itself."""
    a, b = fresh_pair
    for server in (a, b):
        turn_on(server, **{"for": "8h"})  # either would take work now, were it for its lease
    sim_c = simulator("cccccccc-0000-4000-8000-00000000000c")
    try:
        sim_c.set_lease(remaining=600)
        env = {**clean_env(), **sim_c.environ()}
        env["JUPYTER_RUNTIME_DIR"] = env[CACHE_DIR_ENV] = a.env["JUPYTER_RUNTIME_DIR"]
        with KernelSession(env=env) as kernel:
            out = kernel.execute(
                "import time, jupyter_lease\n"
                "with jupyter_lease.keep_alive(max_total='3h', margin='15m', check_every=0.1)"
                " as k:\n"
                "    time.sleep(1.5)\n"
                "print(len(k.renewals), k.errors, getattr(k, 'note', '-'))\n",
                timeout=60,
            ).stdout.strip()
        count, errors, note = out.split(" ", 2)
        assert count == "1" and errors == "[]", out
        assert note.startswith("renewing on its own: no running Jupyter server serves"), note
        assert renew_calls(sim_c) == 1
    finally:
        sim_c.stop()
    assert keep_alive(a)["work"] == [] and keep_alive(b)["work"] == []


def test_keep_alive_off_works_with_no_server_running(sims, tmp_path):
    """Item 1: `keep-alive off` with no server edits the lease's record; the server that
    starts next finds it off."""
    sim = sims[0]
    sim.set_lease(status="RUNNING", remaining=1200)
    server = configured(tmp_path / "srv", {**clean_env(), **sim.environ()})
    try:
        server.start().wait_ready()
        turn_on(server, **{"for": "8h"})
    finally:
        server.stop()
    off = run_cli(server.env, "keep-alive", "off")
    assert off.returncode == 0, off.stderr
    assert off.stdout.startswith("Keep alive while busy: off (no running Jupyter server serves")
    again = configured(tmp_path / "srv", {**clean_env(), **sim.environ()})
    try:
        again.start().wait_ready()
        view = keep_alive(again)
    finally:
        again.stop()
    assert view["on"] is False and view["by"] == "cli"


def _renewed_once_while_busy(server: Any, sim: Any) -> int:
    """A busy kernel on ``server``, the policy on for 8 h, the lease at the margin: one renewal.
    Returns the RenewLease count from before it."""
    start_busy_kernel(server, "t.ipynb")
    turn_on(server, **{"for": "8h"})
    renews = renew_calls(sim)
    to_margin(sim)
    renewed(server, sim, renews)
    return renews


def test_a_lease_that_ends_forgets_its_record(fresh_pair, sims):
    """Item 1: a new run of the instance is a new lease: the old record (on, its cap, its
    renewals) is forgotten, never replayed."""
    a, _ = fresh_pair
    sim = sims[0]
    _renewed_once_while_busy(a, sim)
    assert keep_alive(a)["renewals"]
    sim.set_lease(status="STOPPED")  # the instance stops; the busy kernel makes A look
    wait_for(lambda: not keep_alive(a)["on"], 15, "the record forgotten")
    view = keep_alive(a)
    assert view["renewals"] == [] and view["last_renewal"] is None and view["by"] == ""
    started = int(sim.now() * 1000)  # started again: a new lease
    sim.set_lease(status="RUNNING", create_at_ms=started, duration_ms=1200_000)
    time.sleep(1.5)
    assert keep_alive(a)["on"] is False and keep_alive(a)["renewals"] == []


def test_renewal_ids_are_stable_when_the_clock_offset_moves(fresh_pair, sims):
    """Item 1 ("announced once"): the page announces a renewal by its id, which a re-measured
    clock offset (which moves ``at_ms``) does not change."""
    a, _ = fresh_pair
    sim = sims[0]
    _renewed_once_while_busy(a, sim)
    first = keep_alive(a)["last_renewal"]
    sim.advance(120)  # the offset is measured again on the next read
    forget_lease_cache(a)
    wait_for(lambda: keep_alive(a)["last_renewal"]["at_ms"] != first["at_ms"], 15, "offset moved")
    assert keep_alive(a)["last_renewal"]["id"] == first["id"]


def test_until_is_read_in_the_persons_time_zone(fresh_pair):
    """Item 3: the server on UTC, the person in UTC+8: `--until HH:MM` is their HH:MM, and the
    answer says their zone. The API takes instants only."""
    a, _ = fresh_pair
    shanghai = timezone(timedelta(hours=8))
    target = (datetime.now(shanghai) + timedelta(hours=3)).replace(second=0, microsecond=0)
    env = {**a.env, "TZ": "Asia/Shanghai"}  # the person, 8 h ahead of the server
    on = run_cli(env, "keep-alive", "on", "--until", target.strftime("%H:%M"))
    assert on.returncode == 0, on.stderr
    view = keep_alive(a)
    assert view["cap_ms"] == pytest.approx(target.timestamp() * 1000, abs=2000)
    assert f"until {target.strftime('%H:%M')} UTC+08:00" in on.stdout, on.stdout
    text = a.post(KEEP_ALIVE, {"on": True, "until": "18:00"})
    assert text.status_code == 400 and "time zone" in text.json()["error"]
    until_ms = int((time.time() + 2 * H) * 1000)  # what the page sends
    assert turn_on(a, until_ms=until_ms)["cap_ms"] == pytest.approx(until_ms, abs=2000)


def test_the_cap_is_bounded_by_the_servers_setting(fresh_pair):
    """Item 4: at most renew_max_cap (24 h) from now, in one line."""
    a, _ = fresh_pair
    year_2199 = datetime(2199, 1, 1, tzinfo=timezone.utc).timestamp()
    for body in ({"for": "8760h"}, {"for": "25h"}, {"until_ms": year_2199 * 1000},
                 {"until": time.time() + 30 * H}):  # fmt: skip
        response = a.post(KEEP_ALIVE, {"on": True, **body})
        assert response.status_code == 400, (body, response.text)
        assert "renew_max_cap" in response.json()["error"] and "\n" not in response.text
    assert keep_alive(a)["on"] is False
    assert turn_on(a, **{"for": "24h"})["on"] is True


def test_declared_work_counts_only_while_on_and_switching_off_clears_it(fresh_pair, sims):
    """Item 4: off means off: switching off lets declared work go (its heartbeat is refused),
    and nothing renews for it."""
    a, _ = fresh_pair
    sim = sims[0]
    turn_on(a, **{"for": "8h"})
    body = {"id": "job-1", "ttl": 600, "label": "train", "for": "3h"}
    assert a.post(f"{KEEP_ALIVE}/work", body).status_code == 200
    assert [w["label"] for w in keep_alive(a)["work"]] == ["train"]
    a.post(KEEP_ALIVE, {"on": False})
    assert keep_alive(a)["work"] == []
    again = a.post(f"{KEEP_ALIVE}/work", body)
    assert again.status_code == 409 and "off" in again.json()["error"]
    renews = renew_calls(sim)
    to_margin(sim)
    time.sleep(2.0)  # four checks
    assert renew_calls(sim) == renews


def test_a_restart_after_the_cap_passed_never_rearms_it(sims, tmp_path):
    """Item 4: with renew_while_busy configured, a restart after the cap has passed keeps it
    passed: nothing is renewed, the line says so."""
    sim = sims[1]
    sim.set_lease(status="RUNNING", remaining=12 * H)
    env = {**clean_env(), **sim.environ()}
    first = configured(tmp_path / "srv", env, renew_while_busy="2h")
    try:
        first.start().wait_ready()
        before = keep_alive(first)
    finally:
        first.stop()
    assert before["on"] and before["by"] == "config"
    sim.advance(3 * H)  # the cap (2 h) has passed; the instance runs on
    again = configured(tmp_path / "srv", env, renew_while_busy="2h")
    try:
        again.start().wait_ready()
        start_busy_kernel(again, "late.ipynb")
        renews = renew_calls(sim)
        to_margin(sim)
        time.sleep(2.0)
        after = keep_alive(again)
        assert renew_calls(sim) == renews
    finally:
        again.stop()
    assert after["cap_ms"] < time.time() * 1000  # the old cap, on this clock: passed
    assert "has passed" in after["line"] and after["by"] == "config"
    assert after["since_ms"] < time.time() * 1000 - 2 * H * 1000  # not turned on again now


def test_keep_alive_margin_and_step_travel_with_the_registration(fresh_pair, sims):
    """Item 7: keep_alive(margin="20m", extend_by="2h") registered with the server is renewed
    at 15 min left (the server's own margin is 10 min) by 2 h; a cap beyond the server's limit
    is refused in one line, and the block renews on its own."""
    a, _ = fresh_pair
    sim = sims[0]
    turn_on(a, **{"for": "8h"})
    sim.set_lease(remaining=15 * 60)
    before, renews = deadline_s(sim), renew_calls(sim)
    with KernelSession(env=a.env) as kernel:  # a kernel of A's lease, beside A
        out = kernel.execute(
            "import time, jupyter_lease\n"
            "k = jupyter_lease.keep_alive(max_total='6h', margin='20m', extend_by='2h',\n"
            "                             check_every=1)\n"
            "with k:\n"
            "    time.sleep(3)\n"
            "print(repr(getattr(k, 'note', '')), len(k.renewals))\n",
            timeout=60,
        ).stdout.strip()
        assert out == "'' 0", out  # registered: the server renewed, not the kernel
        assert renew_calls(sim) == renews + 1
        assert deadline_s(sim) - before == pytest.approx(2 * H, abs=5)
        far = kernel.execute(
            "k = jupyter_lease.keep_alive(max_total='30h', check_every=1)\n"
            "with k:\n"
            "    pass\n"
            "print(k.note)\n",
            timeout=60,
        ).stdout.strip()
    assert far.startswith("renewing on its own") and "beyond this server's limit" in far, far
    assert "\n" not in far


def test_renewed_moments_ago_holds_through_the_real_server(fresh_pair, sims):
    """The guard, end to end: right after a renewal, a read that does not show it (the lease
    back inside the margin) must not cause a second RenewLease."""
    a, _ = fresh_pair
    sim = sims[0]
    renews = _renewed_once_while_busy(a, sim)
    sim.set_lease(remaining=300)  # as if ModelArts still showed the old stop
    forget_lease_cache(a)
    looked = lambda: "moments ago" in keep_alive(a)["status"] or renew_calls(sim) > renews + 1  # noqa: E731
    wait_for(looked, 10, "the server has looked at the lease again")
    time.sleep(2.0)  # four more checks
    assert renew_calls(sim) == renews + 1, keep_alive(a)["renewals"]
    assert "moments ago" in keep_alive(a)["status"]

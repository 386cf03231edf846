"""The server extension in a real ``python -m jupyter_server``, over real HTTP, against the
simulator; and the shared cache seen from real kernels."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import requests

from jupyter_lease._errors import AuthenticationError
from jupyter_lease.core import Reading, present
from jupyter_lease.server.service import CONFIG_RETRY, LeaseService, Offload
from jupyter_lease.simulator.app import Simulator
from jupyter_lease.watch.cache import CACHE_DIR_ENV
from tests.support.busy import KEEP_ALIVE
from tests.support.checks import assert_no_secret, assert_one_line_error
from tests.support.factories import make_source, renew_calls, show_calls
from tests.support.jupyter import EXTEND, LEASE, TOKEN, JupyterServer, clean_env
from tests.support.kernel_helpers import KernelSession
from tests.support.scenarios import wait_until


@pytest.fixture(scope="module")
def servers(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """Three servers, started in parallel: open (auth off), token + non-root base_url whose
    UUID names the notebook, and one with no ModelArts configuration at all."""
    root = tmp_path_factory.mktemp("servers")
    env = {**clean_env(), **sim.environ()}
    no_id = {k: v for k, v in env.items() if k != "JUPYTER_LEASE_NOTEBOOK_ID"}
    started = {
        "open": JupyterServer(root / "open", env),
        "token": JupyterServer(
            root / "token", no_id, token=TOKEN, base_url=f"/some/base/{sim.notebook_id}/"
        ),
        "unconfigured": JupyterServer(root / "unconfigured", clean_env()),
    }
    try:
        for server in started.values():
            server.launch()
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture
def server(servers: Dict[str, Any], sim: Simulator) -> Iterator[JupyterServer]:
    """The open server, the simulator's faults cleared and its cache read afresh from them.

    Settled before the test starts: a GET answers the last view at once and refreshes behind
    it, so a test that began on an emptied cache raced the read its own first GET started
    (seen on a loaded CI: the cache file not there yet, a throttled refresh never made)."""
    srv = servers["open"]
    sim.clear_faults()
    srv.forget_cache()
    wait_until(lambda: fresh_reading(srv) and srv.cache_files(), 15, "a fresh cached lease")
    yield srv
    sim.clear_faults()


# -- GET -------------------------------------------------------------------------------------


def test_get_is_answered_from_the_shared_cache(server, sim):
    assert server.get(LEASE).status_code == 200
    calls = show_calls(sim)
    for _ in range(5):
        assert server.get(LEASE).status_code == 200
    assert show_calls(sim) == calls  # one upstream call per poll interval, not per request
    (cache_file,) = server.cache_files()
    assert_no_secret(cache_file.read_text(encoding="utf-8"), sim=sim)


def timed_answer(server: JupyterServer, path: str) -> Tuple[float, Any]:
    """Seconds a GET of ``path`` took, and its answer."""
    started = time.monotonic()
    answer = server.get(path)
    return time.monotonic() - started, answer


def test_a_stalled_modelarts_leaves_every_get_and_the_rest_of_jupyter_answering(server, sim):
    # More concurrent GETs than asyncio's default executor has threads (min(32, CPUs + 4)),
    # against a ModelArts that takes 4 s, the shared cache emptied meanwhile: every GET answers
    # at once with the last known reading (a GET never waits on an upstream read, issue 19),
    # jupyter_server's own handlers (kernelspecs runs on that default executor) answer at once,
    # and one ShowLease behind them all brings the new reading.
    known = server.get(LEASE).json()["reading"]["deadline_ms"]
    server.forget_cache()
    truth = sim.set_lease(remaining=9000)
    gets = min(32, (os.cpu_count() or 1) + 4) + 2
    calls = show_calls(sim)
    sim.inject("latency", count=1, seconds=4.0)
    with ThreadPoolExecutor(max_workers=gets) as pool:
        pending = [pool.submit(timed_answer, server, LEASE) for _ in range(gets)]
        others = {path: timed_answer(server, path)[0] for path in ("api/kernelspecs", "api/status")}
        answers = [job.result() for job in pending]
    assert show_calls(sim) == calls  # every answer came while the read was in flight
    assert all(a.status_code == 200 for _, a in answers), [a.text for _, a in answers]
    assert {a.json()["reading"]["deadline_ms"] for _, a in answers} == {known}
    assert max(t for t, _ in answers) < 1.0, sorted(t for t, _ in answers)
    assert max(others.values()) < 1.0, others
    wait_until(lambda: show_calls(sim) == calls + 1, 15, "the one ShowLease behind them")
    new = truth["create_at"] + truth["duration"]
    wait_until(lambda: server.get(LEASE).json()["reading"]["deadline_ms"] == new, 5, "the news")
    assert show_calls(sim) == calls + 1  # one upstream read for all of them


def test_a_shared_read_that_fails_is_one_log_line_and_the_next_get_retries(server, sim):
    # Eight tabs ask at once while ModelArts throttles every try (the cache emptied): each gets
    # the last known reading at once, one upstream read (its three tries) runs behind them, the
    # log says its failure once, and a GET after it asks again.
    known = server.get(LEASE).json()["reading"]["deadline_ms"]
    server.forget_cache()
    sim.inject("429", count=3, retry_after=1)
    line = "jupyter_lease: reading the lease: "
    calls, logged = show_calls(sim), server.log().count(line)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: server.get(LEASE), range(8)))
    assert {(a.status_code, a.json()["reading"]["deadline_ms"]) for a in answers} == {(200, known)}
    wait_until(lambda: server.log().count(line) == logged + 1, 15, "the failure, logged")
    assert "APIGW.0308" in server.log() and show_calls(sim) == calls + 3
    wait_until(lambda: not server.get(LEASE).json()["reading"]["stale"], 5, "a fresh reading")
    assert show_calls(sim) == calls + 4
    assert server.log().count(line) == logged + 1


def test_offload_shares_one_read_and_keeps_a_thread_for_extends():
    # Five waiting reads hold one worker thread, not all of them: an extend still runs.
    calls: List[str] = []
    release = threading.Event()

    def read() -> int:
        calls.append("read")
        number = len(calls)
        release.wait(10)
        return number

    def extend() -> str:
        calls.append("extend")
        return "extended"

    async def scenario() -> Any:
        offload = Offload()
        try:
            reads = [asyncio.ensure_future(offload.shared(read)) for _ in range(5)]
            await asyncio.sleep(0.2)
            extends = [await asyncio.wait_for(offload.run(extend), 5) for _ in range(2)]
            release.set()
            return extends, await asyncio.wait_for(asyncio.gather(*reads), 5)
        finally:
            release.set()
            offload.shutdown()

    extends, reads = asyncio.run(scenario())
    assert extends == ["extended", "extended"]  # never merged, and not stuck behind the read
    assert calls == ["read", "extend", "extend"]
    assert reads == [1] * 5  # everyone got the one read's result


def test_a_poisoned_cache_file_does_not_break_the_server(server, sim):
    assert server.get(LEASE).status_code == 200
    (cache_file,) = server.cache_files()
    data = json.loads(cache_file.read_text(encoding="utf-8"))
    data["reading"]["deadline_ms"] = 10**17  # beyond year 2200: no answer says that
    cache_file.write_text(json.dumps(data), encoding="utf-8")
    calls = show_calls(sim)
    response = server.get(LEASE)
    assert response.status_code == 200, response.text
    truth = sim.state()["notebooks"][sim.notebook_id]["lease"]
    deadline = truth["create_at"] + truth["duration"]
    assert response.json()["reading"]["deadline_ms"] == deadline and show_calls(sim) == calls + 1
    assert server.get(LEASE).status_code == 200 and show_calls(sim) == calls + 1  # rewritten


def keep_alive_on(server: JupyterServer) -> bool:
    return bool(server.get(LEASE).json()["keep_alive"]["on"])


def test_a_keep_alive_change_shows_in_the_lease_view_at_once(server, sim):
    # The lease view carries keep-alive's summary; the reading is fresh for minutes (default
    # polls), so only the record's own change can bring the view up to date: the panel re-reads
    # right after its switch, and a view from before it flipped the switch back (issue 19's
    # review; tests/browser/test_status_panel.py's uncheck failed on a loaded machine).
    assert keep_alive_on(server) is False
    assert server.post(KEEP_ALIVE, {"on": True, "for": "2h"}).status_code == 200
    try:
        wait_until(lambda: keep_alive_on(server), 5, "keep-alive on, in the lease view")
    finally:
        assert server.post(KEEP_ALIVE, {"on": False}).status_code == 200
    wait_until(lambda: not keep_alive_on(server), 5, "keep-alive off, in the lease view")


# -- POST extend -----------------------------------------------------------------------------


def test_extend_renews_and_answers_the_fresh_lease(server, sim):
    sim.set_lease(remaining=600)
    renews = renew_calls(sim)
    response = server.post(EXTEND, {"duration": "2h"})
    assert response.status_code == 200, response.text
    view = response.json()
    reading = view["reading"]
    assert renew_calls(sim) == renews + 1
    truth = sim.state()["notebooks"][sim.notebook_id]["lease"]
    assert reading["deadline_ms"] == truth["create_at"] + truth["duration"]
    shown = present(Reading.from_json(reading), view["now_ms"] / 1000)
    assert abs(shown.remaining_s - 7200) < 1.5
    assert reading["stale"] is False
    calls = show_calls(sim)
    assert server.get(LEASE).json()["reading"] == reading
    assert show_calls(sim) == calls  # the renewal refreshed the cache
    assert "extended by 2h" in server.log()


@pytest.mark.parametrize(
    "fault, code",
    [("403", "ModelArts.0108"), ("not_running", "ModelArts.6327"), ("401", "APIG.0301")],
)
def test_api_errors_on_extend_are_502_with_code_and_request_id(server, sim, fault, code):
    sim.inject(fault, count=1)
    response = server.post(EXTEND, {"duration": "2h"})
    body = assert_one_line_error(response, 502)
    assert body["code"] == code
    assert body["request_id"] == sim.requests()[-1]["request_id"]
    assert_no_secret(response.text, sim=sim)
    log = server.log()
    assert "jupyter_lease: extending the lease: " in log and code in log
    assert_no_secret(log, sim=sim)


def test_get_answers_the_last_known_lease_as_stale_when_the_refresh_fails(server, sim):
    good = server.get(LEASE).json()
    (cache_file,) = server.cache_files()
    data = json.loads(cache_file.read_text(encoding="utf-8"))
    data["fetched_at"] -= 3600  # an hour old: due for a refresh
    cache_file.write_text(json.dumps(data), encoding="utf-8")
    sim.inject("not_running", count=1)
    # The GET after the file changed waits at most 0.2 s for the refresh: then or at a later one.
    stale = wait_until(lambda: stale_reading(server), 5, "the last known reading, stale")
    assert "ModelArts.6327" in stale["error"]
    assert stale["deadline_ms"] == good["reading"]["deadline_ms"]
    assert present(Reading.from_json(stale), time.time()).headline.endswith("(last known)")
    # The failure was not cached as fresh: a refresh behind a later GET asks again.
    fresh = wait_until(lambda: fresh_reading(server), 5, "a fresh reading")
    assert fresh["error"] is None


def fresh_reading(server: JupyterServer) -> Optional[Dict[str, Any]]:
    reading = server.get(LEASE).json()["reading"]
    return None if reading["stale"] else reading


def stale_reading(server: JupyterServer) -> Optional[Dict[str, Any]]:
    response = server.get(LEASE)
    assert response.status_code == 200, response.text
    reading = response.json()["reading"]
    return reading if reading["stale"] else None


# -- security ----------------------------------------------------------------------------------


def test_post_without_the_xsrf_header_is_403_even_with_auth_off(server, sim):
    renews = renew_calls(sim)
    assert server.post(EXTEND, {"duration": "2h"}, xsrf=None).status_code == 403
    assert server.post(EXTEND, {"duration": "2h"}, xsrf="0" * 32).status_code == 403
    assert renew_calls(sim) == renews


def test_a_token_server_refuses_requests_without_the_token(servers, sim):
    srv = servers["token"]
    assert srv.get(LEASE, auth=False).status_code == 403
    assert srv.post(EXTEND, {"duration": "2h"}, auth=False).status_code == 403
    response = srv.get(LEASE)
    assert response.status_code == 200, response.text
    # No JUPYTER_LEASE_NOTEBOOK_ID here: the id came from the UUID in this server's base_url.
    assert response.json()["reading"]["source_id"] == sim.notebook_id
    # A token-authenticated request needs no XSRF cookie (jupyter_server's rule).
    sim.set_lease(remaining=600)  # 1 h lengthens it (a shorter lease would refuse: 409)
    assert srv.post(EXTEND, {"duration": "1h"}, xsrf=None).status_code == 200


def test_an_extend_that_would_shorten_the_lease_is_409_and_changes_nothing(server, sim):
    sim.set_lease(remaining=2 * 3600)
    renews = renew_calls(sim)
    response = server.post(EXTEND, {"duration": "1h"})
    assert response.status_code == 409, response.text
    assert "left now" in response.json()["error"] and "sooner" in response.json()["error"]
    assert renew_calls(sim) == renews
    response = server.post(EXTEND, {"duration": "1h", "force": True})
    assert response.status_code == 200, response.text
    assert renew_calls(sim) == renews + 1


def test_the_api_lives_under_a_non_root_base_url(servers, sim):
    srv = servers["token"]
    auth = {"Authorization": f"token {TOKEN}"}
    host = f"http://127.0.0.1:{srv.port}"
    # URLs spelled out here, not built by the test's own helper.
    under = requests.get(f"{host}/some/base/{sim.notebook_id}/{LEASE}", headers=auth, timeout=30)
    assert under.status_code == 200, under.text
    assert requests.get(f"{host}/{LEASE}", headers=auth, timeout=10).status_code == 404


# -- not on ModelArts ------------------------------------------------------------------------


def test_without_configuration_the_api_answers_503_and_the_server_keeps_running(servers):
    srv = servers["unconfigured"]
    for _ in range(3):
        body = assert_one_line_error(srv.get(LEASE), 503)
        assert "notebook" in body["error"].lower() or "project" in body["error"].lower()
    assert_one_line_error(srv.post(EXTEND, {"duration": "2h"}), 503)
    assert srv.get("api/status").status_code == 200 and srv.alive
    log = srv.log()
    assert log.count("jupyter_lease: the lease API is unavailable") == 1  # one line, not per call
    assert "Traceback" not in log


def test_no_server_log_has_a_traceback_or_a_secret(servers, sim):
    # Failures of its own first, so that this holds whichever tests ran before it.
    srv = servers["open"]
    srv.forget_cache()
    sim.inject("401", count=1)
    srv.get(LEASE)  # 502 if this server has read nothing yet, else the last reading, stale
    wait_until(lambda: "APIG.0301" in srv.log(), 10, "the failure in the log")
    sim.inject("500", count=3)  # every retry of the RenewLease
    assert_one_line_error(srv.post(EXTEND, {"duration": "1h"}), 502)
    sim.clear_faults()
    assert_one_line_error(servers["unconfigured"].get(LEASE), 503)
    log = srv.log()
    assert "jupyter_lease: reading the lease: " in log and "APIG.0301" in log
    assert "jupyter_lease: extending the lease: " in log and "ModelArts.6102" in log
    for each in servers.values():
        log = each.log()
        assert "Traceback" not in log, log
        assert_no_secret(log, sim=sim)
        assert "jupyter_lease: lease API at" in log


def test_a_failing_source_is_retried_after_a_pause_not_per_request(caplog):
    # E.g. an IAM password that IAM refuses: a polling page must not become a login loop.
    built: List[int] = []
    now = [0.0]

    def factory() -> Any:
        built.append(1)
        raise AuthenticationError("IAM: the password was refused (HTTP 401)")

    service = LeaseService(
        logging.getLogger("test.jupyter_lease"), factory=factory, clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="test.jupyter_lease"):
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                service.lease()
        assert len(built) == 1
        now[0] = CONFIG_RETRY + 1
        with pytest.raises(AuthenticationError):
            service.lease()
    assert len(built) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "jupyter_lease: the lease API is unavailable: IAM: the password was refused (HTTP 401)"
    ]  # one line, not one per attempt


def test_an_unusable_cache_is_one_warning_and_the_lease_still_answers(sim, tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o1777)
    shared.chmod(0o1777)  # like /tmp: anyone could plant the file here
    service = LeaseService(
        logging.getLogger("test.jupyter_lease.cache"),
        factory=lambda: make_source(sim, shared),
    )
    try:
        with caplog.at_level(logging.WARNING, logger="test.jupyter_lease.cache"):
            views = [service.lease() for _ in range(3)]
    finally:
        service.close()
    truth = sim.state()["notebooks"][sim.notebook_id]["lease"]
    deadline = truth["create_at"] + truth["duration"]
    assert [v["reading"]["deadline_ms"] for v in views] == [deadline] * 3
    assert [r.getMessage() for r in caplog.records] == [
        f"jupyter_lease: the lease cache is not used: {shared} is writable by every user"
    ]
    assert list(shared.iterdir()) == []


# -- kernels share the cache -----------------------------------------------------------------

KERNEL_SETUP = """
%load_ext jupyter_lease
%config JupyterLease.poll_far = "1s"
%config JupyterLease.poll_near = "1s"
%config JupyterLease.poll_final = "1s"
from jupyter_lease.watch.runtime import get_runtime
get_runtime().watch()
"""


@pytest.mark.kernel
def test_five_kernels_ask_upstream_no_more_than_one(tmp_path):
    # Two simulators, so the 5-kernel and the 1-kernel instance are measured in the same window.
    many, one = Simulator().start(), Simulator().start()
    kernels: List[KernelSession] = []

    def start(sim: Simulator, cache: Path) -> KernelSession:
        env = {**clean_env(), **sim.environ(), CACHE_DIR_ENV: str(cache)}
        session = KernelSession(env=env)
        kernels.append(session)
        return session.start()

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            jobs = [pool.submit(start, many, tmp_path / "many") for _ in range(5)]
            jobs.append(pool.submit(start, one, tmp_path / "one"))
            sessions = [job.result() for job in jobs]
            list(pool.map(lambda k: k.execute(KERNEL_SETUP), sessions))
        time.sleep(1.0)  # every watcher has made its first poll
        start_many, start_one = show_calls(many), show_calls(one)
        time.sleep(5.0)  # the window: a poll every ~1.4 s (1 s + the phase step) per instance
        window_many = show_calls(many) - start_many
        window_one = show_calls(one) - start_one
        for session in sessions:
            out = session.execute(
                "w = get_runtime().watcher(); print(w.running, w.snapshot.polls > 3,"
                " w.snapshot.stale)"
            ).stdout
            assert out.split() == ["True", "True", "False"], out
    finally:
        for session in kernels:
            session.shutdown()
        many.stop()
        one.stop()
    print(f"ShowLease in 5 s: 5 kernels {window_many}, 1 kernel {window_one}")
    assert window_one >= 3  # 1 kernel polls every ~1.4 s
    assert window_many <= window_one + 1, (window_many, window_one)


# -- one lease, one JSON: the kernel's widget and the server agree -----------------------------

SEAM_SETUP = """
%load_ext jupyter_lease
%config JupyterLease.poll_far = "5m"
%config JupyterLease.poll_near = "5m"
%config JupyterLease.poll_final = "5m"
%lease watch
"""


def _on_this_host(reading: Dict[str, Any]) -> int:
    """The deadline on the serving host's clock, as every view converts it (once)."""
    return int(reading["deadline_ms"] - reading["clock_offset_ms"])


@pytest.mark.kernel
def test_the_widget_and_the_server_show_the_same_deadline_after_an_offset_remeasure(server, sim):
    """The seam of issue 10: a kernel used to move the deadline onto its host's clock and keep
    it within 1.5 s of the last one sent, while the server moved it with its own offset; after
    a re-measure the two views differed. Now both send one JSON, built from one cache entry."""
    env = {**clean_env(), **sim.environ(), CACHE_DIR_ENV: str(server.cache_dir)}
    stepped = 0.0
    try:
        with KernelSession(env=env) as kernel:
            kernel.execute(SEAM_SETUP)
            comm = kernel.find_widget("AnyModel")
            first = kernel.widget_state(comm)["reading"]
            for _ in range(8):  # a Date header has 1 s resolution: step until it shows
                sim.advance(0.6)  # ModelArts' clock steps (less than that old 1.5 s)
                stepped += 0.6
                kernel.execute("%lease")  # asked for: read upstream now, re-measured
                widget = kernel.widget_state(comm)["reading"]
                if widget["clock_offset_ms"] != first["clock_offset_ms"]:
                    break
            assert widget["clock_offset_ms"] != first["clock_offset_ms"], "no re-measure seen"
            view = server.get(LEASE).json()["reading"]  # the same read, from the shared cache
    finally:
        sim.advance(-stepped)
    assert widget["deadline_ms"] == first["deadline_ms"]  # ModelArts' number: never moves
    assert _on_this_host(widget) == _on_this_host(view)  # to the millisecond
    assert widget == view  # one shape, one producer, one read


# -- extend keeps the kind of stop; huge numbers -----------------------------------------------


def test_the_servers_base_url_is_a_guess_that_listnotebooks_corrects(tmp_path):
    """The UUID in this server's base_url may not be the notebook's id (ModelArts' docs show
    `…/<id>/lab`, but a hub may put its own there): it is checked with ShowNotebook, and when
    ModelArts does not know it, ListNotebooks finds the instance whose URL carries it."""
    url_uuid = "0b7e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4"
    real_id = "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716"
    with Simulator() as other:
        other.add_notebook(real_id, lease=5400, url_id=url_uuid)
        env = {**clean_env(), **other.environ()}
        env.pop("JUPYTER_LEASE_NOTEBOOK_ID", None)
        srv = JupyterServer(tmp_path / "guess", env, token=TOKEN, base_url=f"/user/{url_uuid}/")
        srv.start()
        try:
            srv.wait_ready()
            response = srv.get(LEASE)
            assert response.status_code == 200, response.text
            assert response.json()["reading"]["source_id"] == real_id
            assert other.count(path_suffix="/notebooks") >= 1  # ListNotebooks was asked
        finally:
            srv.stop()


def test_a_widget_and_the_server_show_the_same_deadline_to_the_ms_after_a_remeasure(server, sim):
    """The seam the redesign closed: a kernel's widget and the server extension serve one
    reading (the deadline on ModelArts' clock, the offset beside it) from the shared cache. When
    ModelArts' clock is re-measured (here it steps 40 s), only the offset moves, on both sides,
    and both still say the same deadline to the millisecond."""
    pytest.importorskip("anywidget")
    from jupyter_lease.kernel.widget import CountdownWidget
    from jupyter_lease.watch.watcher import Watcher

    source = make_source(sim, server.cache_dir)
    watcher = Watcher(lambda: source)
    widget = CountdownWidget()
    try:
        watcher.poll()
        widget.bind(watcher)
        first = server.get(LEASE).json()["reading"]
        assert widget.reading["deadline_ms"] == first["deadline_ms"]
        assert widget.reading["clock_offset_ms"] == first["clock_offset_ms"]
        sim.advance(40)  # ModelArts' clock steps: the next Date headers say so
        with source.fresh():
            watcher.poll()  # the kernel re-reads upstream and re-measures the offset
        widget.sync(exact=True)
        second = server.get(LEASE).json()["reading"]  # the server answers from that read
        assert second["deadline_ms"] == first["deadline_ms"] == widget.reading["deadline_ms"]
        assert second["clock_offset_ms"] == widget.reading["clock_offset_ms"]
        assert abs(second["clock_offset_ms"] - first["clock_offset_ms"] - 40_000) < 1500
    finally:
        sim.advance(-40)  # the module's other tests keep a simulator in step with this clock
        widget.close()
        source.close()

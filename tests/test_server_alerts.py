"""Server-side alerts end to end: two real Jupyter servers on one simulated lease, Apprise's
``json://`` pointed at a local listener. One POST per threshold and one for the stop, whichever
server sees it first; a 500 is retried; the URL (and its password and path) in no log line."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from jupyter_lease.simulator.app import Simulator
from jupyter_lease.watch.cache import CACHE_DIR_ENV
from tests.support.busy import configured, start_busy_kernel, to_margin
from tests.support.checks import assert_no_secret, our_tracebacks
from tests.support.factories import renew_calls
from tests.support.jupyter import LEASE, JupyterServer, clean_env
from tests.support.listener import Listener
from tests.support.scenarios import wait_until

pytest.importorskip("apprise")

NOTIFY = "jupyter-lease/api/notify"
PASSWORD = "pw-5e1f0c2a9b7d"  # the URL's secret parts: never in a log line
HOOK = "hook-8c4e2b6d1a3f"
LEASE_S = 18.0  # thresholds 14 s and 7 s, then the stop: the test's pace
CONFIG = """
c.ServerApp.log_level = "DEBUG"
c.JupyterLease.warn_at = "14s,7s"
c.JupyterLease.poll_final = "2s"
"""


@pytest.fixture
def hook() -> Iterator[Listener]:
    with Listener() as listener:
        yield listener


def url_for(hook: Listener) -> str:
    return f"json://alice:{PASSWORD}@127.0.0.1:{hook.port}/{HOOK}"


@pytest.fixture
def two_servers(
    simulator: Simulator, hook: Listener, tmp_path: Path
) -> Iterator[Tuple[JupyterServer, JupyterServer]]:
    """Two servers on the simulator's lease, one cache directory: one told the URL by
    ``c.JupyterLease.notify_urls``, the other by ``$JUPYTER_LEASE_NOTIFY``."""
    env = {**clean_env(), **simulator.environ()}
    first = JupyterServer(
        tmp_path / "a", env, config=CONFIG + f"c.JupyterLease.notify_urls = [{url_for(hook)!r}]\n"
    )
    second = JupyterServer(
        tmp_path / "b", {**env, "JUPYTER_LEASE_NOTIFY": url_for(hook)}, config=CONFIG
    )
    second.env[CACHE_DIR_ENV] = str(first.cache_dir)
    try:
        for server in (first, second):
            server.launch()
        for server in (first, second):
            server.wait_ready()
        yield first, second
    finally:
        for server in (first, second):
            server.stop()


def outcomes(log: str) -> List[Tuple[str, str]]:
    """(key, "sent" | "elsewhere") for every alert this server sent or found sent."""
    found = re.findall(r"alert \(([a-z]+:[^)]*)\) (sent to|sent elsewhere)", log)
    return [(key, "sent" if how == "sent to" else "elsewhere") for key, how in found]


def test_two_servers_send_each_alert_once_retry_a_500_and_log_no_url(two_servers, simulator, hook):
    first, second = two_servers
    for server in two_servers:  # both have built the lease source and read the long lease
        wait_until(lambda s=server: s.get(LEASE).status_code == 200, 30, "the lease API")
    hook.fail_next(1)  # the webhook is down for the first alert
    simulator.set_lease(remaining=LEASE_S)
    first.forget_cache()
    assert first.get(LEASE).json()["reading"]["kind"] == "timed"  # both servers see this read

    def delivered(n: int) -> bool:
        return len(hook.delivered()) >= n

    wait_until(lambda: delivered(1), 15, "the 14 s alert, retried after the 500")
    wait_until(lambda: delivered(2), 15, "the 7 s alert")
    wait_until(lambda: delivered(3), 25, "the stop alert")
    # Each server has claimed or found claimed all three (the loser logs "sent elsewhere").
    for server in two_servers:
        wait_until(lambda s=server: len(outcomes(s.log())) >= 3, 25, "both servers' outcomes")
    time.sleep(2.0)  # both servers have looked again, twice: nothing more goes out

    posts = hook.posts
    assert [p.status for p in posts] == [500, 200, 200, 200], posts
    assert posts[0].body == posts[1].body  # the 500 was retried, the same alert
    bodies = [p.body for p in hook.delivered()]
    assert "left" in bodies[0]["message"] and "left" in bodies[1]["message"], bodies
    assert "not running" in bodies[2]["title"], bodies
    assert all(p.path == f"/{HOOK}" and p.authorization for p in posts)  # the URL was used

    logs = [first.log(), second.log()]
    sent = [o for log in logs for o in outcomes(log) if o[1] == "sent"]
    assert len(sent) == 3 and len({key for key, _ in sent}) == 3, sent
    keys = {key for key, _ in sent}
    assert {k.split(":")[0] for k in keys} == {"threshold", "stopped"}
    for log in logs:
        assert {key for key, _ in outcomes(log)} == keys  # each server saw each alert
        assert_no_secret(log, secrets=[url_for(hook), PASSWORD, HOOK, f"alice:{PASSWORD}"])
        assert "json://…" in log and not our_tracebacks(log)

    answer = second.get(NOTIFY).json()
    assert answer["channels"] == [
        {"scheme": "json", "shown": "json://…", "from": "$JUPYTER_LEASE_NOTIFY"}
    ]
    view = first.get(LEASE).json()
    assert view["notify"]["ok"] is True and view["notify"]["channels"] == ["json://…"]
    assert_no_secret(str(answer), str(view), secrets=[PASSWORD, HOOK])


def test_the_notify_endpoint_writes_the_user_file_and_answers_schemes_only(simulator, tmp_path):
    env = {**clean_env(), **simulator.environ()}
    server = JupyterServer(tmp_path / "srv", env, config=CONFIG).start()
    try:
        assert server.get(NOTIFY).json() == {"channels": [], "problems": [], "status": None}
        secret_url = f"ntfy://{PASSWORD}@ntfy.example.com/{HOOK}"
        answer = server.post(NOTIFY, {"urls": [secret_url, "json://127.0.0.1:9/x"]})
        assert answer.status_code == 200, answer.text
        path = tmp_path / "srv" / "config" / "jupyter_lease" / "notify.json"
        assert [(c["shown"], c["from"]) for c in answer.json()["channels"]] == [
            ("ntfy://…", str(path)),
            ("json://…", str(path)),
        ]
        assert path.stat().st_mode & 0o777 == 0o600
        assert server.get(LEASE).json()["notify"]["channels"] == ["ntfy://…", "json://…"]
        bad = server.post(NOTIFY, {"urls": [f"{PASSWORD} no scheme"]})
        assert bad.status_code == 400 and "URL 1" in bad.json()["error"]
        assert server.post(NOTIFY, {"urls": []}, xsrf=None, auth=False).status_code == 403
        doctor = json.dumps(server.get("jupyter-lease/api/doctor").json(), ensure_ascii=False)
        assert "ntfy://…" in doctor and str(path) in doctor
        for text in (answer.text, bad.text, doctor, server.log()):
            assert_no_secret(text, secrets=[PASSWORD, HOOK, secret_url])
    finally:
        server.stop()


@pytest.mark.kernel
def test_an_automatic_renewal_is_one_alert(hook, tmp_path):
    # Keep alive while busy renews at the margin: one POST says so (no threshold crossed: the
    # only threshold is 1 min), and the server's later looks send nothing more.
    with Simulator(max_date_skew=None) as sim:  # the clock moves by hours
        env = {**clean_env(), **sim.environ(), "JUPYTER_LEASE_NOTIFY": url_for(hook)}
        server = configured(tmp_path / "srv", env, renew_while_busy="8h", warn_at="1m").start()
        try:
            start_busy_kernel(server, "train.ipynb")
            renews = renew_calls(sim)
            to_margin(sim)
            wait_until(lambda: renew_calls(sim) == renews + 1, 20, "the renewal")
            wait_until(lambda: hook.delivered(), 20, "the renewal alert")
            wait_until(lambda: "renewed alert (renewed:" in server.log(), 10, "its log line")
            time.sleep(2.0)  # the server has looked again, twice: nothing more goes out
            (post,) = hook.posts
            assert post.body["message"].startswith("Kept alive by 1h while busy (train.ipynb")
            assert_no_secret(server.log(), secrets=[url_for(hook), PASSWORD, HOOK])
        finally:
            server.shutdown_kernels()
            server.stop()

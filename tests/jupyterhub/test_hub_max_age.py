"""The hub's maximum age (``--max-age``), against a real hub and culler: shown read-only as the
earlier stop when the server's token may read its start time (``read:servers!server`` in
``c.Spawner.server_token_scopes``), met by the culler, never extended; and one line saying
what the admin must add where the token may not."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest
import requests

from jupyter_lease.jupyterhub.model import MAX_AGE_REASON
from tests.support.hub import EVERY, SLACK, Hub, Proxied, bound, culled_at, require_hub

pytestmark = [pytest.mark.hub, pytest.mark.timeout(180)]

MAX_AGE = 30
SCOPES = ["users:activity!user", "access:servers!server", "read:servers!server"]
CULL_ENV = {"JUPYTER_LEASE_CULL_TIMEOUT": "10m", "JUPYTER_LEASE_MAX_AGE": str(MAX_AGE)}


def _hub(root: Path, scopes: object) -> Hub:
    culler = ["--timeout=600", f"--cull-every={EVERY}", f"--max-age={MAX_AGE}"]
    return Hub(root, culler=culler, user_env=CULL_ENV, scopes=scopes)  # type: ignore[arg-type]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    require_hub()
    started = _hub(tmp_path, SCOPES).start()
    try:
        yield started
    finally:
        started.stop()


def test_the_maximum_age_is_shown_read_only_and_met(hub: Hub) -> None:
    server = Proxied(hub, "erin", hub.spawn("erin"))
    view = server.get()
    reading = view["reading"]
    assert reading["stop_reason"] == MAX_AGE_REASON, reading
    assert reading["can_extend"] is False and reading["error"] is None, reading
    started = hub.server("erin")["started"]  # the admin's view: the same start
    assert started, hub.server("erin")
    shown = bound(view)
    refused = server.extend("10s")
    assert refused.status_code == 409, refused.text
    assert "maximum age" in refused.json()["error"], refused.text
    assert "\n" not in refused.json()["error"]
    culled = culled_at(hub, "erin", shown + 60)
    # The hub gives `started` to the microsecond, the view the bound to the millisecond, and the
    # culler compares its own clock: a few ms early is rounding (4 ms was seen), not a wrong bound.
    assert shown - 0.5 <= culled <= shown + EVERY + SLACK, (shown, culled, time.time())


def test_a_token_that_cannot_read_the_start_says_what_to_add(tmp_path: Path) -> None:
    require_hub()
    hub = _hub(tmp_path, None).start()  # the Hub's default server token scopes
    try:
        token = hub.spawn("frank")
        view = Proxied(hub, "frank", token).get()
        doctor = requests.get(
            f"{hub.url}/user/frank/jupyter-lease/api/doctor",
            headers={"Authorization": f"token {token}"},
            timeout=20,
        ).json()
        cli = _cli(hub, token, tmp_path)
    finally:
        hub.stop()
    reading = view["reading"]
    assert reading["kind"] == "timed" and "idle culler" in reading["stop_reason"], reading
    assert "read:servers!server" in reading["error"], reading
    assert "c.Spawner.server_token_scopes" in reading["error"], reading
    rows = {row["setting"]: row for section in doctor["sections"] for row in section["rows"]}
    assert rows["culler --max-age"]["value"] == "30s", rows
    assert rows["provider"]["value"] == "jupyterhub", rows
    # The CLI in the server's terminal, on the same provider (the user's own token here, which
    # may read the start: the maximum age is the earlier stop, and it cannot be extended).
    status, extend, magic = cli
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["provider"] == "jupyterhub" and shown["headline"].startswith("at least ")
    assert shown["reading"]["stop_reason"] == MAX_AGE_REASON, shown
    assert extend.returncode == 2 and extend.stdout == "", extend
    assert extend.stderr.count("\n") == 1 and "maximum age" in extend.stderr, extend.stderr
    # %lease and remaining() in IPython, as in a kernel the server starts (same environment).
    assert magic.returncode == 0, magic.stderr
    assert "at least " in magic.stdout and "maximum age" in magic.stdout, magic.stdout
    assert "remaining 0:00:" in magic.stdout, magic.stdout


def _cli(hub: Hub, token: str, root: Path) -> Tuple[Any, Any, Any]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_LEASE_")},
        **CULL_ENV,
        "JUPYTERHUB_API_URL": f"{hub.url}/hub/api",
        "JUPYTERHUB_API_TOKEN": token,
        "JUPYTERHUB_USER": "frank",
        "JUPYTER_LEASE_CACHE_DIR": str(root / "cli-cache"),
    }
    lease = [sys.executable, "-m", "jupyter_lease"]
    run = functools.partial(subprocess.run, env=env, capture_output=True, text=True, timeout=60)
    cell = "%load_ext jupyter_lease\n%lease\nimport jupyter_lease\n"
    cell += "print('remaining', jupyter_lease.remaining())"
    ipython = [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "-c", cell]
    return run([*lease, "status", "--json"]), run([*lease, "extend", "1m"]), run(ipython)

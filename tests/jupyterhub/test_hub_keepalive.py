"""Keep alive while busy on a real JupyterHub with its real idle culler (``--timeout=20
--cull-every=5``): a cell running ``time.sleep`` keeps the user's server past its first cull
time — each extension records the server's activity with its own token — and the extensions
stop at the policy's cap, after which the culler takes the server although the cell still runs.

Everything but the hub's own API goes straight to the single-user server, not through the
proxy: the Hub counts proxied traffic as activity, and this test must see only ours.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from tests.support.busy import KEEP_ALIVE, start_busy_kernel
from tests.support.hub import EVERY, LEASE, SLACK, Direct, Hub, bound, require_hub, wait_for

pytestmark = [pytest.mark.hub, pytest.mark.timeout(180)]

TIMEOUT = 20  # the culler's --timeout (s): the policy extends every TIMEOUT / 2 while busy
CAP = 45  # keep alive at most this long (s) from the cell's start: two extensions fit, not three
FAST = {  # the server looks at its kernels every second and reads the hub as often
    "renew_check_every": "1s",
    "poll_far": "1s",
    "poll_near": "1s",
    "poll_final": "1s",
}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    require_hub()
    config = tmp_path / "jupyter-config"  # the single-user servers' JUPYTER_CONFIG_DIR
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps({"JupyterLease": FAST}))
    culler = [f"--timeout={TIMEOUT}", f"--cull-every={EVERY}"]
    env = {"JUPYTER_LEASE_CULL_TIMEOUT": str(TIMEOUT), "JUPYTER_LEASE_CULL_EVERY": f"{EVERY}s"}
    started = Hub(tmp_path, culler=culler, user_env=env).start()
    try:
        yield started
    finally:
        started.stop()


def _shown_after(server: Direct, earliest: float) -> Any:
    """The lower bound the lease API shows, once the Hub has the activity that puts it at
    ``earliest`` or later (the server reports its activity every 5 s); else None."""
    shown = bound(server.get(LEASE).json())
    return shown if shown >= earliest else None


def _watch(hub: Hub, server: Direct, by: float) -> List[Dict[str, Any]]:
    """The keep-alive views seen every 0.5 s until the culler begins stopping the server
    (straight to the server: our own GETs are no activity), by ``by``."""
    seen: List[Dict[str, Any]] = []

    def culled() -> bool:
        if not hub.running("erin"):
            return True
        try:
            answer = server.get(KEEP_ALIVE)
        except requests.ConnectionError:  # the culler stopped it between the two questions
            return True
        if answer.status_code == 200:
            seen.append(answer.json())
        return False

    wait_for("erin's server to be culled", culled, by - time.time(), every=0.5)
    return seen


def test_a_busy_cell_keeps_the_server_until_the_cap_then_the_culler_takes_it(hub: Hub) -> None:
    server = Direct(hub, "erin", hub.spawn("erin"))
    try:
        start_busy_kernel(server, "train.ipynb")  # type: ignore[arg-type]
        busy_at = time.time()
        first = wait_for(
            "the cell's start in the hub", lambda: _shown_after(server, busy_at + TIMEOUT - 3), 30
        )
        on = server.post(KEEP_ALIVE, {"on": True, "for": f"{CAP}s", "via": "panel"})
        assert on.status_code == 200, on.text
        cap = on.json()["cap_ms"] / 1000
        seen = _watch(hub, server, cap + TIMEOUT + EVERY + SLACK)
        culled = time.time()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- hub log ---\n{hub.log()}") from None
    last = seen[-1]
    renewals = last["renewals"]
    untils = [r["until_ms"] / 1000 for r in renewals]
    summary = {"first": first, "cap": cap, "culled": culled, "untils": untils}
    print(f"erin: culled {culled - first:.1f} s after the first bound, {culled - cap:.1f} s "
          f"after the cap; {len(renewals)} extensions")  # fmt: skip
    statuses = [v["status"] for v in seen]
    summary["statuses"] = [s for i, s in enumerate(statuses) if s not in statuses[:i]]
    assert last["busy"] == ["train.ipynb"], last  # the cell ran until the end
    assert culled > first + EVERY + SLACK, summary  # alive past its first cull window
    assert len(renewals) >= 2, summary
    assert all(r["why"] == "train.ipynb was running" for r in renewals), renewals
    assert untils == sorted(untils) and untils[-1] <= cap + 1, summary  # never past the cap
    assert any("pass the cap" in view["status"] for view in seen), [v["status"] for v in seen]
    assert untils[-1] - 1 <= culled <= untils[-1] + EVERY + SLACK, summary  # the last bound held
    assert culled <= cap + EVERY + SLACK, summary  # and the culler took it at the cap

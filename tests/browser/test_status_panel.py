"""The status item with the server's configuration, in Debian's Chromium against the simulator:
the server's ``c.JupyterLease`` thresholds (unless the user's JupyterLab settings override
them), keep alive while busy from the panel, the doctor report, and one Extend reaching every
view of every tab.

The servers here are configured (``jupyter_server_config.py``): warn at 45 min, and keep-alive
checks every half second with lease reads every second, so a renewal happens within seconds of
the simulator's clock moving into the margin.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable, Dict

import pytest

from jupyter_lease.simulator.app import Simulator

from . import _status
from ._jupyter import JupyterServer
from ._scenarios import fresh_lease
from ._status import item_seconds, toasts, wait_item, write_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
browser_pages = _status.browser_pages  # the fixture, for this module

APPS = ["lab", "notebook"]
CONFIG = """\
c.JupyterLease.warn_at = "45m"
c.JupyterLease.renew_check_every = "0.5s"
c.JupyterLease.poll_far = "1s"
c.JupyterLease.poll_near = "1s"
c.JupyterLease.poll_final = "1s"
"""


@pytest.fixture(scope="module")
def servers(start_server: Callable[..., JupyterServer]) -> Dict[str, JupyterServer]:
    return {
        app: start_server(
            app=app, token=secrets.token_hex(16), base_url=f"/user/{app}-cfg/", config=CONFIG
        )
        for app in APPS
    }


@pytest.fixture(params=APPS)
def server(request: pytest.FixtureRequest, servers: Dict[str, JupyterServer]) -> JupyterServer:
    chosen = servers[request.param]
    write_settings(chosen)  # the schema's defaults: the server's settings count
    return chosen


# -- 1. the server's thresholds, unless the user's settings say otherwise -----------------------


def test_the_item_warns_at_the_servers_threshold(
    server: JupyterServer, lease_simulator: Simulator, browser_pages: Any
) -> None:
    fresh_lease(server, lease_simulator, 45 * 60 + 6)
    (page,) = browser_pages(server)
    before = wait_item(page, "el.dataset.stage === 'plenty'", timeout=5)
    assert item_seconds(before["text"]) >= 45 * 60, before  # "45 min": whole minutes
    after = wait_item(page, "el.dataset.stage === 'warning'", timeout=15)
    assert item_seconds(after["text"]) <= 45 * 60, after
    page.wait_for_function(
        f"() => document.body.textContent.includes({_status.TOAST_TEXT!r})", timeout=10_000
    )
    assert len(toasts(page)) == 1


def test_the_users_thresholds_override_the_servers(
    servers: Dict[str, JupyterServer], lease_simulator: Simulator, browser_pages: Any
) -> None:
    lab = servers["lab"]
    write_settings(lab, warnAt=["10m"])
    fresh_lease(lab, lease_simulator, 44 * 60)
    (page,) = browser_pages(lab)
    page.wait_for_timeout(2000)  # the settings are read after the first paint
    state = wait_item(page, "el.dataset.stage === 'plenty'", timeout=5)
    assert item_seconds(state["text"]) < 45 * 60, state
    assert toasts(page) == []

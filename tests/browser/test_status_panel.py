"""The status item with the server's configuration, in Debian's Chromium against the simulator:
the server's ``c.JupyterLease`` thresholds (unless the user's JupyterLab settings override
them), keep alive while busy from the panel, the doctor report, and one Extend reaching every
view of every tab.

The servers here are configured (``jupyter_server_config.py``): warn at 45 min, and keep-alive
checks every half second with lease reads every second, so a renewal happens within seconds of
the simulator's clock moving into the margin.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, Callable, Dict

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support import status as _status
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import SLEEP, fresh_lease, renewals, wait_until
from tests.support.status import (
    ITEM,
    PANEL,
    item_seconds,
    page_url,
    refresh,
    screenshot,
    toasts,
    wait_item,
    write_settings,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

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
    fresh_lease(server, lease_simulator, 45 * 60 + 15)  # a slow page load must not eat it
    (page,) = browser_pages(server, clock=True)
    before = wait_item(page, "el.dataset.stage === 'plenty'", timeout=5)
    assert item_seconds(before["text"]) >= 45 * 60, before  # "45 min": whole minutes
    page.clock.run_for(16_000)  # past the 45 min threshold on the page's clock
    after = wait_item(page, "el.dataset.stage === 'warning'", timeout=5)
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


# -- 2. keep alive while busy, from the panel ----------------------------------------------------


def _sim_deadline(simulator: Simulator) -> float:
    lease = simulator.state()["notebooks"][simulator.notebook_id]["lease"]
    return (lease["create_at"] + lease["duration"]) / 1000


def test_keep_alive_from_the_panel_renews_once_and_tells_once(
    servers: Dict[str, JupyterServer], lease_simulator: Simulator, open_notebook: Any
) -> None:
    lab = servers["lab"]
    write_settings(lab, warnAt=["1m"])  # no threshold toast: only the renewal's
    fresh_lease(lab, lease_simulator, 12 * 60)  # 7 min forward stays inside the signature window
    nb = open_notebook(lab, "keep.ipynb", [SLEEP.format(150)])
    other = nb.page.context.new_page()  # a second tab of the same browser
    other.goto(page_url(lab), wait_until="domcontentloaded")
    wait_item(other)
    nb.run_cells(1)
    nb.wait_running(0)
    page = nb.page
    page.locator(ITEM).click()
    section = page.locator(".jp-LeaseKeepAlive")
    section.wait_for(state="visible")
    switch = section.get_by_role("checkbox", name="Keep alive while busy")

    section.get_by_placeholder("or until HH:MM").fill("25:00")  # the server refuses it
    switch.click()  # not check(): the refused switch turns itself back off
    error = section.locator(".jp-LeaseKeepAlive-error")
    error.wait_for(state="visible", timeout=10_000)
    assert "not a time of day" in error.inner_text() and "\n" not in error.inner_text()
    page.wait_for_function(
        "() => !document.querySelector('.jp-LeaseKeepAlive-switch').checked", timeout=5000
    )

    # "until HH:MM" is the person's HH:MM: the page sends that instant (epoch ms), never text.
    hhmm, instant = page.evaluate(
        """() => { const at = new Date(Date.now() + 2 * 3600e3); at.setSeconds(0, 0);
                   const two = (n) => String(n).padStart(2, "0");
                   return [`${two(at.getHours())}:${two(at.getMinutes())}`, at.getTime()]; }"""
    )
    section.get_by_placeholder("or until HH:MM").fill(hhmm)
    switch.check()
    wait_until(lambda: lab.get("jupyter-lease/api/keep-alive").json()["on"], 10, "on")
    view = lab.get("jupyter-lease/api/keep-alive").json()
    assert abs(view["cap_ms"] - instant) < 5000, (view["cap_ms"], instant)
    switch.uncheck()
    page.wait_for_function(
        "() => !document.querySelector('.jp-LeaseKeepAlive-switch').disabled", timeout=10_000
    )
    section.get_by_placeholder("or until HH:MM").fill("")
    switch.check()
    line = section.locator(".jp-LeaseKeepAlive-line")
    wait_until(lambda: "kept alive while busy, until" in line.inner_text(), 10, "the policy")
    assert error.is_hidden()

    known = len(renewals(lease_simulator))
    shift = _sim_deadline(lease_simulator) - lease_simulator.now() - 5 * 60
    lease_simulator.advance(shift)  # 5 min left: inside the 10 min margin
    try:
        renewed = wait_until(lambda: renewals(lease_simulator)[known:], 20, "RenewLease")
        assert [r["status"] for r in renewed] == [200], renewed
        assert nb.is_running(0), "the cell ended before the renewal"
        recorded = lambda: lab.get("jupyter-lease/api/keep-alive").json()["renewals"]  # noqa: E731
        wait_until(recorded, 10, "the renewal's record")
        refresh(other)  # the page would re-read 45 s past the margin; its clock did not move
        text = "while keep.ipynb is running"  # "Extended by 1 h": what the stop moved by
        wait_until(lambda: _count(page, text) + _count(other, text), 15, "the renewal's toast")
        time.sleep(2)  # time for a second toast, if there were one to come
        assert _count(page, text) + _count(other, text) == 1
        toast = " ".join(toasts_with(page, text) + toasts_with(other, text))
        # One step (1 h), not RenewLease's duration from now (1 h + the minutes that were left).
        assert re.search(r"^Extended by 1 h while keep.ipynb is running — ", toast), toast
        assert re.search(r"— 1 h 00 min of at most 8 h 00 min used$", toast), toast
        wait_until(lambda: "renewed automatically at" in line.inner_text(), 10, "the panel")
        used = section.locator(".jp-LeaseKeepAlive-used").inner_text()
        assert re.match(r"1 automatic renewal: 1 h 00 min of at most 8 h 00 min used", used)
        assert len(renewals(lease_simulator)[known:]) == 1
        screenshot(page, "status-keep-alive-lab.png", PANEL, pad=8)
        switch.uncheck()
        wait_until(lambda: line.inner_text().startswith("off"), 10, "the policy to be off")
    finally:
        lease_simulator.advance(-shift)


def toasts_with(page: Any, text: str) -> list:
    return page.evaluate(
        """(text) => [...document.querySelectorAll(".Toastify__toast")]
              .map((t) => t.textContent).filter((t) => t.includes(text))""",
        text,
    )


def _count(page: Any, text: str) -> int:
    return len(toasts_with(page, text))


# -- 3. the doctor report, from the panel -------------------------------------------------------


def test_the_panel_shows_the_servers_doctor_report(
    servers: Dict[str, JupyterServer], lease_simulator: Simulator, browser_pages: Any
) -> None:
    lab = servers["lab"]
    write_settings(lab, warnAt=["1m"])
    fresh_lease(lab, lease_simulator, 40 * 60)
    (page,) = browser_pages(lab)
    page.locator(ITEM).click()
    page.locator(PANEL).get_by_role("button", name="Doctor report").click()
    dialog = page.locator(".jp-Dialog .jp-LeaseDoctor")
    dialog.wait_for(state="visible", timeout=30_000)
    assert page.locator(PANEL).count() == 0, "the panel closes for the dialog"
    text = dialog.inner_text()
    assert text.startswith("jupyter_lease doctor: ready"), text[:300]
    row = dialog.locator("tr", has_text="notebook id").first
    assert lease_simulator.notebook_id in row.inner_text()
    for secret in (lease_simulator.ak, lease_simulator.sk, lab.token):
        assert secret not in text
    screenshot(page, "status-doctor-lab.png", ".jp-Dialog-content", pad=4)
    page.get_by_role("button", name="Close").click()
    dialog.wait_for(state="detached")

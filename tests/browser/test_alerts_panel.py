"""The panel's "Server alerts" section in Debian's Chromium (issue 21): a channel saved from the
panel reaches the server's user file and shows by its scheme only — the URL typed (its password,
its path, its query) is in neither the page's HTML nor its storage once saved — and an alert the
webhook answers 500 shows as one line in the panel. The webhook is a local listener, the
target of Apprise's ``json://``."""

from __future__ import annotations

import secrets
from typing import Any, Callable, Iterator

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.checks import assert_no_secret
from tests.support.jupyter import LEASE, JupyterServer
from tests.support.listener import Listener
from tests.support.scenarios import fresh_lease, wait_until
from tests.support.status import ITEM, write_settings

pytest.importorskip("apprise")
pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

NOTIFY = "jupyter-lease/api/notify"
PASSWORD = "pw-3b9d51e07a4c"  # the URL's secret parts
HOOK = "hook-6f2a8d4c0e1b"
QUERY = "qs-91c7e3a5d2f8"
SECTION = ".jp-LeaseAlerts"
CONFIG = 'c.JupyterLease.warn_at = "30m"\n'


@pytest.fixture(scope="module")
def hook() -> Iterator[Listener]:
    with Listener() as listener:
        yield listener


@pytest.fixture(scope="module")
def server(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(token=secrets.token_hex(16), base_url="/user/alerts/", config=CONFIG)


def page_secrets(page: Any) -> str:
    """Everything the page keeps that a script or an extension could read back."""
    storage = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    return page.content() + storage


def test_a_channel_saved_in_the_panel_shows_by_scheme_and_a_failed_send_in_one_line(
    server: JupyterServer, lease_simulator: Simulator, hook: Listener, browser_pages: Any
) -> None:
    write_settings(server)
    fresh_lease(server, lease_simulator, 2 * 3600)  # no threshold crossed yet
    (page,) = browser_pages(server)
    page.locator(ITEM).click()
    section = page.locator(SECTION)
    section.wait_for(state="visible", timeout=10_000)
    assert "No alert channels" in section.locator(".jp-LeaseAlerts-channels").inner_text()

    url = f"json://alice:{PASSWORD}@127.0.0.1:{hook.port}/{HOOK}?secret={QUERY}"
    section.locator("summary").click()
    field = section.get_by_role("textbox", name="Alert channels")
    field.fill(url)
    section.get_by_role("button", name="Save").click()
    channels = section.locator(".jp-LeaseAlerts-channels")
    wait_until(lambda: "json://…" in channels.inner_text(), 10, "the saved channel")
    cleared = field.input_value() == ""  # (not compared: the failure would print the URL)
    assert cleared, "the typed URL is still in the field after Save"
    assert server.get(NOTIFY).json()["channels"][0]["shown"] == "json://…"
    typed = [url, PASSWORD, HOOK, QUERY]
    assert_no_secret(page_secrets(page), secrets=typed)

    hook.fail_next(1000)  # the webhook is down: every try of the alert gets a 500
    fresh_lease(server, lease_simulator, 20 * 60)  # inside the 30 min threshold: an alert is due
    assert server.get(LEASE).json()["reading"]["kind"] == "timed"  # the server reads it now
    failure = section.locator(".jp-LeaseAlerts-failure")
    failure.wait_for(state="visible", timeout=15_000)
    line = failure.inner_text()
    assert "HTTP 500" in line and "json://…" in line and "\n" not in line, line
    assert hook.posts and all(p.path == f"/{HOOK}" for p in hook.posts)  # the URL was used
    assert_no_secret(page_secrets(page), server.log(), secrets=typed)

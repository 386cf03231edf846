"""The user's JupyterLab, opened through a real hub (login form, proxy, single-user server):
the status bar shows the time to the idle cull as a lower bound ("⏳ ≥ 0:52") and, inside the
last minute, the threshold notification says so — with nothing configured but the hub admin's
two culler variables."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.support.hub import Hub, require_hub

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.timeout(180)]

TIMEOUT = 60  # seconds: under the last warning threshold (1 min) within seconds of the spawn
TOAST = ".Toastify__toast"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    require_hub()
    culler = [f"--timeout={TIMEOUT}", "--cull-every=10"]
    env = {"JUPYTER_LEASE_CULL_TIMEOUT": str(TIMEOUT), "JUPYTER_LEASE_CULL_EVERY": "10"}
    started = Hub(tmp_path, culler=culler, user_env=env).start()
    try:
        yield started
    finally:
        started.stop()


def test_the_status_bar_through_the_hub_shows_the_time_to_cull(hub: Hub) -> None:
    from ..support.browser import VIEWPORT, headless_chromium, missing_browser, require
    from ..support.status import ITEM, item_seconds, screenshot_bottom, wait_item

    require(missing_browser())
    hub.spawn("dave")
    with headless_chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        try:
            page.goto(f"{hub.url}/hub/login")
            page.fill("input[name=username]", "dave")
            page.fill("input[name=password]", "any")  # the dummy authenticator's rule
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url("**/user/dave/**", timeout=60_000)
            page.goto(f"{hub.url}/user/dave/lab/workspaces/lease")
            state = wait_item(page, "el.textContent.startsWith('⏳ ≥ ')", timeout=60)
            seconds = item_seconds(state["text"].replace("≥ ", ""))
            assert seconds is not None and 0 < seconds <= TIMEOUT, state
            assert "at least" in state["tooltip"] and "idle culler" in state["tooltip"], state
            assert "JupyterHub server dave" in state["tooltip"], state
            ours = page.locator(TOAST, has_text="before this server stops").first
            ours.wait_for(timeout=60_000)
            assert "at least" in ours.inner_text(), ours.inner_text()
            assert page.locator(ITEM).count() == 1
            screenshot_bottom(page, "status-hub.png")  # only with $JUPYTER_LEASE_SCREENSHOTS
        except Exception:
            print(hub.log())
            raise
        finally:
            page.close()

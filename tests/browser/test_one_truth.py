"""One truth across the page: an Extend from the status item, a cell widget or another tab shows
in every view of every tab within 1 s (channel.js carries the server's answer), in JupyterLab 4
behind a token and a non-root base_url, in Debian's Chromium against the ModelArts simulator.

Tab 1 has a notebook with the cell widget (``%lease watch``) and the status item; tab 2, in the
same browser context (a user's tabs share it), has the item only. When each view first shows the
new time is recorded in the page (a MutationObserver, on the browser's one clock), so the figure
is the views' own, not the test's polling.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable, Dict

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.agree import RECORD
from tests.support.jupyter import JupyterServer
from tests.support.page import COUNTDOWN
from tests.support.scenarios import LOAD, fresh_lease, renewals, wait_until
from tests.support.status import ITEM, PANEL, page_url, wait_item

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

WITHIN_MS = 1000


@pytest.fixture(scope="module")
def lab(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(app="lab", token=secrets.token_hex(16), base_url="/user/one-truth/")


def _record(page: Any, name: str, selector: str, pattern: str) -> None:
    page.evaluate(RECORD, [name, selector, pattern])


def _seen(pages: Dict[str, Any], names: Dict[str, str]) -> Dict[str, int]:
    """``{name: ms}`` once every view in ``names`` (name → page key) showed its new time."""

    def read() -> Any:
        got = {
            n: pages[p].evaluate(f"() => (window.__leaseSeen || {{}})['{n}']")
            for n, p in names.items()
        }
        return got if all(v is not None for v in got.values()) else None

    return wait_until(read, 15, f"every view to show the new time: {sorted(names)}")


def _hours(h: int) -> str:
    return f"({h - 1} h 59 min|{h} h 00 min)"


def test_an_extend_anywhere_shows_in_every_view_of_every_tab_within_1_s(
    lab: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    fresh_lease(lab, lease_simulator, 40 * 60)
    nb = open_notebook(lab, "one-truth.ipynb", [LOAD + "%lease watch"])
    nb.run_cells(1)
    nb.wait_widget()
    wait_item(nb.page)
    second = nb.page.context.new_page()
    second.set_default_timeout(30_000)
    second.goto(page_url(lab, workspace="one-truth-2"), wait_until="domcontentloaded")
    wait_item(second)
    pages = {"first": nb.page, "second": second}
    widget_time = f"{COUNTDOWN} .jl-time"

    # 1. Extend 2 h from the item in tab 2: the widget (and the item) in tab 1 follow.
    _record(second, "item2", ITEM, f"^⏳ {_hours(2)}$")
    _record(nb.page, "widget", widget_time, f"^{_hours(2)}$")
    _record(nb.page, "item1", ITEM, f"^⏳ {_hours(2)}$")
    known = len(renewals(lease_simulator))
    second.locator(ITEM).click()
    panel = second.locator(PANEL)
    panel.locator(".jp-LeasePanel-choice").select_option("2h")
    panel.get_by_role("button", name="Extend", exact=True).click()
    seen = _seen(pages, {"item2": "second", "widget": "first", "item1": "first"})
    assert [r["status"] for r in renewals(lease_simulator)[known:]] == [200]
    assert seen["widget"] - seen["item2"] < WITHIN_MS, seen
    assert seen["item1"] - seen["item2"] < WITHIN_MS, seen
    second.keyboard.press("Escape")

    # 2. Extend 4 h from the widget in tab 1: the item in tab 2 (and in tab 1) follow.
    _record(nb.page, "widget4", widget_time, f"^{_hours(4)}$")
    _record(nb.page, "item1-4", ITEM, f"^⏳ {_hours(4)}$")
    _record(second, "item2-4", ITEM, f"^⏳ {_hours(4)}$")
    nb.widget.locator(".jl-select").select_option("4h")
    nb.widget.locator(".jl-extend").click()
    seen = _seen(pages, {"widget4": "first", "item1-4": "first", "item2-4": "second"})
    assert [r["status"] for r in renewals(lease_simulator)[known:]] == [200, 200]
    assert seen["item2-4"] - seen["widget4"] < WITHIN_MS, seen
    assert seen["item1-4"] - seen["widget4"] < WITHIN_MS, seen
    print(f"views followed an Extend in another tab within {seen['item2-4'] - seen['widget4']} ms")

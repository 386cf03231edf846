"""The status item on a fake clock (Playwright's ``clock``), in JupyterLab 4 in Debian's Chromium
against the simulator: how often it asks the server, how soon after a threshold it warns, and
that two tabs crossing a threshold at the same instant warn once between them.

Time in the pages moves only when the test moves it (``clock.pause_at`` / ``run_for``, in steps),
so a timer that fires late fires late on the page's own clock, whatever the machine's load, and
an hour takes seconds. After each step the test waits until nothing the step started is still
pending without needing more time: no lease GET unanswered, no Web Lock request waiting for a
free lock.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable, Iterator, List
from urllib.parse import urlparse

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.clocked import (
    LEASE_API,
    clocked_opener,
    notes,
    page_now,
    pause_at,
    step_until,
    threshold_instant,
)
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import fresh_lease, wait_until
from tests.support.status import TOAST_TEXT, toasts, write_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

WITHIN_MS = 1000  # README: a warning at each threshold, within 1 s of it


@pytest.fixture(scope="module")
def lab(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    return start_server(app="lab", token=secrets.token_hex(16), base_url="/user/clock/")


@pytest.fixture
def clocked_tabs(chromium: Any) -> Iterator[Callable[..., List[Any]]]:
    """``clocked_tabs(server, n, on_page)``: tests/support/clocked.py's ``open_clocked``, every
    tab hidden (a system notification is for a page nobody looks at)."""
    with clocked_opener(chromium) as open_:
        yield open_


# -- 1. ≤ 30 requests an hour per tab, 2 where the server pushes --------------------------------


# With the push, every pushed view (a change, or the 10 s heartbeat) counts as a read and moves
# the 30 min safety poll on: none in the hour is right too.
@pytest.mark.parametrize(("push", "low", "high"), [(True, 0, 2), (False, 27, 30)])
def test_the_item_asks_the_server_once_per_2_min_or_30_min_with_push(
    lab: JupyterServer,
    lease_simulator: Simulator,
    clocked_tabs: Any,
    push: bool,
    low: int,
    high: int,
) -> None:
    """README: where the server pushes, a page reads every 30 min as a safety net; without the
    event bus, once per 2 min (≤ 30 requests an hour). An hour on the page's clock, in 10 s
    steps: a poll is answered up to a step after it was due, so at least 27 of the 30."""
    write_settings(lab)
    fresh_lease(lab, lease_simulator, 10 * 3600)  # no threshold within the hour
    gets: List[str] = []

    def count(page: Any) -> None:
        def on_request(request: Any) -> None:
            if request.method == "GET" and urlparse(request.url).path.endswith(LEASE_API):
                gets.append(request.url)

        page.on("request", on_request)
        if not push:
            page.add_init_script("window.__leaseWithoutPush = true;")

    (page,) = clocked_tabs(lab, 1, count)
    start = page_now(page)
    pause_at(page, start + 1000)
    first = len(gets)
    step_until([page], start + 1000 + 3600_000, 10_000)
    in_the_hour = len(gets) - first
    assert page.evaluate("() => window.__lease.gets") == len(gets), "a GET the events missed"
    print(f"lease GETs in an hour on the page's clock, push={push}: {in_the_hour}")
    assert low <= in_the_hour <= high, f"{in_the_hour} lease GETs in an hour (README: ≤ {high})"


# -- 2. a warning within 1 s of its threshold --------------------------------------------------


def test_the_warning_comes_within_1_s_of_its_threshold(
    lab: JupyterServer, lease_simulator: Simulator, clocked_tabs: Any
) -> None:
    write_settings(lab, warnAt=["1m", "15s"])
    fresh_lease(lab, lease_simulator, 100)  # the page's last read < 60 s before the threshold
    (page,) = clocked_tabs(lab, 1)
    crossing = threshold_instant(page, 60)
    pause_at(page, crossing - 2000)
    assert notes(page) == [] and toasts(page) == [], "warned before the threshold"
    step_until([page], int(crossing) + 3000, 100)
    page.wait_for_function("() => window.__lease.notes.length > 0", timeout=10_000)
    (note,) = notes(page)
    late = note["at"] - crossing
    assert 0 <= late <= WITHIN_MS, f"the warning came {late / 1000:.2f} s after its threshold"
    assert TOAST_TEXT in note["body"], note
    for _ in range(50):  # the page renders the toast on its own timers: move its clock
        if toasts(page):
            break
        page.clock.run_for(100)
    assert len(toasts(page)) == 1


# -- 3. two tabs crossing thresholds at the same instant: one warning each time ----------------


def test_two_tabs_at_the_same_instant_warn_once_per_threshold(
    lab: JupyterServer, lease_simulator: Simulator, clocked_tabs: Any
) -> None:
    """Both tabs open at once, on one clock: each threshold is crossed in both in the same
    clock step, so their claims race (tabs.ts: a Web Lock named after the warning, held by the
    tab that won it). 27 thresholds a second apart: 27 races (with a claim that relied on
    localStorage reaching the other tab in time, one in ten or so ended in two warnings)."""
    # The last within 60 s of the pages' first read (else a warning re-reads first: FRESH_MS
    # in warnings.ts), which is at least 3 s after the lease is set: 95 - 3 - 60 < 34.
    thresholds = list(range(60, 33, -1))
    write_settings(lab, warnAt=[f"{t}s" for t in thresholds])
    fresh_lease(lab, lease_simulator, 95)
    first, second = tabs = clocked_tabs(lab, 2)
    pause_at(first, page_now(first) + 500)
    crossings = [threshold_instant(first, t) for t in thresholds]
    assert abs(threshold_instant(second, thresholds[0]) - crossings[0]) < 100
    count = "() => window.__lease.notes.length"
    for done, crossing in enumerate(crossings, 1):
        first.clock.run_for(max(0, int(crossing - 200 - page_now(first))))
        step_until(tabs, int(crossing) + 900, 100)
        # A claim is a Web Lock, resolved in real time: on a loaded machine it may still be
        # pending when the clock moves on, and the warning would be stamped a second late.
        # (Two warnings for one threshold would be counted here as well.)
        wait_until(lambda n=done: sum(p.evaluate(count) for p in tabs) >= n, 10, "a warning")
    shown = {"first": notes(first), "second": notes(second)}
    warnings = shown["first"] + shown["second"]
    assert len(warnings) == len(thresholds), shown
    for crossing in crossings:
        warned = [n for n in warnings if 0 <= n["at"] - crossing < WITHIN_MS]
        assert len(warned) == 1, (crossing - crossings[0], shown)
    assert len(toasts(first)) + len(toasts(second)) >= 1

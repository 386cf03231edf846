"""The lease API's answers, from jupyter_server's handlers in this process (``jp_fetch``) against
the simulator: the reading's shape, validation, refusals and error mapping. The same server
extension in a real ``python -m jupyter_server`` (token, base_url, kernels, logs) is
tests/test_server.py."""

from __future__ import annotations

import time

import pytest

from jupyter_lease.core import Reading, present
from tests.support.checks import assert_one_line_error
from tests.support.factories import renew_calls, show_calls
from tests.support.inprocess import get, post
from tests.support.jupyter import EXTEND, LEASE

pytest.importorskip("pytest_jupyter", reason="needs pytest-jupyter[server] (jupyter_server>=2)")
pytestmark = pytest.mark.usefixtures("lease_env")


async def test_get_answers_the_reading_with_the_clock_offset_beside_it(jp_fetch, sim):
    sim.advance(90)  # ModelArts' clock runs 90 s ahead of this machine's
    try:
        truth = sim.set_lease(remaining=5400)
        before = time.time() * 1000
        response = await get(jp_fetch, LEASE)
        after = time.time() * 1000
    finally:
        sim.advance(-90)
    assert response.status_code == 200, response.text
    view = response.json()
    # + the keep-alive summary and the server's settings (server/frontend.py)
    assert set(view) == {"reading", "now_ms", "keep_alive", "settings", "push"}
    reading = view["reading"]
    assert Reading.from_json(reading).to_json() == reading  # THE one shape, version 1
    assert (reading["kind"], reading["source_id"]) == ("timed", sim.notebook_id)
    # ModelArts' deadline as it said it, and its clock's offset (Date: 1 s resolution) beside.
    assert reading["deadline_ms"] == truth["create_at"] + truth["duration"]
    assert abs(reading["clock_offset_ms"] - 90_000) < 1500
    assert before - 5 <= view["now_ms"] <= after + 5
    assert abs(reading["read_at_ms"] - 90_000 - view["now_ms"]) < 1500
    shown = present(Reading.from_json(reading), view["now_ms"] / 1000)
    assert abs(shown.remaining_s - 5400) < 1.5 and shown.headline == "1 h 30 min left"
    assert reading["stale"] is False and reading["error"] is None
    assert reading["can_extend"] is True and reading["extend_range_ms"] == [3_600_000, 259_200_000]


async def test_get_has_no_deadline_for_an_idle_lease(jp_fetch, sim):
    sim.set_lease(lease_type="IDLE")
    try:
        reading = (await get(jp_fetch, LEASE)).json()["reading"]
    finally:
        sim.set_lease(lease_type="TIMING", remaining=7200)
    assert reading["kind"] == "idle" and reading["deadline_ms"] is None
    assert reading["idle_after_ms"] > 0  # "stops after N idle"
    assert reading["can_extend"] is False  # only with force: it would become timed


async def test_an_out_of_range_answer_is_502_once_then_the_lease_again(jp_fetch, sim):
    # The simulator's ill_typed_field duration=1e17 used to be cached and make every later
    # request a 500, long after ModelArts answered normally again.
    sim.inject("ill_typed_field", count=1, field="duration", value=1e17)
    body = assert_one_line_error(await get(jp_fetch, LEASE), 502)
    assert "'duration' is out of range" in body["error"]
    response = await get(jp_fetch, LEASE)  # the fault is spent: ModelArts is fine again
    assert response.status_code == 200, response.text
    truth = sim.state()["notebooks"][sim.notebook_id]["lease"]
    assert response.json()["reading"]["deadline_ms"] == truth["create_at"] + truth["duration"]


@pytest.mark.parametrize(
    "body",
    [{"duration": "abc"}, {"duration": "30m"}, {"duration": "73h"}, {"duration": 7200}, {}, "{no"],
    ids=["garbage", "too-short", "too-long", "number", "missing", "not-json"],
)
async def test_a_bad_duration_is_400_with_one_line(jp_fetch, sim, body):
    renews = renew_calls(sim)
    assert_one_line_error(await post(jp_fetch, EXTEND, body), 400)
    assert renew_calls(sim) == renews


async def test_get_without_any_known_lease_maps_api_errors_to_502(jp_fetch, sim):
    sim.inject("403", count=1)
    body = assert_one_line_error(await get(jp_fetch, LEASE), 502)
    assert body["code"] == "ModelArts.0108" and body["request_id"]


@pytest.mark.parametrize(
    "lease, fragment",
    [({"lease_type": "IDLE"}, "1 h 00 min idle"), ({"enabled": False}, "auto-stop is off")],
    ids=["idle", "auto-stop-off"],
)
async def test_extend_of_an_idle_or_off_lease_is_409_unless_forced(jp_fetch, sim, lease, fragment):
    sim.set_lease(duration_ms=3_600_000, **lease)
    try:
        renews = renew_calls(sim)
        body = assert_one_line_error(await post(jp_fetch, EXTEND, {"duration": "2h"}), 409)
        assert fragment in body["error"] and "force" in body["error"]
        assert renew_calls(sim) == renews  # no RenewLease reached ModelArts
        response = await post(jp_fetch, EXTEND, {"duration": "2h", "force": True})
        assert response.status_code == 200, response.text
        assert response.json()["reading"]["kind"] == "timed"
        assert renew_calls(sim) == renews + 1
    finally:
        sim.set_lease(lease_type="TIMING", enabled=True, remaining=7200)


@pytest.mark.parametrize("force", ["yes", 1, None, "true"])
async def test_a_force_that_is_not_a_boolean_is_400(jp_fetch, sim, force):
    # Not silently "not forced": the 409 that followed told a script to use --force.
    sim.set_lease(duration_ms=3_600_000, lease_type="IDLE")
    try:
        calls = sim.count()
        body = assert_one_line_error(
            await post(jp_fetch, EXTEND, {"duration": "2h", "force": force}), 400
        )
        assert "force" in body["error"] and "true or false" in body["error"]
        assert sim.count() == calls  # refused before any request to ModelArts
    finally:
        sim.set_lease(lease_type="TIMING", enabled=True, remaining=7200)


@pytest.mark.parametrize("basis", ["1780000000000", True, 1e300, float("nan"), -5, 1780000000])
async def test_a_basis_that_is_not_an_epoch_in_ms_is_400(jp_fetch, sim, basis):
    # basis_ms names the deadline the page showed: anything else must not decide an extend.
    calls = sim.count()
    body = assert_one_line_error(
        await post(jp_fetch, EXTEND, {"duration": "2h", "basis_ms": basis}), 400
    )
    assert "basis_ms" in body["error"]
    assert sim.count() == calls  # refused before any request to ModelArts


@pytest.mark.parametrize("duration", ["99999999999999h", "9999999999999999d", "1" * 400 + "h"])
async def test_a_huge_duration_is_400_not_500(jp_fetch, sim, duration, caplog):
    renews = renew_calls(sim)
    body = assert_one_line_error(await post(jp_fetch, EXTEND, {"duration": duration}), 400)
    assert "too long" in body["error"]
    assert renew_calls(sim) == renews
    assert "failed unexpectedly" not in caplog.text


async def test_after_the_stop_the_lease_is_stopped_and_extend_is_refused(jp_fetch, sim):
    sim.set_lease(remaining=7200, status="STOPPED")  # stopped (on its timer, or by hand)
    try:
        reading = (await get(jp_fetch, LEASE)).json()["reading"]
        assert reading["kind"] == "stopped" and reading["can_extend"] is False, reading
        calls = show_calls(sim)
        again = (await get(jp_fetch, LEASE)).json()["reading"]
        assert again["kind"] == "stopped" and show_calls(sim) == calls  # known: no more polls
        renews = renew_calls(sim)
        body = assert_one_line_error(await post(jp_fetch, EXTEND, {"duration": "2h"}), 409)
        assert "has stopped" in body["error"] and renew_calls(sim) == renews
    finally:
        sim.set_lease(remaining=7200, status="RUNNING")


async def test_a_not_running_answer_alone_does_not_end_the_lease(jp_fetch, sim):
    sim.inject("not_running", count=1)  # ShowLease says so once; ShowNotebook says RUNNING
    body = assert_one_line_error(await get(jp_fetch, LEASE), 502)
    assert "ModelArts.6327" in body["error"]
    reading = (await get(jp_fetch, LEASE)).json()["reading"]
    assert reading["kind"] == "timed" and reading["stale"] is False

from datetime import datetime, timedelta, timezone

import pytest

from jupyter_lease._errors import BadResponseError, LeaseFormatError
from jupyter_lease.core import present
from jupyter_lease.modelarts.lease import Lease, StopKind, lease_reading

EXAMPLE = {
    "create_at": 1638841744515,
    "duration": 3600000,
    "enable": True,
    "type": "TIMING",
    "update_at": 1638842905925,
}
DEADLINE_S = (1638841744515 + 3600000) / 1000
NOTEBOOK = "881ed162-ae2e-4154-bf15-052434b9b5df"


def words(lease: Lease, now: float) -> str:
    """The headline every view shows for ``lease`` at ``now`` (one clock: no offset)."""
    reading = lease_reading(lease, read_at=now, clock_offset=0.0)
    return present(reading, now, local_tz=timezone.utc).headline


def test_parses_the_documented_example():
    lease = Lease.from_json(EXAMPLE)
    assert lease.kind is StopKind.TIMED
    assert lease.deadline_ms == 1638841744515 + 3600000
    assert lease.deadline == datetime.fromtimestamp(DEADLINE_S, tz=timezone.utc)
    assert lease.to_json() == EXAMPLE


def test_remaining_uses_the_clock_it_is_given():
    lease = Lease.from_json(EXAMPLE)
    assert lease.remaining(DEADLINE_S - 600) == timedelta(minutes=10)
    assert lease.remaining(DEADLINE_S + 5) == timedelta(0)
    assert not lease.expired(DEADLINE_S - 0.001)
    assert lease.expired(DEADLINE_S)  # the instance stops at now >= create_at + duration


@pytest.mark.parametrize("spelling", ["timing", "Timing", "TIMING"])
def test_type_in_any_case(spelling):
    assert Lease.from_json({**EXAMPLE, "type": spelling}).type == "TIMING"


def test_idle_has_no_deadline_but_an_idle_period():
    lease = Lease.from_json({**EXAMPLE, "type": "idle"})
    assert lease.kind is StopKind.IDLE
    assert lease.deadline is None and lease.remaining(0) is None
    assert lease.idle_after == timedelta(hours=1)
    reading = lease_reading(lease, read_at=0.0, clock_offset=0.0)
    assert (reading.kind, reading.idle_after, reading.deadline) == ("idle", 3600.0, None)
    assert not reading.can_extend  # only with --force: it would become a timed stop
    assert words(lease, 0) == "stops after 1 h 00 min idle"


def test_disabled_lease_has_nothing_to_count():
    lease = Lease.from_json({**EXAMPLE, "enable": False})
    assert lease.kind is StopKind.DISABLED
    assert lease.remaining(DEADLINE_S - 10) is None
    assert lease_reading(lease, read_at=0.0, clock_offset=0.0).kind == "off"
    assert words(lease, 0) == "auto-stop is off"


def test_a_timed_lease_as_the_reading_every_view_gets():
    lease = Lease.from_json(EXAMPLE)
    # ModelArts' clock runs 12.5 s ahead of this host's: the deadline stays on ModelArts' clock.
    reading = lease_reading(
        lease, read_at=DEADLINE_S - 3900, clock_offset=12.5, notebook_id=NOTEBOOK
    )
    assert (reading.kind, reading.deadline, reading.clock_offset) == ("timed", DEADLINE_S, 12.5)
    assert reading.started_at == EXAMPLE["update_at"] / 1000  # renewed then: the bar's 0 %
    assert (reading.source_id, reading.source) == (NOTEBOOK, "ModelArts notebook 881ed162")
    assert reading.can_extend and reading.extend_range == (3600.0, 259200.0)
    assert not reading.stale and reading.error is None
    local_now = DEADLINE_S - 3900 - 12.5
    shown = present(reading, local_now, local_tz=timezone.utc)
    # On this host's clock the stop is 12.5 s earlier than ModelArts' 02:49:04.515.
    assert (shown.headline, shown.detail) == ("1 h 05 min left", "stops 02:48:52 UTC")
    assert shown.deadline_local == DEADLINE_S - 12.5
    assert "run out" in present(reading, DEADLINE_S + 1 - 12.5).headline
    stale = lease_reading(lease, read_at=0.0, clock_offset=0.0, error="ShowLease: timed out")
    assert stale.stale and stale.error == "ShowLease: timed out"


def test_the_period_starts_at_the_last_renewal_when_it_is_one():
    lease = Lease.from_json(EXAMPLE)
    assert lease.period_start_ms == EXAMPLE["update_at"]
    for update_at in (EXAMPLE["create_at"] - 1, lease.deadline_ms, None):
        data = {**EXAMPLE, "update_at": update_at} if update_at else dict(EXAMPLE, update_at=None)
        odd = Lease.from_json({k: v for k, v in data.items() if v is not None})
        assert odd.period_start_ms == EXAMPLE["create_at"]


def test_update_at_is_optional_and_integral_floats_are_accepted():
    data = {k: v for k, v in EXAMPLE.items() if k != "update_at"}
    data["duration"] = 3600000.0
    lease = Lease.from_json(data)
    assert lease.update_at is None and lease.duration == 3600000


@pytest.mark.parametrize(
    "change, field, fragment",
    [
        ({"duration": None}, "duration", "null"),
        ({"duration": "abc"}, "duration", "the string 'abc'"),
        ({"duration": -1}, "duration", "negative"),
        ({"duration": 1.5}, "duration", "integer"),
        ({"create_at": True}, "create_at", "a boolean"),
        ({"enable": "yes"}, "enable", "true or false"),
        ({"enable": 1}, "enable", "true or false"),
        ({"type": 3}, "type", "a string"),
        ({"type": "SOMETIMES"}, "type", "TIMING or IDLE"),
        ({"update_at": "x"}, "update_at", "integer"),
    ],
)
def test_ill_typed_fields_name_the_field(change, field, fragment):
    with pytest.raises(LeaseFormatError) as info:
        Lease.from_json({**EXAMPLE, **change})
    assert info.value.field == field
    assert repr(field) in str(info.value) and fragment in str(info.value)
    assert isinstance(info.value, BadResponseError)


@pytest.mark.parametrize(
    "field, value",
    [
        ("duration", 1e17),  # the simulator's ill_typed_field fault: made timedelta overflow
        ("duration", 10**30),
        ("duration", 11 * 366 * 86_400_000),
        ("create_at", 0),  # 1970: before ModelArts existed
        ("create_at", 1638841744),  # seconds, not milliseconds
        ("create_at", 10**16),  # past 2200
        ("update_at", 2**63),
    ],
)
def test_out_of_range_times_name_the_field(field, value):
    with pytest.raises(LeaseFormatError, match=f"'{field}' is out of range") as info:
        Lease.from_json({**EXAMPLE, field: value})
    assert info.value.field == field and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "value", [1e308, -1e308, 10**300, -(10**300)], ids=["1e308", "-1e308", "int", "-int"]
)
def test_an_absurd_number_is_shortened_in_the_message(value):
    # It reaches the widget, the cell and the server's log: one short line, not 300 digits.
    with pytest.raises(LeaseFormatError, match="'duration' is") as info:
        Lease.from_json({**EXAMPLE, "duration": value})
    assert len(str(info.value)) < 120, str(info.value)


@pytest.mark.parametrize(
    "field, value",
    [("duration", 0), ("duration", 259_200_000), ("duration", 5 * 365 * 86_400_000)],
    ids=["zero", "72h", "five-years-of-renewals"],
)
def test_the_bounds_keep_every_real_lease(field, value):
    lease = Lease.from_json({**EXAMPLE, field: value})
    # Every derived value can be computed: nothing overflows downstream.
    assert lease.deadline is not None and words(lease, 0) and lease.remaining(0) is not None


@pytest.mark.parametrize("missing", ["create_at", "duration", "enable", "type"])
def test_missing_fields_are_named_not_keyerrors(missing):
    data = {k: v for k, v in EXAMPLE.items() if k != missing}
    with pytest.raises(LeaseFormatError, match=f"'{missing}' is missing") as info:
        Lease.from_json(data)
    assert info.value.field == missing


@pytest.mark.parametrize("body", [None, [], "lease", 42])
def test_non_objects_are_rejected(body):
    with pytest.raises(LeaseFormatError, match="not a JSON object"):
        Lease.from_json(body)


def test_lease_is_immutable():
    lease = Lease.from_json(EXAMPLE)
    with pytest.raises(AttributeError):
        lease.duration = 5  # type: ignore[misc]


def test_status_shows_the_stop_in_local_time_and_utc():
    from datetime import timezone as tz

    from jupyter_lease.modelarts.status import LeaseStatus

    status = LeaseStatus("nb", Lease.from_json(EXAMPLE), now=DEADLINE_S - 600)
    # The stop goes under the lease row, in present()'s words (the date only when not today).
    rows = status.rows(local_tz=tz(timedelta(hours=8), "CST"))
    assert rows[1:3] == [
        ("Lease", "TIMING, 10 min left"),
        ("", "stops 10:49:04 local (02:49:04 UTC)"),
    ]
    assert dict(status.rows(local_tz=tz.utc))[""] == "stops 02:49:04 UTC"
    assert status.to_dict()["remaining_seconds"] == 600
    assert status.to_dict()["reading"]["deadline_ms"] == EXAMPLE["create_at"] + EXAMPLE["duration"]

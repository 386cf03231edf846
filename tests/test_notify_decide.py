"""Server-side alerts, the pure part: which alerts are due given a reading, the shared sent
record and the time (jupyter_lease.notify.decide)."""

from __future__ import annotations

import pytest

from jupyter_lease.core.reading import Reading
from jupyter_lease.notify.decide import (
    KEEP_KEYS,
    RECENT_RENEWAL_S,
    Alert,
    SentRecord,
    deadline_ms,
    due_alerts,
)

NOW = 1_800_000_000.0
ID = "modelarts:881ed162@sim"
DEFAULT = (1800.0, 600.0, 300.0, 60.0)


def timed(left: float, offset: float = 0.0, **kw: object) -> Reading:
    """A timed reading with ``left`` seconds to go at NOW on this host's clock."""
    return Reading(
        kind="timed",
        deadline=NOW + left + offset,
        clock_offset=offset,
        read_at=NOW + offset,
        source="ModelArts notebook 881ed162",
        **kw,  # type: ignore[arg-type]
    )


def keys(alerts: list) -> list:
    return [a.key for a in alerts]


def test_nothing_is_due_before_the_first_threshold():
    assert due_alerts(timed(1801), NOW, DEFAULT, SentRecord(ID)) == []


def test_the_smallest_threshold_crossed_is_the_one_alert():
    reading = timed(599)
    (alert,) = due_alerts(reading, NOW, DEFAULT, SentRecord(ID))
    assert alert.key == f"threshold:{deadline_ms(reading)}:600" and alert.kind == "threshold"
    assert "left" in alert.title and "save your work or extend" in alert.body
    # A server that starts with 3 min left: the 5-minute alert only, not 30m, 10m and 5m.
    assert keys(due_alerts(timed(180), NOW, DEFAULT, SentRecord(ID))) == [
        f"threshold:{deadline_ms(timed(180))}:300"
    ]


def test_a_sent_alert_is_not_due_again_and_the_next_threshold_is():
    reading = timed(599)
    record = SentRecord(ID).claimed(due_alerts(reading, NOW, DEFAULT, SentRecord(ID)), NOW, None)
    assert due_alerts(reading, NOW + 30, DEFAULT, record) == []
    assert keys(due_alerts(reading, NOW + 300, DEFAULT, record)) == [
        f"threshold:{deadline_ms(reading)}:300"
    ]


def test_the_key_is_the_sources_deadline_whatever_this_hosts_offset():
    # Two processes measure different clock offsets: the deadline (source clock) is the key.
    a = timed(500)
    b = Reading(**{**a.__dict__, "clock_offset": 1.5})
    assert keys(due_alerts(a, NOW, DEFAULT, SentRecord(ID))) == keys(
        due_alerts(b, NOW - 1.5, DEFAULT, SentRecord(ID))
    )


def test_a_new_deadline_starts_a_new_set_of_alerts():
    first = timed(50)
    record = SentRecord(ID).claimed(due_alerts(first, NOW, DEFAULT, SentRecord(ID)), NOW, None)
    renewed = timed(50 + 3600)
    assert due_alerts(renewed, NOW, DEFAULT, record) == []  # an hour left: no threshold
    assert keys(due_alerts(renewed, NOW + 3600, DEFAULT, record)) == [
        f"threshold:{deadline_ms(renewed)}:60"
    ]


def test_a_run_out_lease_is_not_a_threshold_alert():
    assert due_alerts(timed(0), NOW, DEFAULT, SentRecord(ID)) == []
    assert due_alerts(timed(-5), NOW, DEFAULT, SentRecord(ID)) == []


def test_the_stop_is_keyed_by_the_last_deadline_any_process_saw():
    stopped = Reading(kind="stopped", source="ModelArts notebook 881ed162", error="not running")
    record = SentRecord(ID, deadline_ms=1_800_000_060_000)
    (alert,) = due_alerts(stopped, NOW, DEFAULT, record, seen_deadline_ms=123)
    assert alert.key == "stopped:1800000060000" and alert.kind == "stopped"
    assert alert.title == "ModelArts notebook 881ed162: the instance is not running"
    assert alert.body == "the instance is not running: not running"
    # Without a record, this process's own last deadline.
    assert keys(due_alerts(stopped, NOW, DEFAULT, SentRecord(ID), seen_deadline_ms=123)) == [
        "stopped:123"
    ]
    sent = record.claimed([alert], NOW, None)
    assert due_alerts(stopped, NOW + 60, DEFAULT, sent) == []


def renewal(at: float, ident: str = "1800000000000") -> dict:
    return {
        "last_renewal": {
            "id": ident,
            "at_ms": int(at * 1000),
            "why": "train.ipynb was running",
            "until_ms": int((at + 3600) * 1000),
            "added_ms": 3_600_000,
        }
    }


def test_a_recent_keep_alive_renewal_is_one_alert():
    reading = timed(3600 + 600)
    (alert,) = due_alerts(reading, NOW, DEFAULT, SentRecord(ID), renewal(NOW - 5))
    assert alert.key == "renewed:1800000000000" and alert.kind == "renewed"
    assert "1h" in alert.body and "train.ipynb was running" in alert.body
    record = SentRecord(ID).claimed([alert], NOW, deadline_ms(reading))
    assert due_alerts(reading, NOW + 1, DEFAULT, record, renewal(NOW - 5)) == []


def test_an_old_renewal_is_history():
    reading = timed(3600 + 600)
    old = renewal(NOW - RECENT_RENEWAL_S - 1)
    assert due_alerts(reading, NOW, DEFAULT, SentRecord(ID), old) == []
    assert due_alerts(reading, NOW, DEFAULT, SentRecord(ID), {"last_renewal": None}) == []


def test_off_idle_and_unknown_readings_have_no_alert():
    for kind in ("off", "idle", "unknown"):
        assert due_alerts(Reading(kind=kind), NOW, DEFAULT, SentRecord(ID)) == []


def test_the_record_round_trips_and_refuses_another_lease():
    alerts = [Alert(f"threshold:1:{i}", "threshold", "t", "b") for i in range(KEEP_KEYS + 5)]
    record = SentRecord(ID).claimed(alerts, NOW, 42)
    assert len(record.sent) == KEEP_KEYS and record.sent[-1][0] == f"threshold:1:{KEEP_KEYS + 4}"
    assert SentRecord.from_json(record.to_json(), ID) == record
    with pytest.raises(ValueError):
        SentRecord.from_json(record.to_json(), "slurm:other:1")
    for bad in ({"format": "x"}, {**record.to_json(), "sent": [[1, 2]]}, [], "x"):
        with pytest.raises(ValueError):
            SentRecord.from_json(bad, ID)


def test_the_renewal_alert_reads_the_keep_alive_summary_the_server_builds():
    # The last renewal as busy_state.renewals_json gives it to the lease view's keep_alive.
    from jupyter_lease.server.busy_state import PolicyState, Renewal, renewals_json

    state = PolicyState(on=True).with_renewal(
        Renewal(at=NOW - 30, why="t.ipynb was running", until=NOW + 4200, added=3601.4)
    )
    summary = {"on": True, "last_renewal": renewals_json(state, 0.0)[-1]}
    (alert,) = due_alerts(timed(4200), NOW, DEFAULT, SentRecord(ID), summary)
    assert alert.key == f"renewed:{state.renewals[-1].id}"
    assert alert.body.startswith("Kept alive by 1h while busy (t.ipynb was running).")


def test_the_words_are_the_pages_in_the_servers_language():
    (alert,) = due_alerts(timed(599), NOW, DEFAULT, SentRecord(ID), lang="zh_CN")
    assert alert.title.endswith("剩余 9:59") and "请保存工作或延长租约" in alert.body
    stopped = Reading(kind="stopped", source="ModelArts notebook 881ed162")
    (alert,) = due_alerts(stopped, NOW, DEFAULT, SentRecord(ID), lang="zh_CN")
    assert alert.body == "实例未在运行"

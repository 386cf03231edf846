"""Keep alive while busy: the pure decision, table-driven; and the saved state's file."""

from __future__ import annotations

import json
import os
import time

import pytest

from jupyter_lease.core.reading import Reading
from jupyter_lease.server.busy_policy import Policy, Work, decide, parse_until
from jupyter_lease.server.busy_state import MAX_RENEWALS, PolicyState, Renewal, StateFile

H, M = 3600.0, 60.0
NOW = 1_800_000_000.0
ON = Policy(on=True, cap=NOW + 8 * H, margin=10 * M, step=H)
MODELARTS = (3600.0, 259200.0)  # RenewLease: 1 h to 72 h from now


def timed(deadline: float, **extra: object) -> Reading:
    """A ModelArts-like timed reading (extendable by 1 h to 72 h from now) unless ``extra``
    says otherwise."""
    fields = {"can_extend": True, "extend_range": MODELARTS, **extra}
    return Reading(kind="timed", deadline=deadline, **fields)  # type: ignore[arg-type]


TIMED = timed(NOW + 5 * M)  # 5 min left: inside the margin
KERNEL = [Work("t.ipynb")]
HUB = timed(NOW + 10, extend_range=(30.0, 30.0), lower_bound=True)  # activity 20 s ago
LEASE = "modelarts:nb-1@modelarts.example"
OURS = {"format": "jupyter_lease.keep-alive/2", "lease": LEASE}

CASES = [
    # id, policy, lease, work, last renewal, expected renew_for (s) or None, reason fragment
    ("renews-by-one-step", ON, TIMED, KERNEL, None, 65 * M, "t.ipynb was running"),
    ("off", Policy(on=False), TIMED, KERNEL, None, None, "off"),
    ("idle-server", ON, TIMED, [], None, None, "nothing is running"),
    ("idle-lease", ON, Reading(kind="idle"), KERNEL, None, None, "IDLE"),
    ("auto-stop-off", ON, Reading(kind="off"), KERNEL, None, None, "auto-stop is off"),
    ("unknown-lease", ON, None, KERNEL, None, None, "waiting for the lease"),
    ("outside-margin", ON, timed(NOW + 30 * M), KERNEL, None, None, "renews at"),
    ("just-renewed", ON, TIMED, KERNEL, NOW - 5 * M, None, "moments ago"),
    ("renewed-a-step-ago", ON, TIMED, KERNEL, NOW - 55 * M, 65 * M, "was running"),
    ("cap-passed", Policy(True, NOW - 1), TIMED, KERNEL, None, None, "cap has passed"),
    # the cap 62 min away, before deadline + step (65 min): the push ends at the cap
    ("shortened-to-cap", Policy(True, NOW + 62 * M), TIMED, KERNEL, None, 62 * M, "renewing"),
    # the cap 40 min away: under ModelArts' 1 h minimum, so skipped
    ("cap-too-near", Policy(True, NOW + 40 * M), TIMED, KERNEL, None, None, "pass the cap"),
    ("several-busy", ON, TIMED, [Work("a"), Work("b"), Work("a")], None, 65 * M, "a, b were"),
    # declared work counts only while the policy is on (off means off), up to its own cap
    ("declared-off", Policy(False), TIMED, [Work("train", NOW + 3 * H)], None, None, "off"),
    ("declared-on", ON, TIMED, [Work("train", NOW + 3 * H)], None, 65 * M, "train"),
    # ... never past the policy's cap
    ("declared-past-policy-cap", Policy(True, NOW - 1), TIMED, [Work("t", NOW + 3 * H)], None,
     None, "cap has passed"),
    # its own margin and step (keep_alive(margin="20m", extend_by="2h")): 15 min left renews
    ("declared-margin-step", ON, timed(NOW + 15 * M),
     [Work("t", NOW + 6 * H, margin=20 * M, step=2 * H)], None, 135 * M, "t was running"),
    ("kernel-with-policy-off", Policy(False), TIMED, KERNEL, None, None, "off"),
    # a hub's idle cull (timeout 30 s): each extension restarts the idle clock, so it is the
    # whole timeout; the step is at most that and the margin half of it (10 s left renews)
    ("hub-idle-cull", ON, HUB, KERNEL, None, 30, "t.ipynb was running"),
    ("hub-cap-within-a-timeout", Policy(True, NOW + 25), HUB, KERNEL, None, None, "pass the cap"),
    ("hub-renewed-15-s-ago", ON, HUB, KERNEL, NOW - 15, 30, "was running"),
    ("hub-renewed-5-s-ago", ON, HUB, KERNEL, NOW - 5, None, "moments ago"),
    ("hub-max-age-first", ON, timed(NOW + 5, can_extend=False, stop_reason="the hub's maximum age"),
     KERNEL, None, None, "maximum age"),
    ("stopped", ON, Reading(kind="stopped", subject="server"), KERNEL, None, None, "server has"),
]  # fmt: skip


@pytest.mark.parametrize(
    "policy, lease, work, last, renew_for, fragment",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(policy, lease, work, last, renew_for, fragment):
    decision = decide(policy, lease, work, last, NOW)
    assert fragment in decision.reason
    if renew_for is None:
        assert decision.renew_for is None
    else:
        assert decision.renew_for == pytest.approx(renew_for)
        assert decision.new_deadline == pytest.approx(NOW + renew_for)
        assert decision.new_deadline <= max(w.bounded(policy) for w in work)
    assert "\n" not in decision.reason


def test_one_renewal_per_step_over_a_long_busy_run():
    # Simulate 10 h of busy work, checked every 30 s: the deadline is pushed 1 h each time,
    # and never past the cap.
    cap = NOW + 6 * H + 20 * M
    deadline, renewals, now = NOW + 30 * M, [], NOW
    while now < NOW + 10 * H:
        if now >= deadline:
            break  # the instance stopped
        d = decide(Policy(True, cap, 10 * M, H), timed(deadline), KERNEL,
                   renewals[-1] if renewals else None, now)  # fmt: skip
        if d.renew_for is not None:
            deadline = now + d.renew_for
            renewals.append(now)
        now += 30
    assert len(renewals) == 6
    assert all(b - a == pytest.approx(H, abs=60) for a, b in zip(renewals, renewals[1:]))
    assert deadline <= cap


def test_a_hub_is_extended_every_half_timeout_and_never_past_the_cap():
    # A 30 s cull timeout, checked every 2 s for 5 min with a cap 2 min away: an extension
    # (recording activity) every 15 s, each restarting the idle clock; none that would put the
    # earliest cull past the cap, so the culler takes the server within a timeout of it.
    cap = NOW + 120
    last_activity, renewals, now = NOW, [], NOW
    while now < NOW + 300 and now < last_activity + 30:
        lease = timed(last_activity + 30, extend_range=(30.0, 30.0), lower_bound=True)
        d = decide(Policy(True, cap, 10 * M, H), lease, KERNEL,
                   renewals[-1] if renewals else None, now)  # fmt: skip
        if d.renew_for is not None:
            assert d.renew_for == 30 and d.new_deadline == now + 30 <= cap
            last_activity = now
            renewals.append(now)
        now += 2
    assert all(b - a == pytest.approx(15, abs=2) for a, b in zip(renewals, renewals[1:]))
    assert cap - 30 - 15 <= renewals[-1] <= cap - 30
    assert last_activity + 30 <= cap  # culled no later than the cap (plus the culler's lag)


def test_parse_until_is_the_next_such_time():
    now = time.mktime((2030, 6, 1, 12, 0, 0, 0, 0, -1))
    assert parse_until("18:00", now) - now == pytest.approx(6 * H)
    assert parse_until("09:30", now) - now == pytest.approx(21.5 * H)  # tomorrow
    for bad in ("25:00", "18", "six", "18:60", "1:2:3"):
        with pytest.raises(ValueError):
            parse_until(bad, now)


def test_state_file_round_trip_bounded_and_private(tmp_path):
    store = StateFile(LEASE, str(tmp_path / "rt"))
    assert store.load() == PolicyState()
    state = store.update(lambda s: PolicyState(on=True, since=NOW, cap=NOW + H, by="cli"))
    for i in range(MAX_RENEWALS + 5):
        store.update(lambda s, i=i: s.with_renewal(Renewal(NOW + i, f"k{i}", NOW + H, H)))
    loaded = store.load()
    assert loaded.on and loaded.cap == state.cap and len(loaded.renewals) == MAX_RENEWALS
    assert loaded.renewals[-1].why == f"k{MAX_RENEWALS + 4}"
    assert os.stat(store.path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "content",
    ['{"format": "other"}', "not json", json.dumps({**OURS, "renewals": 3}),
     json.dumps({**OURS, "cap": 1e300, "renewals": []}),
     json.dumps({**OURS, "lease": "modelarts:another@h", "renewals": []})],
    ids=["foreign", "corrupt", "ill-typed", "out-of-range", "another-lease"],
)  # fmt: skip
def test_an_unusable_state_file_is_off_with_a_note(tmp_path, content):
    directory = tmp_path / "rt"
    directory.mkdir(mode=0o700)
    store = StateFile(LEASE, str(directory))
    with open(store.path, "w") as fh:
        fh.write(content)
    state = store.load()
    assert state.on is False and "unusable" in state.note


def test_a_symlinked_state_file_is_refused(tmp_path):
    directory = tmp_path / "rt"
    directory.mkdir(mode=0o700)
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps(PolicyState(on=True, cap=NOW).to_json(LEASE)))
    store = StateFile(LEASE, str(directory))
    os.symlink(target, store.path)
    state = store.load()
    assert state.on is False and "symbolic link" in state.note


def test_one_record_per_lease_and_a_renewal_id_stable_across_offsets(tmp_path):
    a, b = (StateFile(lease, str(tmp_path)) for lease in (LEASE, "modelarts:nb-2@h"))
    assert a.path != b.path
    a.update(lambda s: PolicyState(on=True, cap=NOW + H).with_renewal(Renewal(NOW, "t", NOW, H)))
    assert b.load() == PolicyState() and a.load().on
    from jupyter_lease.server.busy_state import renewals_json

    state = a.load()
    assert renewals_json(state, 0.0)[0]["id"] == renewals_json(state, 2.5)[0]["id"]
    a.forget()
    assert a.load() == PolicyState() and not os.path.exists(a.path)

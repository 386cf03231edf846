"""`jupyter lease …` as a user runs it: a real process against the simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.checks import assert_no_secret
from tests.support.cli import assert_one_line_error, run

BIN = Path(sys.executable).parent


def test_status_text(simulator):
    simulator.set_lease(remaining=1800)
    proc = run(["status"], simulator)
    assert proc.returncode == 0, proc.stderr
    assert "TIMING, 30 min left" in proc.stdout
    assert "from JUPYTER_LEASE_NOTEBOOK_ID" in proc.stdout
    assert_no_secret(proc.stdout, proc.stderr, sim=simulator)


def test_bare_command_means_status(simulator):
    proc = run([], simulator)
    assert proc.returncode == 0 and "left" in proc.stdout


def test_status_json_keys(simulator):
    simulator.set_lease(remaining=1800)
    proc = run(["status", "--json"], simulator)
    data = json.loads(proc.stdout)
    assert data["notebook_id"] == simulator.notebook_id
    assert data["type"] == "TIMING" and data["enabled"] is True
    assert data["deadline"].endswith("Z")
    assert abs(data["remaining_seconds"] - 1800) < 5


def test_extend_then_status_shows_two_hours(simulator):
    simulator.set_lease(remaining=1800)
    proc = run(["extend", "2h"], simulator)
    assert proc.returncode == 0, proc.stderr
    assert "Extended: 2 h 00 min left." in proc.stdout
    data = json.loads(run(["status", "--json"], simulator).stdout)
    assert abs(data["remaining_seconds"] - 7200) < 5
    assert simulator.count(method="PATCH") == 1


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["extend", "abc"], "cannot read duration 'abc'"),
        (["extend", "-5m"], "negative"),
        (["extend", "0"], "no unit"),
        (["extend", "30m"], "between 1h and 72h"),
        (["bogus"], "invalid choice"),
        (["watch", "--warn", "soon"], "cannot read duration"),
        # Huge numbers: one line, not an OverflowError's traceback.
        (["extend", "99999999999999h"], "too long"),
        (["extend", "1" * 400 + "h"], "too long"),
        (["watch", "--for", "1e400h"], "unknown unit 'e'"),
        (["watch", "--for", "99999999999999h"], "too long"),
        (["watch", "--warn", "9999999999999999d"], "too long"),
        (["simulate", "--lease", "99999999999999h"], "too long"),
    ],
)
def test_bad_usage_exits_2_with_one_line(simulator, args, fragment):
    line = assert_one_line_error(run(args, simulator), 2)
    assert fragment in line
    assert simulator.count(method="PATCH") == 0


@pytest.mark.parametrize(
    "lease, fragment",
    [({"lease_type": "IDLE"}, "1 h 00 min idle"), ({"enabled": False}, "auto-stop is off")],
    ids=["idle", "auto-stop-off"],
)
def test_extend_keeps_an_idle_or_off_lease_unless_forced(simulator, lease, fragment):
    simulator.set_lease(duration_ms=3_600_000, **lease)
    line = assert_one_line_error(run(["extend", "2h"], simulator), 2)
    assert fragment in line and "--force" in line
    assert simulator.count(method="PATCH") == 0  # no RenewLease reached ModelArts
    proc = run(["extend", "2h", "--force"], simulator)
    assert proc.returncode == 0, proc.stderr
    assert "Extended: 2 h 00 min left." in proc.stdout
    assert simulator.count(method="PATCH") == 1


def test_missing_configuration_exits_2_naming_what_to_set():
    proc = run(["status"], None, {"HOME": "/nonexistent", "JUPYTER_RUNTIME_DIR": "/nonexistent"})
    line = assert_one_line_error(proc, 2)
    assert "JUPYTER_LEASE_NOTEBOOK_ID" in line


def test_api_error_exits_1_with_one_line(simulator):
    proc = run(["status"], simulator, {"HUAWEICLOUD_SDK_SK": "y" * 40})
    line = assert_one_line_error(proc, 1)
    assert "APIG.0301" in line and "y" * 40 not in line


def test_not_running_exits_1(simulator):
    simulator.set_lease(remaining=60)
    simulator.advance(61)
    line = assert_one_line_error(run(["status"], simulator), 1)
    assert "not running" in line


def test_doctor_masks_secrets(simulator):
    proc = run(["doctor"], simulator)
    assert proc.returncode == 0, proc.stderr
    assert "HUAWEICLOUD_SDK_AK" in proc.stdout and "JUPYTER_LEASE_ENDPOINT" in proc.stdout
    assert_no_secret(proc.stdout, proc.stderr, sim=simulator)
    data = json.loads(run(["doctor", "--json", "--check"], simulator).stdout)
    assert_no_secret(json.dumps(data), sim=simulator)


def test_watch_prints_a_countdown_and_warns(simulator):
    # The simulator's clock runs in real time: leave 20 s of slack for a slow interpreter start.
    simulator.set_lease(remaining=200)
    proc = run(["watch", "--warn", "90s", "--for", "3s"], simulator)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"\b3:[0-2]\d left", proc.stdout), proc.stdout  # not a tty: one line
    assert "⚠" not in proc.stdout
    simulator.advance(120)
    proc = run(["watch", "--warn", "90s", "--for", "3s"], simulator)
    assert re.search(r"⚠ jupyter_lease: 1:[0-2]\d left", proc.stdout), proc.stdout


def test_jupyter_subcommand_dispatch(simulator):
    jupyter = BIN / "jupyter"
    if not jupyter.exists():
        pytest.skip("jupyter_core's `jupyter` is not installed next to this Python")
    env = {**os.environ, **simulator.environ(), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [str(jupyter), "lease", "status"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "left" in proc.stdout


def test_simulate_refuses_a_non_loopback_host():
    line = assert_one_line_error(run(["simulate", "--host", "0.0.0.0"]), 2)
    assert "allow_remote" in line or "--allow-remote" in line


def test_simulate_prints_exports_that_work(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_lease", "simulate", "--lease", "30m"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        exports = {}
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                exports[key] = value.strip("'")
            if line.startswith("# Ctrl-C"):
                break
        assert {"JUPYTER_LEASE_ENDPOINT", "HUAWEICLOUD_SDK_SK"} <= set(exports)
        env = {**os.environ, **exports}
        status = subprocess.run(
            [sys.executable, "-m", "jupyter_lease", "status", "--json"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert abs(json.loads(status.stdout)["remaining_seconds"] - 1800) < 10
    finally:
        proc.terminate()
        proc.wait(10)


def test_extend_never_shortens_the_lease_unless_forced(simulator):
    simulator.set_lease(remaining=2 * 3600)
    line = assert_one_line_error(run(["extend", "1h"], simulator), 2)
    # Both times, in the words every view uses: what is left now, and what 1 h would leave.
    assert re.search(r"(2 h 00|1 h 59) min left now", line), line
    assert "1 h 00 min would stop the instance" in line and "--force" in line
    assert simulator.count(method="PATCH") == 0  # the lease is unchanged
    proc = run(["extend", "3h"], simulator)  # a longer choice is an extension: no question asked
    assert proc.returncode == 0, proc.stderr
    assert "Extended: 3 h 00 min left." in proc.stdout
    proc = run(["extend", "1h", "--force"], simulator)  # shortening, deliberately
    assert proc.returncode == 0, proc.stderr
    assert "Extended: 1 h 00 min left." in proc.stdout
    assert simulator.count(method="PATCH") == 2


def test_extend_by_about_the_time_left_is_not_a_shortening(simulator):
    simulator.set_lease(remaining=3600 + 2)  # a renewal of 1 h moves the stop 2 s earlier
    proc = run(["extend", "1h"], simulator)
    assert proc.returncode == 0, proc.stderr
    assert simulator.count(method="PATCH") == 1

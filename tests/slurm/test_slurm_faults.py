"""squeue and scontrol missing, slow, failing or printing garbage, in front of a real cluster:
a fallback that answers gives a fresh reading; none answering, the last known one, stale, with
one line, within the timeout; recovery as soon as they answer again."""

from __future__ import annotations

import time

import pytest

from jupyter_lease.core import present
from jupyter_lease.core.reading import ERROR_LIMIT
from jupyter_lease.slurm import SlurmCommands, SlurmSource
from tests.support.slurm import StandIns
from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm

TIMEOUT = 1.0  # seconds per command, for the slow stand-ins
FAULTS = {  # mode: words the one line must say
    "missing": "is not installed here (not on PATH)",
    "slow": f"did not answer within {TIMEOUT:g} s",
    "fail": "failed (exit 1): squeue: error: Unable to contact slurm controller",
    "garbage": "printed something that is not JSON",
}


@pytest.fixture(scope="module")
def job(cluster: SlurmCluster) -> int:
    job_id = cluster.sbatch("sleep 600", time_min=9)
    cluster.wait_state(job_id, ["RUNNING"])
    return job_id


def _source(cluster: SlurmCluster, job: int, stand_ins: StandIns) -> SlurmSource:
    commands = SlurmCommands(dict(cluster.env, PATH=str(stand_ins.path)), timeout=TIMEOUT)
    return SlurmSource(str(job), commands=commands)


@pytest.mark.parametrize("mode", sorted(FAULTS))
def test_none_answering_is_stale_one_line_then_recovers(cluster, job, stand_ins, mode):
    source = _source(cluster, job, stand_ins)
    fresh = source.read()
    assert fresh.kind == "timed" and not fresh.stale
    for name in ("squeue", "scontrol"):
        stand_ins.set(name, mode)
    started = time.monotonic()
    stale = source.read()
    took = time.monotonic() - started
    assert (stale.kind, stale.deadline, stale.stale) == ("timed", fresh.deadline, True)
    assert FAULTS[mode] in stale.error and "\n" not in stale.error
    assert len(stale.error) <= ERROR_LIMIT and "Traceback" not in stale.error
    assert took < 3 * TIMEOUT + 1  # a slow squeue is waited for once, not per output format
    assert present(stale, time.time()).headline.endswith("left (last known)")
    for name in ("squeue", "scontrol"):
        stand_ins.set(name, "real")
    back = source.read()
    assert (back.stale, back.error, back.deadline) == (False, None, fresh.deadline)


@pytest.mark.parametrize("mode", ["missing", "slow", "fail", "nojson"])
def test_a_broken_squeue_falls_back(cluster, job, stand_ins, mode):
    """``nojson``: an older squeue without ``--json`` is read in text; otherwise scontrol."""
    stand_ins.set("squeue", mode)
    reading = _source(cluster, job, stand_ins).read()
    assert (reading.kind, reading.stale, reading.error) == ("timed", False, None)
    assert reading.deadline == cluster.end_time(job)
    assert reading.deadline - reading.started_at == 9 * 60


def test_a_slow_command_is_killed_with_its_children(cluster, job, stand_ins):
    for name in ("squeue", "scontrol"):
        stand_ins.set(name, "slow")
    reading = _source(cluster, job, stand_ins).read()
    assert reading.stale
    pids = stand_ins.pids("squeue") + stand_ins.pids("scontrol")
    assert len(pids) == 4  # squeue once (its text form skipped), scontrol once; their sleeps
    # SIGKILL is sent before read() returns; under load the kernel may take a moment to end them.
    deadline = time.monotonic() + 5
    while [pid for pid in pids if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if _alive(pid)] == []  # the shells and their sleeps


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or dead but not yet reaped (an orphan whose reaper is slow)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

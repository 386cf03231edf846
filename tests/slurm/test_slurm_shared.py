"""Slurm behind the provider-neutral shared cache: one squeue per poll interval per job,
however many sources (kernels) and processes ask, counted by a squeue that logs each run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.slurm import SlurmCommands, SlurmSource
from jupyter_lease.watch.cache import CachedSource
from tests.support.slurm import StandIns
from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm

MINUTE = PollSchedule(far=60.0, near=60.0, final=60.0)
NEVER_FRESH = PollSchedule(far=0.0, near=0.0, final=0.0)

READ_IN_ANOTHER_PROCESS = """
import json, sys
from jupyter_lease.slurm import SlurmCommands, SlurmSource
from jupyter_lease.watch.cache import CachedSource
from jupyter_lease.core.schedule import PollSchedule
env = json.loads(sys.argv[1])
source = SlurmSource(sys.argv[2], commands=SlurmCommands(env))
shared = CachedSource(source, directory=sys.argv[3],
                      schedule=PollSchedule(far=60.0, near=60.0, final=60.0))
print(json.dumps(shared.read().to_json()))
"""


@pytest.fixture(scope="module")
def job(cluster: SlurmCluster) -> int:
    job_id = cluster.sbatch("sleep 600", time_min=9)
    cluster.wait_state(job_id, ["RUNNING"])
    return job_id


def _shared(cluster, job, stand_ins: StandIns, directory, **options) -> CachedSource:
    env = dict(cluster.env, PATH=str(stand_ins.path))
    source = SlurmSource(str(job), commands=SlurmCommands(env))
    options.setdefault("schedule", MINUTE)
    return CachedSource(source, directory=str(directory), **options)


def test_two_sources_and_a_process_make_one_squeue_call(cluster, job, stand_ins, tmp_path):
    cache = tmp_path / "cache"
    kernels = [_shared(cluster, job, stand_ins, cache) for _ in range(2)]
    readings = [kernel.read() for kernel in kernels * 3]
    env = dict(cluster.env, PATH=str(stand_ins.path))
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_ANOTHER_PROCESS, json.dumps(env), str(job), str(cache)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    other = json.loads(done.stdout)
    assert len(stand_ins.pids("squeue")) == 1 and stand_ins.pids("scontrol") == []
    assert {r.deadline for r in readings} == {cluster.end_time(job)}
    assert other["deadline_ms"] == cluster.end_time(job) * 1000 and not other["stale"]


def test_concurrent_readers_share_one_call(cluster, job, stand_ins, tmp_path):
    kernels = [_shared(cluster, job, stand_ins, tmp_path) for _ in range(6)]
    seen = []
    threads = [threading.Thread(target=lambda k=k: seen.append(k.read())) for k in kernels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(seen) == 6 and len(stand_ins.pids("squeue")) == 1


def test_a_poll_interval_later_it_asks_again(cluster, job, stand_ins, tmp_path):
    now = [1000.0]
    kernel = _shared(cluster, job, stand_ins, tmp_path, clock=lambda: now[0])
    kernel.read()
    now[0] += 57.0  # 60 s interval minus 2 s slack: still fresh
    kernel.read()
    assert len(stand_ins.pids("squeue")) == 1
    now[0] += 2.0
    kernel.read()
    assert len(stand_ins.pids("squeue")) == 2
    now[0] += 1.0
    with kernel.fresh():  # a person's explicit status: read now
        kernel.read()
    assert len(stand_ins.pids("squeue")) == 3


def test_a_failing_squeue_is_shared_stale_then_recovers(cluster, job, stand_ins, tmp_path):
    first = _shared(cluster, job, stand_ins, tmp_path, schedule=NEVER_FRESH)
    good = first.read()
    for name in ("squeue", "scontrol"):
        stand_ins.set(name, "fail")
    late = _shared(cluster, job, stand_ins, tmp_path, schedule=NEVER_FRESH)
    stale = late.read()  # a new process: its source never read, the file's reading is shown
    assert (stale.stale, stale.deadline, stale.kind) == (True, good.deadline, "timed")
    assert "Unable to contact slurm controller" in stale.error
    assert first.peek().failures == 1 and first.peek().error == stale.error
    for name in ("squeue", "scontrol"):
        stand_ins.set(name, "real")
    back = late.read()
    assert (back.stale, back.error, back.deadline) == (False, None, good.deadline)


def test_the_same_extension_asked_twice_moves_the_end_once(cluster, stand_ins, tmp_path):
    """``TimeLimit=+N`` adds up: a second tab (another process, the same file) or a retry asking
    for the end already reached changes nothing; a new request from the new end extends."""
    job = cluster.sbatch("sleep 600", time_min=9)
    cluster.wait_state(job, ["RUNNING"])
    tab, other = (_shared(cluster, job, stand_ins, tmp_path / "c") for _ in range(2))
    seen = tab.read().deadline
    first = tab.extend(600, basis=seen)
    assert first.deadline == seen + 600 == cluster.end_time(job)
    again = other.extend(600, basis=seen)  # the other tab's click, for the end it saw
    assert again.deadline == seen + 600 == cluster.end_time(job)  # moved once
    assert tab.extend(600, basis=seen).deadline == seen + 600  # a retry: the same
    later = other.extend(600)  # asked from the end the cache shows now: a new request
    assert later.deadline == seen + 1200 == cluster.end_time(job)

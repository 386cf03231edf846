"""The views on a real Slurm job: ``jupyter lease status --json`` in a batch job, the real
Watcher (through ``build_source``) warning before the walltime, ``extend`` as root and refused
for an ordinary user, ``doctor`` inside a job. Every command runs inside the job (the batch
script, or ``srun --jobid … --overlap`` as batchspawner and Open OnDemand do)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict

import pytest

from tests.support.slurm import REPO, wait_for_file
from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm

WATCH_IN_JOB = """
import json, threading, time
from datetime import timedelta
from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.watch.sources import build_source
from jupyter_lease.watch.watcher import Watcher
warned, seen = threading.Event(), {}
def on_warning(left):
    seen.update(left=left.total_seconds(), at=time.time())
    warned.set()
watcher = Watcher(lambda: build_source(), schedule=PollSchedule())
watcher.poll()
before = round(watcher.remaining().total_seconds()) - 10  # crossed 10 s from now
watcher.on_warning(on_warning, before=timedelta(seconds=before))
watcher.start()
warned.wait(70)
snap = watcher.snapshot
seen.update(before=before, deadline=snap.deadline, source=snap.reading.source)
watcher.stop()
print(json.dumps(seen), flush=True)
"""


def _env(cluster: SlurmCluster, tmp: Path, **extra: str) -> Dict[str, str]:
    """The cluster's client environment, with a private lease cache and Jupyter runtime dir."""
    for sub in ("cache", "runtime"):
        (tmp / sub).mkdir(mode=0o700, exist_ok=True)
    return dict(
        cluster.env,
        JUPYTER_LEASE_CACHE_DIR=str(tmp / "cache"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        **extra,
    )


def _exports(env: Dict[str, str]) -> str:
    names = ("JUPYTER_LEASE_CACHE_DIR", "JUPYTER_RUNTIME_DIR")
    return "".join(f"export {name}='{env[name]}'\n" for name in names)


def _iso(seconds: float) -> str:
    when = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


@pytest.mark.timeout(120)
def test_status_json_in_a_batch_job_sees_the_walltime(cluster: SlurmCluster, tmp_path):
    out = cluster.out / f"status-{time.monotonic_ns()}.json"
    env = _env(cluster, tmp_path)
    script = f"{_exports(env)}{sys.executable} -m jupyter_lease status --json > {out}\nsleep 300"
    job = cluster.sbatch(script, time_min=5)
    seen = json.loads(wait_for_file(out))
    end = cluster.end_time(job)
    assert seen["provider"] == "slurm" and f"SLURM_JOB_ID={job}" in seen["provider_why"]
    assert seen["source"] == f"Slurm job {job}" and seen["kind"] == "timed"
    assert seen["deadline"] == _iso(end) and seen["reading"]["deadline_ms"] == end * 1000
    assert 280 <= seen["remaining_seconds"] <= 300  # --time=5, read moments after the start
    assert seen["can_extend"] is True  # root


@pytest.mark.timeout(100)
def test_the_watcher_in_a_job_warns_before_the_walltime(cluster: SlurmCluster, tmp_path):
    out = cluster.out / f"warned-{time.monotonic_ns()}.json"
    env = _env(cluster, tmp_path)
    script = f"{_exports(env)}{sys.executable} -c '{WATCH_IN_JOB}' > {out}\nsleep 300"
    job = cluster.sbatch(script, time_min=1)  # the shortest limit Slurm has
    try:
        seen = json.loads(wait_for_file(out, timeout=80))
    finally:
        cluster.run("scancel", str(job), check=False)
    assert seen["source"] == f"Slurm job {job}" and seen["deadline"] is not None
    # A threshold 10 s below the first reading (~50 s of the job's minute is left by then),
    # crossed on the countdown between polls (15 s apart this close), before the kill.
    before = seen["before"]
    assert before >= 20, seen  # the watcher started early in the job: a countdown to watch
    assert before - 5 <= seen["left"] <= before
    assert abs(seen["deadline"] - before - seen["at"]) < 3  # when it fired: before the kill


def test_root_extends_from_inside_the_job_and_doctor_says_why(cluster: SlurmCluster, tmp_path):
    job = cluster.sbatch("sleep 300", time_min=5)
    cluster.wait_state(job, ["RUNNING"])
    end = cluster.end_time(job)
    env = _env(cluster, tmp_path)
    step = ["srun", f"--jobid={job}", "--overlap", sys.executable, "-m", "jupyter_lease"]
    done = cluster.run(*step, "extend", "10m", env=env, timeout=60)
    assert done.stdout.startswith("Extended: ") and done.stderr == ""
    assert cluster.end_time(job) == end + 600
    report = json.loads(cluster.run(*step, "doctor", "--json", "--check", env=env).stdout)
    rows = {row["setting"]: row for section in report["sections"] for row in section["rows"]}
    assert rows["provider"]["value"] == "slurm" and "SLURM_JOB_ID" in rows["provider"]["source"]
    assert rows["Slurm job"]["value"] == str(job) and rows["squeue"]["status"] == "ok"
    assert rows["walltime"]["value"].startswith("read OK: 1") and report["ok"] is True


def test_an_ordinary_user_is_refused_in_one_line_with_nothing_sent(
    cluster: SlurmCluster, user: str, tmp_path
):
    job = cluster.sbatch("sleep 300", time_min=5, user=user)
    cluster.wait_state(job, ["RUNNING"])
    end = cluster.end_time(job)
    site = "write to hpc@example.org about job {job_id}"
    # The system's Python (the venv's may sit under /root): the provider needs the stdlib only.
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    env = dict(cluster.env, PYTHONPATH=str(REPO), JUPYTER_LEASE_SLURM_EXTEND_HELP=site)
    step = ["srun", f"--jobid={job}", "--overlap", python, "-m", "jupyter_lease"]
    done = cluster.run(*step, "extend", "10m", user=user, env=env, check=False, timeout=60)
    ours = [line for line in done.stderr.splitlines() if not line.startswith("srun: ")]
    assert done.returncode == 2 and done.stdout == ""
    assert ours == [f"jupyter lease: error: write to hpc@example.org about job {job}"]
    assert cluster.end_time(job) == end
    log = (cluster.root / "log" / "slurmctld.log").read_text()
    assert f"Attempt to increase time limit for JobId={job}\n" not in log  # == 0: never sent
    status = cluster.run(*step, "status", "--json", user=user, env=env, timeout=60)
    seen = json.loads(status.stdout)
    assert seen["can_extend"] is False and seen["reading"]["deadline_ms"] == end * 1000

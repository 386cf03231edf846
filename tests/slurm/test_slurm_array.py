"""Array tasks and heterogeneous jobs on a real cluster, and squeue printing numbers no job has.

An array task's own number (``SLURM_JOB_ID``) is not what ``%i`` prints (``1234_7``), nor is a
heterogeneous job's component (``1234+0``): read with squeue --json failing, each must still
read as its own running walltime, never as stopped. A number in squeue's JSON that is not
finite or lies beyond year 2200 is one line (the next command is asked; none answering, the
CLI says so and exits 1), never an OverflowError.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from jupyter_lease.slurm import SlurmCommands, SlurmSource
from tests.support.slurm import StandIns, raw_ids
from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm


def _read(cluster: SlurmCluster, job: int, stand_ins: StandIns):
    commands = SlurmCommands(dict(cluster.env, PATH=f"{stand_ins.path}:{cluster.env['PATH']}"))
    return SlurmSource(str(job), commands=commands).read()


@pytest.fixture(scope="module")
def array_tasks(cluster: SlurmCluster) -> Dict[str, int]:
    first = cluster.sbatch("sleep 600", time_min=9, extra=["--array=0-1"])
    tasks = raw_ids(cluster, first)
    assert sorted(tasks) == [f"{first}_0", f"{first}_1"], tasks
    return tasks


@pytest.mark.parametrize("mode", ["nojson", "fail"])
def test_an_array_task_reads_its_own_walltime_when_squeue_json_fails(
    cluster, array_tasks, stand_ins, mode
):
    """``nojson``: squeue's text form answers; ``fail``: scontrol does."""
    stand_ins.set("squeue", mode)
    for shown, job in array_tasks.items():
        reading = _read(cluster, job, stand_ins)
        assert (reading.kind, reading.stale, reading.error) == ("timed", False, None), shown
        assert reading.deadline == cluster.end_time(job)


@pytest.mark.parametrize("mode", ["nojson", "fail"])
def test_a_heterogeneous_component_is_never_read_as_stopped(cluster, stand_ins, mode):
    """One node: Slurm gives a heterogeneous job's components distinct nodes, so here they
    wait (``1234+0``, ``1234+1``); a component reads as not started yet, or (given nodes) as
    its walltime, never as stopped."""
    path = cluster.out / "het.sh"
    path.write_text("#!/bin/sh\n#SBATCH --time=8\n#SBATCH hetjob\n#SBATCH --time=8\nsleep 600\n")
    done = cluster.run("sbatch", "--parsable", "-o", str(cluster.out / "het-%j.out"), str(path))
    leader = int(done.stdout.strip().split(";")[0].split("+")[0])
    try:
        components = raw_ids(cluster, leader, state="PENDING,RUNNING")
        assert sorted(components) == [f"{leader}+0", f"{leader}+1"], components
        stand_ins.set("squeue", mode)
        for shown, job in components.items():
            reading = _read(cluster, job, stand_ins)
            assert reading.kind in ("unknown", "timed") and not reading.stale, (shown, reading)
            if reading.kind == "unknown":
                assert reading.error == f"Slurm job {job} has not started yet"
            else:
                assert reading.deadline == cluster.end_time(job)
    finally:
        cluster.run("scancel", str(leader), check=False)


# -- numbers no job has ------------------------------------------------------------------------

# squeue --json prints ``JSON`` (with the job's id filled in); its other forms and scontrol
# either pass through to the real command or fail, as ``others`` says.
_NUMBER_STAND_IN = """#!/bin/sh
case "$1" in
  --json) cat <<'EOF'
{json}
EOF
  exit 0 ;;
esac
{others}
"""
_FAIL = 'echo "$(basename "$0"): error: Unable to contact slurm controller" >&2; exit 1'


def _plant(stand_ins: StandIns, job: int, end_time: str, others: str) -> None:
    jobs = f'{{"jobs": [{{"job_id": {job}, "job_state": "RUNNING", "time_limit": 9, '
    jobs += f'"start_time": 1796000000, "end_time": {end_time}}}]}}'
    for name in ("squeue", "scontrol"):
        target = stand_ins.path / name
        rest = others if others == _FAIL else f'exec {stand_ins.real[name]} "$@"'
        target.write_text(_NUMBER_STAND_IN.format(json=jobs, others=rest))
        target.chmod(0o755)


NUMBERS = ["Infinity", "-Infinity", "NaN", "1e400", "1e300", '{"set": true, "number": 1e400}']


@pytest.fixture(scope="module")
def job(cluster: SlurmCluster) -> int:
    job_id = cluster.sbatch("sleep 600", time_min=9)
    cluster.wait_state(job_id, ["RUNNING"])
    return job_id


@pytest.mark.parametrize("number", NUMBERS)
def test_a_number_no_job_has_falls_back_to_the_next_command(cluster, job, stand_ins, number):
    _plant(stand_ins, job, number, others="")
    reading = _read(cluster, job, stand_ins)
    assert (reading.kind, reading.stale, reading.error) == ("timed", False, None)
    assert reading.deadline == cluster.end_time(job)


@pytest.mark.parametrize("number", NUMBERS)
def test_a_number_no_job_has_is_one_line_from_the_cli(cluster, job, stand_ins, tmp_path, number):
    _plant(stand_ins, job, number, others=_FAIL)
    done = _cli(cluster, job, stand_ins, tmp_path, "status")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "squeue --json gave end_time" in lines[0] and "bug" not in lines[0], lines[0]
    assert "Traceback" not in done.stderr + done.stdout


def _cli(
    cluster: SlurmCluster, job: int, stand_ins: StandIns, tmp: Path, *args: str
) -> subprocess.CompletedProcess:
    cache = tmp / "cache"
    cache.mkdir(mode=0o700, exist_ok=True)
    env = dict(
        cluster.env,
        PATH=f"{stand_ins.path}:{cluster.env['PATH']}",
        SLURM_JOB_ID=str(job),
        JUPYTER_LEASE_PROVIDER="slurm",
        JUPYTER_LEASE_CACHE_DIR=str(cache),
    )
    command: List[str] = [sys.executable, "-m", "jupyter_lease", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

"""A real IPython kernel started inside a Slurm job (``srun --jobid … --overlap``, as a
batchspawner's JupyterLab starts its kernels): ``%lease`` says whose walltime it is, the
countdown counts to the job's EndTime, and ``on_warning`` fires before Slurm's kill."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Dict

import pytest

from tests.support.kernel_helpers import KernelSession
from tests.support.slurm_cluster import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.kernel]

WATCH = """
import threading, time, jupyter_lease
%load_ext jupyter_lease
warned = {}
done = threading.Event()
def _warn(left):
    warned.update(left=left.total_seconds(), at=time.time())
    done.set()
left = round(jupyter_lease.remaining().total_seconds())
before = left - 10  # crossed 10 s from now
jupyter_lease.on_warning(_warn, before=f"{before}s")
print(before)
print(left)
"""


def kernel_in_job(tmp_path: Path, job_id: int) -> Dict[str, str]:
    """The environment of a KernelSession whose ``injob`` kernel runs as a step of the job."""
    spec = tmp_path / "data" / "kernels" / "injob"
    spec.mkdir(parents=True)
    argv = ["srun", f"--jobid={job_id}", "--overlap", "--quiet", sys.executable,
            "-m", "ipykernel_launcher", "-f", "{connection_file}"]  # fmt: skip
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "in job",
                                                  "language": "python"}))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_LEASE_", "SLURM_"))}
    env["JUPYTER_PATH"] = str(tmp_path / "data")
    env["JUPYTER_LEASE_CACHE_DIR"] = str(tmp_path / "cache")
    return env


@pytest.mark.timeout(150)
def test_a_kernel_in_a_job_counts_to_its_walltime_and_warns_before_the_kill(
    cluster: SlurmCluster, tmp_path, monkeypatch
):
    job = cluster.sbatch("sleep 600", time_min=1)  # the shortest limit Slurm has
    cluster.wait_state(job, ["RUNNING"])
    end = cluster.end_time(job)
    env = kernel_in_job(tmp_path, job)
    env["SLURM_CONF"] = str(cluster.conf)
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])  # the kernel manager looks here
    (tmp_path / "cache").mkdir()
    try:
        with KernelSession(env, kernel_name="injob", startup_timeout=90) as kernel:
            before, left = map(int, kernel.execute(WATCH, timeout=60).stdout.split()[-2:])
            assert abs(left - (end - time.time())) < 10
            assert before >= 20, before  # the kernel started early in the job's minute
            shown = kernel.execute("%lease", timeout=60).messages
            status = " ".join(
                m.content.get("data", {}).get("text/plain", "")
                for m in shown
                if m.msg_type in ("display_data", "execute_result")
            )
            assert f"Slurm job {job}" in status, status
            code = "import json; print(done.wait(60)); print(json.dumps(warned))"
            fired = kernel.execute(code, timeout=80).stdout.splitlines()
            assert fired[0] == "True", fired
            warned = json.loads(fired[1])
    finally:
        cluster.run("scancel", str(job), check=False)
    assert before - 10 <= warned["left"] <= before, warned  # at the threshold, before the kill
    assert warned["at"] < end, (warned, end)

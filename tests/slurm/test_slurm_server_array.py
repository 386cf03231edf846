"""The server extension in an array task of a real Slurm job (started as batchspawner does, a
step of the job), with squeue --json failing: the page gets the task's own walltime (never
"stopped"), the server's ``c.JupyterLease`` settings as for ModelArts, and a doctor report
about Slurm (not a missing notebook id)."""

from __future__ import annotations

import pytest

from tests.support.checks import our_tracebacks
from tests.support.jupyter import LEASE, clean_env
from tests.support.slurm import TOKEN, ServerInJob, raw_ids
from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm

DOCTOR = "jupyter-lease/api/doctor"


@pytest.mark.timeout(150)
def test_a_server_in_an_array_task_serves_its_walltime_settings_and_doctor(
    cluster: SlurmCluster, stand_ins, tmp_path
):
    first = cluster.sbatch("sleep 300", time_min=6, extra=["--array=0-1"])
    tasks = raw_ids(cluster, first)
    job = tasks[f"{first}_0"]  # its own number differs from the array's
    stand_ins.set("squeue", "nojson")  # an older squeue: the text form must find the task
    env = dict(
        clean_env(),
        SLURM_CONF=str(cluster.conf),
        PATH=f"{stand_ins.path}:{cluster.env['PATH']}",
    )
    config = 'c.JupyterLease.warn_at = "20m,5m"'
    server = ServerInJob(tmp_path, env, job, token=TOKEN, base_url="/user/jl/", config=config)
    try:
        server.start()
        answer = server.get(LEASE)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        reading = body["reading"]
        assert (reading["kind"], reading["stale"]) == ("timed", False), reading
        assert reading["deadline_ms"] == cluster.end_time(job) * 1000
        assert body.get("settings", {}).get("warn_at_ms") == [1_200_000, 300_000], body
        doctor = server.get(DOCTOR)
        assert doctor.status_code == 200, doctor.text
        rows = {r["setting"]: r for s in doctor.json()["sections"] for r in s["rows"]}
        assert "notebook id" not in rows, rows["notebook id"]
        assert rows["provider"]["value"] == "slurm", rows["provider"]
        assert rows["Slurm job"]["value"] == str(job)
    finally:
        server.stop()
        cluster.run("scancel", str(first), check=False)
    assert our_tracebacks(server.log()) == []

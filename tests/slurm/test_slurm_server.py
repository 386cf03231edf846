"""The server extension inside a Slurm job, started the way batchspawner starts it (a step of
the job, ``srun --jobid … --overlap``), behind a token and a non-root base_url: it serves the
job's walltime and extends it."""

from __future__ import annotations

import pytest

from tests.support.checks import our_tracebacks
from tests.support.jupyter import EXTEND, LEASE, clean_env
from tests.support.slurm import TOKEN, ServerInJob
from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm


@pytest.mark.timeout(120)
def test_the_server_in_a_job_serves_and_extends_its_walltime(cluster: SlurmCluster, tmp_path):
    job = cluster.sbatch("sleep 300", time_min=5)
    cluster.wait_state(job, ["RUNNING"])
    end = cluster.end_time(job)
    env = dict(clean_env(), SLURM_CONF=str(cluster.conf))
    server = ServerInJob(tmp_path, env, job, token=TOKEN, base_url="/user/jl/")
    try:
        server.start()
        answer = server.get(LEASE)
        assert answer.status_code == 200, answer.text
        reading = answer.json()["reading"]
        assert reading["source"] == f"Slurm job {job}" and reading["kind"] == "timed"
        assert reading["deadline_ms"] == end * 1000 and reading["can_extend"] is True
        extended = server.post(EXTEND, {"duration": "10m"}, xsrf=None)  # token: no XSRF
        assert extended.status_code == 200, extended.text
        assert extended.json()["reading"]["deadline_ms"] == (end + 600) * 1000
        assert cluster.end_time(job) == end + 600
        # A second tab's click, or a retry, for the end the page showed: the end moves once.
        again = {"duration": "10m", "basis_ms": reading["deadline_ms"]}
        assert server.post(EXTEND, again, xsrf=None).status_code == 200
        assert cluster.end_time(job) == end + 600
        refused = server.post(EXTEND, {"duration": "30s"}, xsrf=None)
        assert refused.status_code == 400 and "1 min to 7 days" in refused.json()["error"]
        # Keep alive while busy is the provider's extend: a user who may raise the limit may
        # turn it on (capped, as anywhere), and off again.
        policy = server.post("jupyter-lease/api/keep-alive", {"on": True, "for": "2h"}, xsrf=None)
        assert policy.status_code == 200, policy.text
        assert policy.json()["on"] is True, policy.text
        assert policy.json()["lease"].endswith(f":{job}"), policy.text
        off = server.post("jupyter-lease/api/keep-alive", {"on": False}, xsrf=None)
        assert off.status_code == 200 and off.json()["on"] is False, off.text
    finally:
        server.stop()
        cluster.run("scancel", str(job), check=False)
    assert our_tracebacks(server.log()) == []

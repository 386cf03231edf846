"""JupyterLab started inside a Slurm job, the way batchspawner starts it (a step of the job,
``srun --jobid … --overlap``), behind a token and a non-root base_url, in a real Chromium: the
status item shows the job's walltime with no notebook open, and says whose it is."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.support.browser import (
    VIEWPORT,
    headless_chromium,
    missing_browser,
    require,
    require_module,
)
from tests.support.jupyter import JupyterServer
from tests.support.slurm_cluster import SlurmCluster
from tests.support.status import item_seconds, item_state, page_url, wait_item

pytestmark = [pytest.mark.slurm, pytest.mark.browser]


class LabInJob(JupyterServer):
    """JupyterLab as a step of job ``job_id``."""

    def __init__(self, root: Path, env: Dict[str, str], job_id: int, **options: Any) -> None:
        super().__init__(root, env, **options)
        self.job_id = job_id

    def command(self) -> List[str]:
        return ["srun", f"--jobid={self.job_id}", "--overlap", "--quiet", *super().command()]


@pytest.mark.timeout(180)
def test_jupyterlab_in_a_job_shows_its_walltime_in_the_status_bar(cluster: SlurmCluster, tmp_path):
    require(missing_browser())
    require_module("jupyterlab")
    job = cluster.sbatch("sleep 600", time_min=8)
    cluster.wait_state(job, ["RUNNING"])
    end = cluster.end_time(job)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_LEASE_")}
    env["SLURM_CONF"] = str(cluster.conf)
    token = secrets.token_hex(16)
    lab = LabInJob(tmp_path, env, job, app="lab", token=token, base_url="/user/jl/")
    try:
        lab.start(timeout=90)
        with headless_chromium() as browser:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(60_000)
            page.goto(page_url(lab), wait_until="domcontentloaded")
            wait_item(page, timeout=60)
            state = item_state(page)
        assert state is not None, "no status item"
        left = item_seconds(state["text"])
        truth = end - time.time()
        assert left is not None and abs(left - truth) < 15, (state, truth)
        assert f"Slurm job {job}" in state["tooltip"], state
    finally:
        lab.stop()
        cluster.run("scancel", str(job), check=False)

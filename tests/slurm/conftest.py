"""Fixtures for the Slurm tests: a real single-node cluster per module
(tests/support/slurm_cluster.py), an ordinary user, and a directory of squeue/scontrol stand-ins
that can go missing, slow or failing (tests/support/slurm.py).

Without Slurm (or without root) the cluster tests are skipped with the reason, except in CI
(``$CI`` set), where that is a failure: ``.ci/run`` installs Debian's packages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.slurm import StandIns
from tests.support.slurm_cluster import SlurmCluster, missing_commands


def _unavailable() -> str:
    missing = missing_commands()
    if missing:
        packages = "slurmctld slurmd slurm-client munge"
        return f"needs Slurm: {', '.join(missing)} missing (apt-get install {packages})"
    if os.geteuid() != 0:
        return "needs root to start slurmctld, slurmd and munged"
    return ""


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    """A started cluster for this module's tests; its jobs cancelled and daemons stopped after."""
    reason = _unavailable()
    if reason and os.environ.get("CI"):
        pytest.fail(f"Slurm tests must run in CI: {reason}")
    if reason:
        pytest.skip(reason)
    # Not under pytest's tmp dir: that is 0700, and ordinary users' jobs need the munge socket.
    root = Path(tempfile.mkdtemp(prefix="jl-slurm-"))
    started = SlurmCluster(root)
    try:
        yield started.start()
    finally:
        started.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def user(cluster: SlurmCluster) -> str:
    """An ordinary user: neither root nor the cluster's SlurmUser."""
    return cluster.ensure_user()


@pytest.fixture
def stand_ins(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path)

"""A lease cache directory its group can write to is refused like a world-writable one: a
group member could plant the file, or a FIFO at its lock. A real Jupyter server against the
simulator still answers the lease (uncached), says why in one log line, writes nothing there."""

from __future__ import annotations

from pathlib import Path

from jupyter_lease.simulator.app import Simulator
from tests.support.checks import our_tracebacks
from tests.support.jupyter import LEASE, TOKEN, JupyterServer, clean_env


def test_a_group_writable_cache_dir_is_refused_in_one_line(simulator: Simulator, tmp_path: Path):
    server = JupyterServer(tmp_path, {**clean_env(), **simulator.environ()}, token=TOKEN)
    server.cache_dir.chmod(0o770)
    try:
        server.start()
        answers = [server.get(LEASE) for _ in range(2)]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200, 200], answers[-1].text
    assert answers[-1].json()["reading"]["kind"] == "timed"
    line = f"the lease cache is not used: {server.cache_dir} is writable by its group"
    assert server.log().count(line) == 1, server.log()
    assert list(server.cache_dir.iterdir()) == []  # nothing believed, nothing written there
    assert our_tracebacks(server.log()) == []

"""The test harness's own promise: a server whose port was taken between asking for it and
binding it starts on another one (seen once in a parallel browser run: "port 46001 is not
available"), instead of failing the test that wanted it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.jupyter import JupyterServer, clean_env

pytestmark = pytest.mark.kernel


def test_a_server_whose_port_was_taken_meanwhile_starts_on_another(tmp_path: Path) -> None:
    server = JupyterServer(tmp_path, clean_env())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server.port = taken.getsockname()[1]  # as if another process took it just now
        try:
            server.start(timeout=60)
            assert server.port != taken.getsockname()[1]
            assert server.get("api/status").status_code == 200
        finally:
            server.stop()

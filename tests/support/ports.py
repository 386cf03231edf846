"""A free TCP port on 127.0.0.1 for a server a test starts.

The port is free when asked, not when the server binds it: another process (a kernel's ZMQ
sockets, a browser, another xdist worker's server) may take it in between. Servers that can
say so are started again on another port (:meth:`.jupyter.JupyterServer.wait_ready`)."""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

"""Keep alive while busy, the harness: a real ``jupyter_server`` configured to read the lease
every second and check every half second, a kernel kept busy over its websocket, and the
simulator's clock moved to the margin (tests/test_busy_server.py and benchmarks/bench_busy.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any, Callable, Dict

from jupyter_lease.simulator.app import Simulator

from .jupyter import JupyterServer
from .scenarios import wait_until

KEEP_ALIVE = "jupyter-lease/api/keep-alive"
FAST = {
    "renew_check_every": "0.5s",
    "renew_margin": "10m",
    "renew_step": "1h",
    "poll_far": "1s",
    "poll_near": "1s",
    "poll_final": "1s",
}


def configured(root: Path, env: Dict[str, str], token: str = "", **traits: str) -> JupyterServer:
    server = JupyterServer(root, env, token=token)
    config = {"JupyterLease": {**FAST, **traits}}
    (root / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    return server


def wait_for(check: Callable[[], Any], timeout: float, what: str, tries: int = 1) -> Any:
    """``check()``'s first truthy value within ``timeout`` (scenarios.wait_until); past it, an
    AssertionError with the last value — or, with ``tries`` > 1 (the caller retries), False."""
    try:
        return wait_until(check, timeout, what, interval=0.1)
    except AssertionError:
        if tries > 1:
            return False
        raise AssertionError(f"not within {timeout} s: {what}; last: {check()}") from None


def start_busy_kernel(server: JupyterServer, path: str) -> str:
    """A session for ``path`` whose kernel runs ``time.sleep(600)``; returns the kernel id."""
    body = {"path": path, "type": "notebook", "name": path, "kernel": {"name": "python3"}}
    session = server.post("api/sessions", body).json()
    kernel_id = session["kernel"]["id"]
    # A message sent while the server is still connecting the new kernel's channels can be lost
    # (seen on jupyter_server 1.24 with a slow-starting kernel): send again until it is busy.
    for attempt in range(3):
        asyncio.run(execute(server, kernel_id, "import time; time.sleep(600)"))
        busy = wait_for(lambda: kernel_state(server, kernel_id) == "busy", 20, f"{path} busy", 2)
        if busy or attempt == 2:
            break
    assert busy, f"{path} never became busy"
    return str(kernel_id)


async def execute(server: JupyterServer, kernel_id: str, code: str) -> None:
    """Send ``code`` and keep the websocket open until the kernel says it is busy with it:
    jupyter_server 1.x closes the kernel's channels with the socket and can drop a message
    still on its way."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = server.url(f"api/kernels/{kernel_id}/channels").replace("http://", "ws://")
    request = HTTPRequest(url, headers=server._headers(), connect_timeout=30)  # a token, if any
    ws = await asyncio.wait_for(websocket_connect(request), 30)
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "session": uuid.uuid4().hex, "username": "test",
              "msg_type": "execute_request", "version": "5.3"}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
    message = {"header": header, "parent_header": {}, "metadata": {}, "content": content,
               "channel": "shell", "buffers": []}  # fmt: skip
    await ws.write_message(json.dumps(message))
    try:
        await asyncio.wait_for(_until_busy(ws, msg_id), 20)
    except asyncio.TimeoutError:
        pass  # the caller checks the kernel's state and sends again
    finally:
        ws.close()


async def _until_busy(ws: Any, msg_id: str) -> None:
    while True:
        raw = await ws.read_message()
        if raw is None:  # closed by the server
            return
        if not isinstance(raw, str):
            continue  # a binary frame: not the status message
        msg = json.loads(raw)
        busy = msg.get("content", {}).get("execution_state") == "busy"
        if busy and msg.get("parent_header", {}).get("msg_id") == msg_id:
            return


def kernel_state(server: JupyterServer, kernel_id: str) -> str:
    return str(server.get(f"api/kernels/{kernel_id}").json().get("execution_state"))


def keep_alive(server: JupyterServer) -> Dict[str, Any]:
    response = server.get(KEEP_ALIVE)
    assert response.status_code == 200, response.text
    return dict(response.json())


def turn_on(server: JupyterServer, **cap: str) -> Dict[str, Any]:
    response = server.post(KEEP_ALIVE, {"on": True, "via": "panel", **cap})
    assert response.status_code == 200, response.text
    return dict(response.json())


def deadline_s(sim: Simulator) -> float:
    lease = sim.state()["notebooks"][sim.notebook_id]["lease"]
    return (lease["create_at"] + lease["duration"]) / 1000


def to_margin(sim: Simulator, left: float = 300.0) -> float:
    """Move ModelArts' clock to ``left`` seconds before the stop; returns that deadline."""
    deadline = deadline_s(sim)
    sim.advance(deadline - sim.now() - left)
    return deadline

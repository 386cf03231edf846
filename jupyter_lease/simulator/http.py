"""The simulator's wire: HTTP/1.1 plumbing (stdlib ``http.server``), requests and responses,
and the client of the control API. Nothing here knows ModelArts: the server calls back
``sim._serve(handler)`` and ``sim.now()``.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import ipaddress
import json
import logging
import socket
import socketserver
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .._errors import UsageError

_MAX_BODY = 1 << 20  # bytes: a request body larger than this is refused

_log = logging.getLogger("jupyter_lease.simulator")

# -- requests and responses ---------------------------------------------------------------


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: str
    headers: Dict[str, str]
    body: bytes
    client: str


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: Dict[str, str] = field(default_factory=dict)
    code: Optional[str] = None  # error_code, for the request log
    mode: str = "normal"  # normal | drop | reset
    content_type: str = "application/json"


def json_response(status: int, doc: Any, headers: Optional[Dict[str, str]] = None) -> Response:
    return Response(status, json.dumps(doc).encode("utf-8"), dict(headers or {}))


def error_response(status: int, code: str, message: str, headers=None) -> Response:
    resp = json_response(status, {"error_code": code, "error_msg": message}, headers)
    resp.code = code
    return resp


def auth_error(message: str, code: str = "APIG.0301") -> Response:
    return error_response(401, code, f"Incorrect IAM authentication information: {message}")


def iam_error(status: int, message: str) -> Response:
    title = {400: "Bad Request", 401: "Unauthorized"}.get(status, "Error")
    resp = json_response(status, {"error": {"code": status, "message": message, "title": title}})
    resp.code = f"IAM.{status}"
    return resp


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def read_request(handler: Handler) -> Optional[Request]:
    """Read the body (so keep-alive stays in sync); ``None`` after answering a bad request."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        send(
            handler,
            error_response(411, "APIG.0201", "Content-Length is required."),
            uuid.uuid4().hex,
            close=True,
        )
        return None
    length = handler.headers.get("Content-Length", "0").strip() or "0"
    if not length.isdigit() or int(length) > _MAX_BODY:
        send(
            handler,
            error_response(413, "APIG.0201", "Request body too large."),
            uuid.uuid4().hex,
            close=True,
        )
        return None
    body = handler.rfile.read(int(length)) if int(length) else b""
    if len(body) < int(length):  # the client went away mid-body: nothing to process
        handler.close_connection = True
        return None
    target = handler.path
    path, _, query = target.partition("?")
    return Request(
        method=handler.command.upper(),
        target=target,
        path=path,
        query=query,
        headers={k.lower(): v for k, v in handler.headers.items()},
        body=body,
        client=str(handler.client_address[0]),
    )


def send(handler: Handler, response: Response, request_id: str, close: bool = False) -> None:
    """Write ``response``; ``drop`` sends nothing, ``reset`` stops after half the body."""
    if response.mode == "drop":
        handler.close_connection = True
        return
    handler.send_response(response.status)
    handler.send_header("Content-Type", response.content_type)
    handler.send_header("Content-Length", str(len(response.body)))
    if request_id:
        handler.send_header("X-Request-Id", request_id)
    for name, value in response.headers.items():
        handler.send_header(name, value)
    if close or response.mode == "reset":
        handler.send_header("Connection", "close")
        handler.close_connection = True
    handler.end_headers()
    body = response.body[: len(response.body) // 2] if response.mode == "reset" else response.body
    handler.wfile.write(body)
    handler.wfile.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ModelArtsSimulator/1"
    sys_version = ""
    timeout = 60
    server: Server

    def version_string(self) -> str:
        return self.server_version

    def _dispatch(self) -> None:
        try:
            self.server.sim._serve(self)
        except (ConnectionError, socket.timeout, OSError):
            _log.debug("client connection lost", exc_info=True)
            self.close_connection = True
        except Exception:  # a simulator bug: answer 500, keep the traceback out of stderr
            _log.exception("simulator failed on %s %s", self.command, self.path.partition("?")[0])
            self.close_connection = True
            resp = error_response(500, "ModelArts.6102", "Simulator internal error.")
            with contextlib.suppress(OSError):
                send(self, resp, uuid.uuid4().hex, close=True)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def date_time_string(self, timestamp: Optional[float] = None) -> str:
        """``Date`` from the simulator's clock, so clients can measure the server's offset."""
        moment = self.server.sim.now() if timestamp is None else timestamp
        return email.utils.formatdate(moment, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        _log.debug("%s " + format, self.client_address[0], *args)


class Server(http.server.ThreadingHTTPServer):
    """Threads are daemons and not joined; ``close_connections`` ends keep-alive sockets."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.address_family = socket.AF_INET6 if ":" in sim.host else socket.AF_INET
        self._connections: set = set()
        self._connections_lock = threading.Lock()
        super().__init__((sim.host, sim.port), Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); not needed, maybe slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.sim.host, self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def wait_connections_closed(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._connections_lock:
                if not self._connections:
                    return
            time.sleep(0.01)

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.debug("error while serving %s", client_address, exc_info=True)


# -- the control API client ----------------------------------------------------------------


def matches(entry: Dict[str, Any], method: Optional[str], path_suffix: Optional[str]) -> bool:
    if method and entry["method"] != method.upper():
        return False
    return not path_suffix or entry["path"].endswith(path_suffix)


class SimulatorControl:
    """Drive a simulator over its ``/_sim/`` control API, e.g. from another process."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # Never through a proxy: the simulator is on loopback.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method: str, path: str, data: Optional[Dict[str, Any]] = None) -> Any:
        body = json.dumps(data).encode("utf-8") if data is not None else None
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("error", "")
            except (ValueError, AttributeError):
                detail = ""
            raise UsageError(
                f"simulator control {method} {path}: HTTP {exc.code} {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise UsageError(f"cannot reach the simulator at {self.url}: {exc}") from None

    def state(self) -> Dict[str, Any]:
        return self._call("GET", "/_sim/state")

    def now(self) -> float:
        return float(self.state()["now"])

    def set_lease(self, notebook_id: Optional[str] = None, **fields: Any) -> Dict[str, Any]:
        return self._call("POST", "/_sim/lease", dict(fields, notebook_id=notebook_id))

    def add_notebook(self, notebook_id: str, **fields: Any) -> Dict[str, Any]:
        return self._call("POST", "/_sim/notebooks", dict(fields, notebook_id=notebook_id))

    def advance(self, seconds: float) -> float:
        return float(self._call("POST", "/_sim/clock", {"advance": seconds})["now"])

    def inject(self, fault: str, count: int = 1, path: Optional[str] = None, **params: Any) -> None:
        self._call("POST", "/_sim/faults", dict(params, fault=fault, count=count, path=path))

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    def requests(self) -> List[Dict[str, Any]]:
        return self._call("GET", "/_sim/log")

    def count(self, method: Optional[str] = None, path_suffix: Optional[str] = None) -> int:
        return sum(1 for entry in self.requests() if matches(entry, method, path_suffix))

    def clear_log(self) -> None:
        self._call("DELETE", "/_sim/log")

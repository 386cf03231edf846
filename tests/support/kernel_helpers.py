"""A real IPython kernel for tests: start it with a given environment, run code, watch iopub.

``KernelSession`` starts a kernel with ``jupyter_client``'s ``KernelManager`` (the same Python
as the tests), collects *every* iopub message in a background thread (also those a kernel
thread sends between cells, e.g. widget updates from the lease watcher) with the time it
arrived, and can play a front end's part on the widget comm::

    with KernelSession(env={**os.environ, **simulator.environ()}) as kernel:
        kernel.execute("import time")
        mark = kernel.mark()
        ...
        kernel.messages(since=mark, msg_type="comm_msg")
        kernel.send_comm_msg(comm_id, {"method": "custom", "content": {...}})

Nothing here is jupyter_lease specific.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

from jupyter_client.manager import KernelManager

from . import kernel_records

__all__ = ["ExecutionError", "ExecutionResult", "KernelSession", "Received"]

Message = Dict[str, Any]


@dataclass(frozen=True)
class Received:
    """One iopub message and when it arrived (``time.monotonic()`` in the test process)."""

    at: float
    msg: Message

    @property
    def msg_type(self) -> str:
        return str(self.msg["header"]["msg_type"])

    @property
    def content(self) -> Dict[str, Any]:
        return self.msg.get("content", {})

    @property
    def parent_id(self) -> Optional[str]:
        return (self.msg.get("parent_header") or {}).get("msg_id")


@dataclass
class ExecutionResult:
    """What one ``execute`` produced: its reply and the iopub messages attributed to it."""

    msg_id: str
    reply: Message
    messages: List[Received] = field(default_factory=list)
    started: float = 0.0  # monotonic, when the request was sent
    busy_at: Optional[float] = None  # when the kernel reported busy for it
    idle_at: Optional[float] = None  # when it reported idle again

    @property
    def stdout(self) -> str:
        return "".join(
            m.content.get("text", "")
            for m in self.messages
            if m.msg_type == "stream" and m.content.get("name") == "stdout"
        )

    @property
    def stderr(self) -> str:
        return "".join(
            m.content.get("text", "")
            for m in self.messages
            if m.msg_type == "stream" and m.content.get("name") == "stderr"
        )

    @property
    def errors(self) -> List[Dict[str, Any]]:
        return [m.content for m in self.messages if m.msg_type == "error"]


class ExecutionError(AssertionError):
    """The code raised in the kernel (the message carries the traceback)."""


class KernelSession:
    """A started kernel plus a client whose iopub is drained into ``messages()``."""

    def __init__(
        self,
        env: Optional[Mapping[str, str]] = None,
        *,
        kernel_name: str = "python3",
        startup_timeout: float = 60.0,
        isolate_ipython: bool = True,
        stderr: Any = None,
    ) -> None:
        self._env = dict(os.environ if env is None else env)
        self._stderr = stderr  # where the kernel's own stderr goes (default: inherited)
        self._tmp: Optional[tempfile.TemporaryDirectory] = None
        if isolate_ipython:  # no profile, startup files or history from the user's home
            self._tmp = tempfile.TemporaryDirectory(prefix="kernel-ipython-")
            self._env["IPYTHONDIR"] = self._tmp.name
            if kernel_records.RECORDS_ENV in self._env:  # the suite's check (kernel_records.py)
                kernel_records.install(self._tmp.name)
        self._env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.km: Optional[KernelManager] = None
        self.kc: Any = None
        self._received: List[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._reader: Optional[threading.Thread] = None
        self._sockets: Optional[tempfile.TemporaryDirectory] = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> KernelSession:
        # ipc, not TCP: suites running side by side (CI runs three) raced for the ports
        # jupyter_client picks and the kernel binds ("Address already in use"); unix sockets in
        # a private folder cannot collide.
        self._sockets = tempfile.TemporaryDirectory(prefix="kernel-ipc-")
        sockets = os.path.join(self._sockets.name, "k")
        self.km = KernelManager(kernel_name=self.kernel_name, transport="ipc", ip=sockets)
        self.km.start_kernel(env=self._env, stderr=self._stderr)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)
        self._reader = threading.Thread(target=self._read_iopub, name="iopub-reader", daemon=True)
        self._reader.start()
        return self

    def shutdown(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            self.km.shutdown_kernel(now=True)
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._sockets is not None:
            self._sockets.cleanup()

    def __enter__(self) -> KernelSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _read_iopub(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.kc.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            except Exception:  # channels closed during shutdown
                if self._stop.is_set():
                    return
                continue
            with self._arrived:
                self._received.append(Received(time.monotonic(), msg))
                self._arrived.notify_all()

    # -- iopub -----------------------------------------------------------------------------

    def mark(self) -> int:
        """An index into the message log: pass it as ``since`` to see only what came after."""
        with self._lock:
            return len(self._received)

    def messages(
        self,
        *,
        since: int = 0,
        msg_type: Optional[str] = None,
        parent_id: Optional[str] = None,
    ) -> List[Received]:
        with self._lock:
            items = self._received[since:]
        return [
            m
            for m in items
            if (msg_type is None or m.msg_type == msg_type)
            and (parent_id is None or m.parent_id == parent_id)
        ]

    def wait_for(
        self,
        predicate: Callable[[Received], bool],
        *,
        since: int = 0,
        timeout: float = 10.0,
        what: str = "an iopub message",
    ) -> Received:
        """The first message from ``since`` on matching ``predicate``; AssertionError if none."""
        deadline = time.monotonic() + timeout
        checked = since
        with self._arrived:
            while True:
                for index in range(checked, len(self._received)):
                    if predicate(self._received[index]):
                        return self._received[index]
                checked = len(self._received)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
                self._arrived.wait(left)

    # -- execution -------------------------------------------------------------------------

    def execute(self, code: str, *, timeout: float = 30.0, check: bool = True) -> ExecutionResult:
        """Run ``code``; wait for its reply and idle status. Raises if it failed (and ``check``)."""
        since = self.mark()
        started = time.monotonic()
        msg_id = self.kc.execute(code, store_history=False)
        reply = self._shell_reply(msg_id, started + timeout)
        idle = self.wait_for(
            lambda m: (
                m.parent_id == msg_id
                and m.msg_type == "status"
                and m.content.get("execution_state") == "idle"
            ),
            since=since,
            timeout=max(0.1, started + timeout - time.monotonic()),
            what=f"idle after {code[:40]!r}",
        )
        own = self.messages(since=since, parent_id=msg_id)
        busy = next(
            (
                m.at
                for m in own
                if m.msg_type == "status" and m.content.get("execution_state") == "busy"
            ),
            None,
        )
        result = ExecutionResult(msg_id, reply, own, started, busy, idle.at)
        if check and reply["content"].get("status") != "ok":
            content = reply["content"]
            trace = "\n".join(content.get("traceback", [])) or content.get("evalue", "")
            raise ExecutionError(f"kernel code failed: {content.get('ename')}\n{trace}")
        return result

    def _shell_reply(self, msg_id: str, deadline: float) -> Message:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no execute_reply for {msg_id} in time")
            try:
                reply = self.kc.get_shell_msg(timeout=left)
            except queue.Empty:
                continue
            if (reply.get("parent_header") or {}).get("msg_id") == msg_id:
                return reply

    def start_execute(self, code: str) -> str:
        """Send an execute request without waiting; returns its msg_id."""
        return str(self.kc.execute(code, store_history=False))

    def wait_idle(self, msg_id: str, *, since: int = 0, timeout: float = 30.0) -> Received:
        return self.wait_for(
            lambda m: (
                m.parent_id == msg_id
                and m.msg_type == "status"
                and m.content.get("execution_state") == "idle"
            ),
            since=since,
            timeout=timeout,
            what=f"idle after {msg_id}",
        )

    # -- comms (a front end's part) -----------------------------------------------------------

    def comm_opens(self, target_name: Optional[str] = "jupyter.widget") -> List[Received]:
        return [
            m
            for m in self.messages(msg_type="comm_open")
            if target_name is None or m.content.get("target_name") == target_name
        ]

    def comm_msgs(self, comm_id: str, *, since: int = 0) -> List[Received]:
        return [
            m
            for m in self.messages(since=since, msg_type="comm_msg")
            if m.content.get("comm_id") == comm_id
        ]

    def widget_state(self, comm_id: str, *, until: Optional[int] = None) -> Dict[str, Any]:
        """A widget's state as a front end would have it: comm_open state plus every update."""
        state: Dict[str, Any] = {}
        for m in self.messages()[:until]:
            if m.content.get("comm_id") != comm_id:
                continue
            data = m.content.get("data") or {}
            is_update = m.msg_type == "comm_msg" and data.get("method") == "update"
            if m.msg_type == "comm_open" or is_update:
                state.update(data.get("state") or {})
        return state

    def find_widget(self, model_name: str, *, timeout: float = 10.0) -> str:
        """The comm id of the first widget whose state has ``_model_name == model_name``."""
        found = self.wait_for(
            lambda m: (
                m.msg_type == "comm_open"
                and ((m.content.get("data") or {}).get("state") or {}).get("_model_name")
                == model_name
            ),
            timeout=timeout,
            what=f"a {model_name} widget",
        )
        return str(found.content["comm_id"])

    def send_comm_msg(self, comm_id: str, data: Dict[str, Any]) -> None:
        """Send ``comm_msg`` on the shell channel, as a front end does (no reply comes)."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.shell_channel.send(msg)


def iter_strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (keys included): for scanning messages for secrets."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from iter_strings(k)
            yield from iter_strings(v)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_strings(item)

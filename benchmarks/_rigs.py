"""Kernels and simulators for benchmarks: started in ``with`` blocks, always stopped.

Kernels come from the test suite's :class:`tests.support.kernel_helpers.KernelSession` (real
ipykernel processes, every iopub message kept with its arrival time); the only change here is that a
kernel's stderr goes to a log file instead of this terminal.
"""

from __future__ import annotations

import ast
import compileall
import contextlib
import os
import subprocess
import sys
import tempfile
from typing import IO, Any, Callable, Dict, Iterator, Set

from jupyter_lease.simulator.app import Simulator
from tests.support.kernel_helpers import KernelSession, Received

from ._core import REPO

__all__ = [
    "BenchKernel",
    "bytecode",
    "kernel",
    "lease_env",
    "pinned",
    "simulator",
    "python_json",
    "stage_msg",
    "thread_cpu_s",
    "value",
    "watch_setup",
]

LEASE_SETUP = """\
%load_ext jupyter_lease
%config JupyterLease.poll_far = "{poll}"
%config JupyterLease.poll_near = "{poll}"
%config JupyterLease.poll_final = "{poll}"
"""


class BenchKernel(KernelSession):
    """A ``KernelSession`` whose kernel writes its stderr to ``stderr_log``, not the terminal."""

    def __init__(self, env: Dict[str, str], stderr_log: IO[bytes]) -> None:
        super().__init__(env=env, stderr=stderr_log)

    @property
    def pid(self) -> int:
        assert self.km is not None and self.km.provisioner is not None
        return int(self.km.provisioner.process.pid)  # type: ignore[attr-defined]


@contextlib.contextmanager
def kernel(env: Dict[str, str]) -> Iterator[BenchKernel]:
    """A started kernel, shut down (killed) when the block ends, whatever happened."""
    with tempfile.TemporaryFile(prefix="bench-kernel-stderr-") as log:
        session = BenchKernel(env, log)
        try:
            session.start()
            yield session
        except BaseException:
            _show_tail(log)
            raise
        finally:
            session.shutdown()


def _show_tail(log: IO[bytes], size: int = 2000) -> None:
    """The end of a kernel's stderr, on ours: what went wrong in there."""
    with contextlib.suppress(OSError):
        log.seek(max(0, log.seek(0, os.SEEK_END) - size))
        lines = log.read().decode("utf-8", "replace").splitlines()
        tail = "\n".join(line for line in lines if "without encryption" not in line).strip()
        if tail:  # ipykernel's warning about TCP without encryption is in every kernel's log
            print(f"--- kernel stderr (last {size} bytes) ---\n{tail}", file=sys.stderr)


@contextlib.contextmanager
def simulator(**options: Any) -> Iterator[Simulator]:
    sim = Simulator(**options).start()
    try:
        yield sim
    finally:
        sim.stop()


@contextlib.contextmanager
def lease_env(sim: Simulator) -> Iterator[Dict[str, str]]:
    """The kernel environment for ``sim`` with a private lease cache directory."""
    with tempfile.TemporaryDirectory(prefix="bench-lease-cache-") as cache:
        yield {**os.environ, **sim.environ(), "JUPYTER_LEASE_CACHE_DIR": cache}


def bytecode() -> None:
    """Compile the package's bytecode, as installing a wheel does. The kernels would otherwise
    compile every module from source on import when ``PYTHONDONTWRITEBYTECODE`` is set (it
    is on these machines), which triples what loading the extension costs and is not what
    users pay (measured: 7 ms instead of 2.5 for ``%load_ext``)."""
    compileall.compile_dir(str(REPO / "jupyter_lease"), quiet=1)


def watch_setup(poll: str) -> str:
    """The cell that loads the extension and sets every poll interval to ``poll``."""
    return LEASE_SETUP.format(poll=poll)


def value(session: KernelSession, code: str, timeout: float = 30.0) -> Any:
    """Run ``code`` in the kernel and return its last line's value (a Python literal)."""
    *body, expr = code.strip().splitlines()
    program = "\n".join([*body, f"print(repr(({expr})))"])
    return ast.literal_eval(session.execute(program, timeout=timeout).stdout.strip())


def _set_affinity(pid: int, cpus: Set[int]) -> None:
    """Every thread of ``pid`` (threads it starts later inherit it)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)


@contextlib.contextmanager
def pinned(kernel_pid: int) -> Iterator[bool]:
    """This process on one CPU and the kernel on another, for the block; yields whether it
    could (2+ CPUs, Linux). Without it, where the scheduler happens to put the two processes
    moves a cell's round trip by several percent, more than the effects being measured."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(allowed) < 2:
        yield False
        return
    try:
        _set_affinity(os.getpid(), {allowed[0]})
        _set_affinity(kernel_pid, {allowed[1]})
        yield True
    finally:
        _set_affinity(os.getpid(), set(allowed))


def thread_cpu_s(pid: int, tid: int) -> float:
    """CPU time (user + system) of one thread of another process, from the scheduler (ns)."""
    with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as fh:
        return int(fh.read().split()[0]) / 1e9


def stage_msg(comm_id: str, stage: str) -> Callable[[Received], bool]:
    """A predicate: a ``comm_msg`` on ``comm_id`` whose state sets ``stage``."""

    def matches(m: Received) -> bool:
        if m.msg_type != "comm_msg" or m.content.get("comm_id") != comm_id:
            return False
        state = (m.content.get("data") or {}).get("state") or {}
        return state.get("stage") == stage

    return matches


def python_json(code: str, timeout: float = 60.0) -> str:
    """Run ``code`` in a fresh interpreter (this one's) from the repo root; its last line."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]

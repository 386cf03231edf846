"""Running Slurm's client commands: bounded in time, one line when they fail, never a traceback.

Each command runs in its own process group with a timeout; on timeout the whole group is
killed (a wrapper script's children too) and the failure is a :class:`SlurmCommandError`.
``SLURM_CONF`` and the rest of the environment pass through; ``SLURM_TIME_FORMAT=%s`` makes
every time an epoch second, whatever the site's locale or time zone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from typing import Dict, Mapping, Optional

from .._errors import APIError

__all__ = ["DEFAULT_TIMEOUT", "SlurmCommandError", "SlurmCommands"]

DEFAULT_TIMEOUT = 10.0  # seconds: squeue answers in milliseconds unless slurmctld is in trouble
_STDERR_KEPT = 200  # characters of a failed command's last stderr line in the message


class SlurmCommandError(APIError):
    """A Slurm command gave no usable answer. ``reason``: ``missing`` (not installed),
    ``timeout`` or ``failed`` (non-zero exit); ``stderr`` is what it said, stripped."""

    def __init__(self, message: str, *, reason: str, stderr: str = "") -> None:
        self.reason = reason
        self.stderr = stderr
        super().__init__(message)


class SlurmCommands:
    """How to run squeue and scontrol here: which ``PATH`` and environment, how long to wait."""

    def __init__(
        self, environ: Optional[Mapping[str, str]] = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.environ: Dict[str, str] = dict(os.environ if environ is None else environ)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SlurmCommands(timeout={self.timeout!r})"

    def which(self, name: str) -> Optional[str]:
        """The command's path on this environment's ``PATH``, or None."""
        return shutil.which(name, path=self.environ.get("PATH", os.defpath))

    def run(self, name: str, *args: str, timeout: Optional[float] = None) -> str:
        """``name args…``'s stdout; :class:`SlurmCommandError` when missing, slow or failing."""
        path = self.which(name)
        if path is None:
            raise SlurmCommandError(f"{name} is not installed here (not on PATH)", reason="missing")
        limit = self.timeout if timeout is None else timeout
        env = dict(self.environ, SLURM_TIME_FORMAT="%s")
        try:
            proc = subprocess.Popen(
                [path, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # a process group of its own: killed whole on timeout
            )
        except OSError as exc:
            message = f"{name} could not be started: {exc}"
            raise SlurmCommandError(message, reason="missing") from None
        return _finish(proc, name, limit)


def _finish(proc: subprocess.Popen, name: str, limit: float) -> str:
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise SlurmCommandError(
            f"{name} did not answer within {limit:g} s (is slurmctld responding?)",
            reason="timeout",
        ) from None
    text = err.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        last = text.splitlines()[-1][:_STDERR_KEPT] if text else "no message"
        raise SlurmCommandError(
            f"{name} failed (exit {proc.returncode}): {last}", reason="failed", stderr=text
        )
    return out.decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.communicate(timeout=5)  # reap it; its pipes close with the group
    except subprocess.TimeoutExpired:  # a grandchild that left the group holds a pipe
        proc.kill()
        proc.wait(timeout=5)

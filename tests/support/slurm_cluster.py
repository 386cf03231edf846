"""A throw-away single-node Slurm cluster for the tests: munged, ``slurmctld -D`` and
``slurmd -D`` as plain background processes under one temp dir, on free ports.

Run as root (Debian's ``slurmctld slurmd slurm-client munge``; no systemd, no cgroups, no
accounting). Clients find it through ``SLURM_CONF`` (:attr:`SlurmCluster.env`); jobs inherit it.
:meth:`SlurmCluster.stop` cancels the cluster's jobs first (a running job outlives a killed
slurmd), then ends only the processes it started, by pid. Facts behind the settings:
``/work/shared/reference/slurm-notes.md``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from .ports import free_port

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo")
# The partition's limit for a job submitted without --time: every job has a deadline.
DEFAULT_TIME_MIN = 30
USER = "jlslurm"  # the ordinary user (no root, not SlurmUser) the fixture creates


def missing_commands() -> List[str]:
    """The Slurm and munge commands this machine lacks (empty: a cluster can start)."""
    found = [shutil.which(name, path=_SBIN_PATH) for name in DAEMONS + CLIENTS]
    return [name for name, path in zip(DAEMONS + CLIENTS, found) if path is None]


_SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])


def _node_line(name: str) -> str:
    """This machine as ``slurmd -C`` sees it, renamed, reachable on 127.0.0.1."""
    out = subprocess.run(
        [_which("slurmd"), "-C"], capture_output=True, text=True, timeout=20, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("NodeName="))
    line = re.sub(r"^NodeName=\S+", f"NodeName={name}", line)
    return f"{line} NodeAddr=127.0.0.1 State=UNKNOWN"


def _which(name: str) -> str:
    path = shutil.which(name, path=_SBIN_PATH)
    if path is None:
        raise RuntimeError(f"{name} is not installed")
    return path


class SlurmCluster:
    """One cluster under ``root``: :meth:`start`, use :attr:`env` for clients, :meth:`stop`."""

    def __init__(self, root: Path, name: str = "jltest") -> None:
        self.root = Path(root)
        self.name = name
        self.node = "jlnode"
        self.conf = self.root / "slurm.conf"
        self.socket = self.root / "munge" / "munge.socket"
        self.out = self.root / "out"  # job output, writable by everyone (ordinary users' jobs)
        self._procs: List[subprocess.Popen] = []
        self._logs: List = []

    @property
    def env(self) -> Dict[str, str]:
        """This process' environment with ``SLURM_CONF`` pointing at the cluster."""
        env = dict(os.environ, SLURM_CONF=str(self.conf))
        env.pop("SLURM_JOB_ID", None)
        env.pop("SLURM_JOBID", None)
        return env

    def start(self, timeout: float = 30.0) -> SlurmCluster:
        self._layout()
        try:
            self._spawn("munged", [_which("munged"), "-F", "-f", *self._munge_args()])
            self._wait(lambda: self.socket.exists(), timeout, "munged's socket")
            self._spawn("slurmctld", [_which("slurmctld"), "-D", "-f", str(self.conf)])
            self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])
            self._wait(self._node_idle, timeout, "the node to be idle")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Cancel this cluster's jobs, wait for them to leave, then TERM (KILL) our pids."""
        if self._procs and all(p.poll() is None for p in self._procs):
            self.run("scancel", "--full", "-p", "debug", check=False)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self._jobs_left():
                time.sleep(0.2)
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for log in self._logs:
            log.close()
        self._procs, self._logs = [], []

    # -- clients ---------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        user: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        check: bool = True,
        timeout: float = 20.0,
    ) -> subprocess.CompletedProcess:
        """A client command against this cluster, as root or (``user``) via ``runuser``."""
        command = list(args)
        if user is not None:
            command = ["runuser", "-u", user, "--", *command]
        return subprocess.run(
            command,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            cwd=str(self.out),
        )

    def sbatch(
        self, script: str, *, time_min: Optional[int] = 5, user: Optional[str] = None, extra=()
    ) -> int:
        """Submit ``script`` (a shell script body); the job id."""
        path = self.out / f"job-{time.monotonic_ns()}.sh"
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(0o755)
        limit = [] if time_min is None else [f"--time={time_min}"]
        args = ["sbatch", "--parsable", "-o", str(self.out / "slurm-%j.out"), *limit, *extra]
        done = self.run(*args, str(path), user=user)
        return int(done.stdout.strip().split(";")[0])

    def job(self, job_id: int) -> Dict[str, str]:
        """``scontrol show job -o``'s fields (``{}`` once the job has left)."""
        done = self.run("scontrol", "show", "job", "-o", str(job_id), check=False)
        if done.returncode != 0:
            return {}
        return dict(
            part.split("=", 1) for part in done.stdout.split() if "=" in part and part[0] != "="
        )

    def end_time(self, job_id: int) -> float:
        """The job's EndTime in epoch seconds (scontrol prints local time without a zone)."""
        env = dict(self.env, SLURM_TIME_FORMAT="%s")
        done = self.run("scontrol", "show", "job", "-o", str(job_id), env=env)
        return float(done.stdout.split("EndTime=")[1].split()[0])

    def wait_state(self, job_id: int, states: Iterable[str], timeout: float = 30.0) -> str:
        """Poll until the job's state is one of ``states``; that state (TimeoutError if not)."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.job(job_id).get("JobState", "")
            if state in wanted:
                return state
            time.sleep(0.2)
        raise TimeoutError(f"job {job_id} is {state or 'gone'}, not {'/'.join(sorted(wanted))}")

    def ensure_user(self, name: str = USER) -> str:
        """An ordinary user for the jobs that must not be root (created once per machine)."""
        if subprocess.run(["id", "-u", name], capture_output=True, timeout=10).returncode != 0:
            done = subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", name],
                capture_output=True,
                text=True,
                timeout=20,
            )
            # Another suite (another Python, in parallel) may have created it meanwhile.
            if done.returncode != 0 and "already exists" not in done.stderr:
                raise RuntimeError(f"useradd {name}: {done.stderr.strip()}")
        return name

    # -- internals -------------------------------------------------------------------------

    def _layout(self) -> None:
        # Ordinary users' jobs need to reach the munge socket and write their output.
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for sub in ("munge", "state", "spool", "log"):
            (self.root / sub).mkdir(mode=0o755, exist_ok=True)
        self.out.mkdir(exist_ok=True)
        self.out.chmod(0o1777)
        key = self.root / "munge" / "munge.key"
        if not key.exists():
            subprocess.run(
                [_which("mungekey"), "-c", "-k", str(key)], check=True, timeout=20, text=True
            )
        key.chmod(0o600)
        self.conf.write_text(self._conf_text())

    def _munge_args(self) -> Sequence[str]:
        munge = self.root / "munge"
        return [
            f"--socket={self.socket}",
            f"--key-file={munge / 'munge.key'}",
            f"--pid-file={munge / 'munged.pid'}",
            f"--seed-file={munge / 'munged.seed'}",
            f"--log-file={self.root / 'log' / 'munged.log'}",
        ]

    def _conf_text(self) -> str:
        r = self.root
        lines = [
            f"ClusterName={self.name}",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "ReturnToService=2",
            # Slurm checks limits every 30 s by default: a job is killed closer to its EndTime.
            "InactiveLimit=0",
            "KillWait=5",
            _node_line(self.node),
            f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE "
            f"DefaultTime={DEFAULT_TIME_MIN} State=UP OverSubscribe=FORCE:8",
        ]
        return "\n".join(lines) + "\n"

    def _spawn(self, name: str, command: List[str]) -> None:
        log = open(self.root / "log" / f"{name}.stdout", "ab")  # noqa: SIM115 (closed in stop)
        self._logs.append(log)
        env = self.env
        self._procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited ({self._log_tail()})")
            if ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"waited {timeout:.0f} s for {what} ({self._log_tail()})")

    def _node_idle(self) -> bool:
        done = self.run("sinfo", "-h", "-o", "%t", check=False, timeout=10)
        return done.returncode == 0 and done.stdout.strip() in ("idle", "mix", "alloc")

    def _jobs_left(self) -> bool:
        done = self.run("squeue", "-h", "-o", "%i", check=False, timeout=10)
        return done.returncode == 0 and bool(done.stdout.strip())

    def _log_tail(self) -> str:
        tails = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(errors="replace").strip().splitlines()[-3:]
            tails.append(f"{path.name}: {' | '.join(text)}")
        return "; ".join(tails)

"""The fault-injection matrix: one case per fault, against the real watcher thread and simulator.

``python -m tests.support.fault_matrix`` runs every case and rewrites ``docs/reliability.md`` from
what was observed; ``tests/test_faults.py`` runs each case in its own test and fails when the case
misbehaves or its row in the document no longer says what happened.

Each case (``tests/support/fault_cases.py``) starts a watcher thread on a healthy lease, arms its
fault and asks for a poll now (``refresh()``, as after an extension). Through the fault the bench
samples the countdown a caller would read and compares it with the simulator's truth; then it
clears the fault and waits, without touching the watcher, for its next scheduled poll.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.modelarts.client import DEFAULT_TIMEOUT
from jupyter_lease.simulator.app import Simulator

from .fault_bench import (
    DEFAULT_SCHEDULE,
    RETRY,
    SCALE,
    TIMEOUT,
    Bench,
    Countdown,
    private_cache_dir,
    stand_in_resolver,
    watched_process,
)
from .fault_cases import CASES, Case

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
WAIT_S = 10.0  # for the polls a case expects; far more than any of them needs
BACKOFF_SLACK_S = 0.5  # how late a failing poll may come after its time on a loaded machine
DRIFT_LIMIT_S = 1.0  # countdown vs truth: the Date header's 1 s resolution, and a round trip
BACKOFF_S = (15.0, 30.0)  # the policy (README): 15 s after the first failure, then doubling
READ_LIMIT_S = 0.3  # one remaining() call: it must never wait for a poll in flight


class NeedsRoot(Exception):
    """The case plants a file owned by another user: only root can."""


@dataclass
class Outcome:
    case: Case
    error: str = ""
    stale: bool = False
    stopped: bool = False
    alive: bool = True  # the watcher thread was still running after the fault
    requests_per_poll: List[int] = field(default_factory=list)
    backoff: List[float] = field(default_factory=list)  # seconds between failing polls
    countdown: Countdown = field(default_factory=Countdown)
    recovered: bool = False
    problems: List[str] = field(default_factory=list)


def run_case(case: Case) -> Outcome:
    if case.needs_root and os.geteuid() != 0:
        raise NeedsRoot(f"{case.name}: needs root to plant a file owned by another user")
    with watched_process() as tracebacks, private_cache_dir(), Simulator(**case.sim_options) as sim:
        sim.set_lease(remaining=2 * 3600)
        bench = Bench(sim, dict(sim.environ()), cached=case.cached)
        with stand_in_resolver(bench):
            bench.build()
            if case.setup:
                case.setup(bench)
            bench.start()
            try:
                out = _observe(case, bench)
            finally:
                bench.watcher.stop()
    out.problems += tracebacks
    return out


def _observe(case: Case, b: Bench) -> Outcome:
    out = Outcome(case, countdown=b.countdown)
    if not b.wait(lambda: b.watcher.snapshot.known, WAIT_S, sample=False):
        out.problems.append(f"the first poll failed: {b.watcher.snapshot.last_error}")
        return out
    polls, b.armed_at, seen = b.watcher.snapshot.polls, len(b.recorder.calls), len(b.events)
    if case.kind == "refused":
        _refusal(case, b, out)
    else:
        case.arm(b)
        b.watcher.refresh()
        through = _through(case, b, polls)
        told = [e.snapshot for e in b.events[seen:] if e.snapshot.stale or e.snapshot.stopped]
        out.error = next((snap.last_error for snap in told), "")
        out.stale, out.stopped = b.watcher.snapshot.stale, b.watcher.snapshot.stopped
        out.alive = b.watcher.running
        out.requests_per_poll = [c.upstream for c in b.armed_calls()[:2]]
        if through is not None:
            out.problems.append(through)
        elif case.verify:
            out.problems += filter(None, [case.verify(b)])
        case.clear(b)  # always: a fault may hold the watcher (a FIFO) until it is cleared
        out.recovered = through is None and _recovered(case, b, time.monotonic())
        calls = b.recorder.calls[b.armed_at :]
        out.backoff = [calls[i + 1].started - calls[i].ended for i in range(min(2, len(calls) - 1))]
    _judge(out)
    return out


def _through(case: Case, b: Bench, polls: int) -> Optional[str]:
    """Wait for the polls made with the fault armed; a problem if they did not come."""
    if case.kind == "stopped":
        # Not sampled: until that poll, the watcher rightly still shows the old deadline.
        b.wait(b.polls_done(polls + 1), WAIT_S, sample=False)
        if not b.wait(lambda: b.watcher.snapshot.stopped, WAIT_S):
            return f"the stop was not noticed within {WAIT_S:.0f} s"
        return None
    wanted = polls + (1 if case.kind == "transparent" else 2)
    if not b.wait(b.polls_done(wanted), WAIT_S):
        return f"the watcher finished no poll for {WAIT_S:.0f} s: it hangs"
    return None


def _recovered(case: Case, b: Bench, cleared_at: float) -> bool:
    """Whether the watcher is back to a fresh lease, by itself, at its next poll."""
    if case.kind == "transparent":
        return not b.watcher.snapshot.stale
    if case.kind == "stopped":  # clear() started a new watcher, as `%lease watch` again does
        b.wait(b.polls_done(1), WAIT_S, sample=False)
    else:
        # The first poll after the fault was cleared must succeed; a corrected clock may cost
        # one more (the offset measured under the wrong clock is wrong now).
        tries = 2 if case.kind == "self-healing" else 1

        def settled() -> bool:
            after = b.finished_since(cleared_at)
            return len(after) >= tries or any(c.ok for c in after)

        b.wait(settled, 2 * WAIT_S)
        if not any(c.ok for c in b.finished_since(cleared_at)[:tries]):
            return False
        b.wait(lambda: not b.watcher.snapshot.stale, 1.0)  # the snapshot follows show()
    snap = b.watcher.snapshot
    return snap.known and not snap.stale and not snap.stopped


def _refusal(case: Case, b: Bench, out: Outcome) -> None:
    lease_before, patches = _sim_lease(b), b.sim.count("PATCH")
    case.arm(b)
    refused = b.refusal
    out.error = "" if refused is None else str(refused)
    try:
        expected: Optional[type] = case.expect() if case.expect else None
    except (ImportError, AttributeError) as exc:
        expected = None
        out.problems.append(f"the refusal's exception class does not exist: {exc}")
    if refused is None:
        out.problems.append("nothing was refused")
    elif expected is not None and not isinstance(refused, expected):
        out.problems.append(f"raised {type(refused).__name__} ({refused}), not {expected.__name__}")
    if "\n" in out.error:
        out.problems.append("the refusal is not one line")
    if b.sim.count("PATCH") != patches or _sim_lease(b) != lease_before:
        out.problems.append(f"the lease was changed upstream: now {_sim_lease(b)}")
    b.countdown.sample(b.watcher, b.truth())
    out.stale, out.alive = b.watcher.snapshot.stale, b.watcher.running
    out.recovered = True  # nothing to recover from


def _sim_lease(b: Bench) -> Dict[str, object]:
    return dict(b.sim.state()["notebooks"][b.sim.notebook_id]["lease"])


def _nominal_backoff() -> List[float]:
    """Seconds between the first failing polls the bench must measure: the documented policy,
    scaled like the schedule (not computed by the schedule, which is what is being checked)."""
    return [seconds / SCALE for seconds in BACKOFF_S]


def _judge(out: Outcome) -> None:
    case, problems, countdown = out.case, out.problems, out.countdown
    if case.user_sees.lower() not in out.error.lower():
        problems.append(f"error line {out.error!r} lacks {case.user_sees!r}")
    if case.kind == "stale" and not out.stale:
        problems.append("not marked stale")
    if case.kind == "stopped" and not out.stopped:
        problems.append("the stop was not noticed")
    if case.kind in ("transparent", "refused") and out.stale:
        problems.append(f"the watcher went stale: {out.error!r}")
    if case.kind == "transparent" and out.error:
        problems.append(f"the user saw a failure: {out.error!r}")
    if case.kind == "self-healing" and (out.stale or out.requests_per_poll != [1, 1]):
        problems.append(f"did not heal at the next poll: {out.requests_per_poll} requests")
    if case.kind == "stale":
        _judge_backoff(out)
    if case.auth and case.kind != "self-healing" and out.requests_per_poll != [1, 1]:
        problems.append(f"auth failure retried: {out.requests_per_poll} requests per poll")
    if case.kind != "stopped" and not out.alive:
        problems.append("the watcher thread ended")
    if countdown.mismatch:
        problems.append(countdown.mismatch)
    if countdown.worst_drift > DRIFT_LIMIT_S:
        problems.append(f"the countdown was {countdown.worst_drift:.1f} s off the true time left")
    if countdown.slowest_read > READ_LIMIT_S:
        problems.append(f"remaining() took {countdown.slowest_read:.2f} s: it waited for a poll")
    if not out.recovered:
        problems.append("did not recover after the fault was cleared")


def _judge_backoff(out: Outcome) -> None:
    nominal = _nominal_backoff()
    measured = [round(x, 3) for x in out.backoff]
    ok = len(measured) == 2 and all(
        want - 0.01 <= got <= want + BACKOFF_SLACK_S for want, got in zip(nominal, measured)
    )
    if not ok:
        out.problems.append(f"backoff {measured} s, not {nominal} s (+ up to {BACKOFF_SLACK_S} s)")


# -- the document ------------------------------------------------------------------------------


def row(out: Outcome) -> str:
    case = out.case
    sees = f"`{_stable(out.error)}`" if out.error else "nothing: polls keep succeeding"
    if case.kind == "self-healing":
        sees += " once, then nothing"
    if case.kind == "stale":
        sees += " · marked stale"
    if case.kind == "refused":
        sees += "; no renewal is sent"
    continued = {
        "stopped": "reaches 0:00; the watch ends",
        "transparent": "yes (never interrupted)",
        "refused": "yes (never interrupted)",
    }.get(case.kind, f"yes (within {DRIFT_LIMIT_S:.0f} s of the true time left)")
    per_poll = "one request per poll, " if case.auth else ""
    first, second = BACKOFF_S
    recovery = {
        "self-healing": "by itself at the next poll (one request per poll)",
        "stopped": "after a restart: `%lease watch` again",
        "transparent": "not needed",
        "refused": "not needed: the lease is unchanged",
    }.get(
        case.kind,
        f"by itself at the next poll once cleared ({per_poll}backoff {first:.0f} s → "
        f"{second:.0f} s)",
    )
    if case.note:
        recovery += f"; {case.note}"
    status = "" if not out.problems else " **FAILED: " + "; ".join(out.problems) + "**"
    return f"| {case.name} | {sees} | {continued} | {recovery}{status} |"


def _client_settings(retry: RetryPolicy, timeout: Tuple[float, float]) -> str:
    return (
        f"`RetryPolicy(attempts={retry.attempts}, base={retry.base:g}, cap={retry.cap:g})`, "
        f"timeouts {timeout[0]:g} s to connect and {timeout[1]:g} s to read"
    )


def preamble() -> str:
    """Everything before the first row: the text, the settings of the run, the table header."""
    drift, default = DRIFT_LIMIT_S, BACKOFF_S[0]
    return f"""# Reliability: what happens when things go wrong

Generated by `python -m tests.support.fault_matrix` from a real run of the watcher thread and
the client against the simulator's fault injection; `tests/test_faults.py` runs each fault in its
own test and fails when this file no longer says what happened. For every fault: no exception
reaches a cell, a thread or a log as a traceback (every `jupyter_lease` log record is captured,
at DEBUG too), nothing is printed, the last known deadline keeps counting (marked stale) within
{drift:.0f} s of the simulator's true time left and `remaining()` answers at once,
authentication failures are never retried in a loop (one request per poll, with backoff — the
gateway locks an AK/SK after 5 failures), and the watcher recovers by itself at its next poll
once the fault is cleared.

Backoff between failing polls starts at {default:.0f} s and doubles up to \
{DEFAULT_SCHEDULE.error_cap / 60:.0f} minutes.

How it ran:

- the watcher's own thread (`Watcher.start()`) on the real clock, every poll interval of its
  schedule divided by {SCALE} (a backoff of {default / SCALE:g} s stands for {default:.0f} s);
- the client: {_client_settings(RETRY, TIMEOUT)}
  (the defaults: {_client_settings(RetryPolicy(), DEFAULT_TIMEOUT)});
- faults of the shared cache through `CachedLeaseSource`, with `JUPYTER_LEASE_CACHE_DIR` in a
  fresh directory.

| fault | what the user sees | countdown continued | recovery |
|---|---|---|---|
"""


# Faults that need a whole Jupyter server (or two) and real kernels: each is proven by the named
# test, which tests/test_faults.py checks exists; the rows say what that test asserts.
ELSEWHERE = [
    ("ModelArts stalled for 4 s, 8 concurrent lease GETs",
     "the GETs share one ShowLease; `/api/kernelspecs` and `/api/status` answer in ms",
     "by itself; at most 2 threads are ever held",
     "tests/test_server.py::test_a_stalled_modelarts_leaves_the_rest_of_jupyter_answering"),
    ("8 concurrent GETs while ModelArts throttles",
     "one upstream read; every GET gets the 502 line; one WARNING in the log",
     "the next GET asks upstream again",
     "tests/test_server.py::test_a_shared_read_that_fails_is_one_log_line_and_the_next_get_retries"),
    ("keep alive while busy: a kernel runs `time.sleep` across 3 would-be stops",
     "\"renewed automatically at HH:MM — t.ipynb was running\" ×3; never past the cap",
     "exactly 3 RenewLease calls, then the lease runs out at the cap",
     "tests/test_busy_server.py::test_a_busy_kernel_is_kept_alive_once_per_step_and_never_past_the_cap"),
    ("keep alive while busy: nothing runs",
     "\"nothing is running: the lease counts down as usual\"",
     "0 RenewLease; the normal warnings, then the stop",
     "tests/test_busy_server.py::test_an_idle_server_lets_the_lease_run_out"),
    ("keep alive while busy: an IDLE lease",
     "\"an IDLE lease stops only when idle: never renewed\"",
     "0 RenewLease",
     "tests/test_busy_server.py::test_an_idle_lease_is_never_renewed"),
    ("keep alive while busy: a 401",
     "the policy turns off with one line (\"ModelArts refused the credentials …; not retried\")",
     "exactly one 401 request; turn it on again after fixing the credentials",
     "tests/test_busy_server.py::test_a_401_turns_the_policy_off_after_one_attempt"),
    ("keep alive while busy: 5 busy kernels on 2 servers",
     "one renewal record per step",
     "1 RenewLease per step",
     "tests/test_busy_server.py::test_five_busy_kernels_on_two_servers_renew_once_per_step"),
    ("keep alive while busy: the server restarts",
     "the policy and its cap are kept",
     "not reset to a new cap from the restart",
     "tests/test_busy_server.py::test_a_restart_keeps_the_policy_and_its_cap"),
    ("Slurm: `squeue` and `scontrol` missing, failing or printing garbage",
     "the last known walltime, stale, with one line (\"squeue is not installed here …\")",
     "the next poll after the commands answer again",
     "tests/slurm/test_slurm_faults.py::test_none_answering_is_stale_one_line_then_recovers"),
    ("Slurm: `squeue` slower than its 10 s timeout",
     "stale, \"did not answer within 10 s\"; the command and its children are killed",
     "the next poll; the text form is not tried after a timeout (one wait per poll)",
     "tests/slurm/test_slurm_faults.py::test_a_slow_command_is_killed_with_its_children"),
    ("Slurm: `squeue --json` broken, the text form works",
     "nothing: the same deadline from `squeue -o` or `scontrol show job`",
     "by itself",
     "tests/slurm/test_slurm_faults.py::test_a_broken_squeue_falls_back"),
    ("Slurm: `squeue` failing while 6 readers wait",
     "one `squeue` call; every reader gets the last deadline, stale",
     "the next reader after the interval asks again",
     "tests/slurm/test_slurm_shared.py::test_a_failing_squeue_is_shared_stale_then_recovers"),
    ("Slurm: an ordinary user extends (Access/permission denied)",
     "no Extend button; `jupyter lease extend` says the site's line, exit 2 (HTTP 403)",
     "nothing is sent to Slurm, never retried; ask the site",
     "tests/slurm/test_slurm_views.py::test_an_ordinary_user_is_refused_in_one_line_with_nothing_sent"),
    ("Slurm: a job without a time limit",
     "\"no time limit\"; never a fake deadline, never extended (`+N` would wrap around)",
     "by itself",
     "tests/slurm/test_slurm_source.py::test_a_job_without_time_limit_is_off_and_never_extended"),
    # Issue 18: each case below failed before its fix.
    ("Slurm: an array task (`%i` prints `1234_7`, `SLURM_JOB_ID` another number), `squeue "
     "--json` failing",
     "the task's own walltime, from `squeue -o '%A …'` or `scontrol show job`; never \"stopped\"",
     "by itself",
     "tests/slurm/test_slurm_array.py::test_an_array_task_reads_its_own_walltime_when_squeue_json_fails"),
    ("Slurm: a heterogeneous job's component (`1234+0`), `squeue --json` failing",
     "\"has not started yet\" while it waits, then its walltime; never \"stopped\"",
     "by itself",
     "tests/slurm/test_slurm_array.py::test_a_heterogeneous_component_is_never_read_as_stopped"),
    ("Slurm: `squeue --json` prints `Infinity`, `NaN`, `1e400` or `1e300` for a time",
     "nothing: the next command's deadline",
     "by itself",
     "tests/slurm/test_slurm_array.py::test_a_number_no_job_has_falls_back_to_the_next_command"),
    ("Slurm: the same, with no other command answering",
     "one line (\"squeue --json gave end_time = inf, not a number Slurm uses\"), exit 1; "
     "never an OverflowError (\"a bug in jupyter_lease\")",
     "the next read",
     "tests/slurm/test_slurm_array.py::test_a_number_no_job_has_is_one_line_from_the_cli"),
    ("Slurm: the server extension in an array task, `squeue --json` failing",
     "the page gets the task's walltime and the server's `c.JupyterLease` settings; "
     "`…/api/doctor` reports Slurm, not a missing notebook id",
     "by itself",
     "tests/slurm/test_slurm_server_array.py::test_a_server_in_an_array_task_serves_its_walltime_settings_and_doctor"),
    ("a lease cache directory its group can write to (a member could plant a FIFO at the lock)",
     "nothing: the lease is read uncached; one server log line (\"… is writable by its group: "
     "chmod g-w …\"); nothing written or believed there",
     "after `chmod g-w` on the directory",
     "tests/test_cache_dir_group.py::test_a_group_writable_cache_dir_is_refused_in_one_line"),
    ("`jupyter lease watch` into a pipe, ModelArts unreachable",
     "one line on stderr (\"ShowLease: connection refused by …\"), exit 1; not \"checking the "
     "lease…\" and exit 0",
     "run it again",
     "tests/test_cli_checks.py::test_watch_into_a_pipe_with_the_simulator_down_exits_1_with_the_error"),
    ("`jupyter lease doctor --check`, not ready",
     "the report, then one line on stderr, exit 1",
     "—",
     "tests/test_cli_checks.py::test_doctor_check_exits_1_when_not_ready_and_0_when_ready"),
    ("doctor in a Slurm job without Slurm's commands",
     "long cells cut between words (\" …\"), never inside one; `SLURM_JOB_ID=1234567` shown, "
     "not masked as `***`",
     "—",
     "tests/test_cli_checks.py::test_doctor_in_a_slurm_job_shows_the_job_id_and_cuts_only_between_words"),
    ("`jupyter lease demo` sent SIGTERM",
     "JupyterLab and its kernel stop (none left in the process table); the temporary folder "
     "is removed; JupyterLab was on a free port, as `--port`'s help says",
     "—",
     "tests/test_demo_stop.py::test_sigterm_stops_jupyterlab_and_its_kernel_and_removes_the_folder"),
    ("`jupyter lease demo --execute` on a user's machine (a real instance)",
     "nothing written into the user's HOME or Jupyter runtime dir: its runtime, IPython and "
     "lease-cache dirs are its own, removed with its folder",
     "—",
     "tests/test_demo_stop.py::test_a_headless_demo_writes_nothing_into_the_users_dirs"),
    ("JupyterHub: a tab left open polls our lease, doctor and keep-alive APIs",
     "nothing: our requests are not activity; the real culler stops the server within one "
     "period + 10 s of the bound shown",
     "by itself",
     "tests/jupyterhub/test_hub_cull.py::test_polling_our_api_does_not_keep_an_abandoned_server_alive"),
    ("JupyterHub: the Hub's API unreachable",
     "the last known bound, stale, with one line (\"the hub at <url>: ConnectionError\")",
     "the next poll",
     "tests/test_jupyterhub_model.py::test_an_unreachable_hub_is_a_stale_reading_in_one_line"),
    ("JupyterHub: `--max-age` but the server's token cannot read its start",
     "the idle bound, with one line naming `read:servers!server` and "
     "`c.Spawner.server_token_scopes`",
     "once the admin adds the scope",
     "tests/jupyterhub/test_hub_max_age.py::test_a_token_that_cannot_read_the_start_says_what_to_add"),
    ("JupyterHub: Extend when the maximum age comes first",
     "one line (HTTP 409, CLI exit 2): \"stops first for the hub's maximum age; cannot be "
     "extended here\"",
     "nothing is sent; the culler stops the server at its maximum age",
     "tests/jupyterhub/test_hub_max_age.py::test_the_maximum_age_is_shown_read_only_and_met"),
]  # fmt: skip


ELSEWHERE_HEADING = (
    "\n## With a Jupyter server, real kernels, a real Slurm and a real JupyterHub\n\n"
)


def elsewhere_section() -> str:
    rows = "".join(
        f"| {fault} | {seen} | {how} | `{test}` |\n" for fault, seen, how, test in ELSEWHERE
    )
    return (
        ELSEWHERE_HEADING
        + "Proven by the named tests (run by `make test`), not by this generator.\n\n"
        + "| fault | what the user sees | recovery | proven by |\n|---|---|---|---|\n"
        + rows
    )


def render(outcomes: List[Outcome]) -> str:
    return preamble() + "".join(row(out) + "\n" for out in outcomes) + elsewhere_section()


def documented_rows(text: str) -> Dict[str, str]:
    """The document's rows by fault name (its first column)."""
    text = text.split(ELSEWHERE_HEADING)[0]  # the generated matrix only
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]  # past the header
    return {line[2:].split(" | ", 1)[0]: line for line in rows}


def _stable(error: str) -> str:
    """The error line without what changes from run to run (request ids, ports)."""
    error = re.sub(r", request id [0-9a-f]+", "", error)
    error = re.sub(r"\(-\d+ ms\)", "(-N ms)", error)  # the exact value drifts by a ms
    return re.sub(r"https?://[\w.-]+:\d+", "<endpoint>", error)


def main() -> int:
    outcomes = []
    for case in CASES:
        try:
            out = run_case(case)
        except NeedsRoot as exc:
            print(f"{exc}; docs/reliability.md left as it was", file=sys.stderr)
            return 2
        print(f"{'FAILED' if out.problems else 'ok':6} {case.name}", *out.problems, sep="\n  ")
        outcomes.append(out)
    DOC.write_text(render(outcomes))
    failed = [o for o in outcomes if o.problems]
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed; wrote {DOC}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

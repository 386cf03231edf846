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
from .fault_elsewhere import ELSEWHERE_HEADING, elsewhere_section

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

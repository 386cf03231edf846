"""Time the widget shows: ``deadline_error_s`` and ``warning_latency_s``.

Both watch a simulator in this process with every poll interval at 1 s. The simulator's clock
is the truth; this process, the kernels and the simulator share one host clock, so shifting
the simulator by +600 s is the same as the kernel's clock being 10 min slow.

The kernel learns the server's clock from ``Date`` headers (whole seconds), so how close its
estimate is depends on where in the second its polls fall. Each sample therefore starts its
observations at a random sub-second moment: the deadline runs restart the watcher after a
random pause, the warning runs use a fresh kernel each.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any, Dict, Iterator, List, Tuple

from tests.support.kernel_helpers import Received

from ._core import Config, Figure, median, wall_to_monotonic
from ._rigs import BenchKernel, kernel, lease_env, simulator, stage_msg, value, watch_setup

POLL = "1s"
RUNTIME = "from jupyter_lease.watch.runtime import get_runtime as _bgr\n"
WATCH = RUNTIME + "_bgr().watch()"
STOP = RUNTIME + "_bgr().stop()"
OFFSET = RUNTIME + "_bgr().watcher().snapshot.clock_offset"
READ_AFTER_S = 2.2  # the first poll after the restart, and two more
SKEW_S = 600.0
CRITICAL_S = 60.0  # the smallest default threshold: the stage turns "critical" there
SPIN = """\
import time as _bt
_bt_end = _bt.monotonic() + {seconds}
while _bt.monotonic() < _bt_end:
    sum(range(1000))
"""


@contextlib.contextmanager
def _watching(sim: Any) -> Iterator[Tuple[BenchKernel, str]]:
    """A kernel running ``%lease watch`` against ``sim`` (its own cache dir); the widget's comm."""
    with lease_env(sim) as env, kernel(env) as session:
        session.execute(watch_setup(POLL) + "%lease watch\n")
        yield session, session.find_widget("AnyModel")


def _sim_deadline(sim: Any) -> float:
    """The simulator's deadline, simulator-clock epoch seconds."""
    lease = sim.state()["notebooks"][sim.notebook_id]["lease"]
    return (lease["create_at"] + lease["duration"]) / 1000


def _kernel_offset(session: BenchKernel) -> float:
    """The kernel's estimate of server clock − its clock, in seconds."""
    return float(value(session, OFFSET) or 0.0)


# -- deadline_error_s -----------------------------------------------------------------------


def _deadline_error(
    sim: Any, session: BenchKernel, comm: str, shift: float, run: int, rng: random.Random
) -> Dict[str, float]:
    """With the watcher off, put the simulator ``shift`` s off this host and renew; restart the
    watcher at a random moment; ``READ_AFTER_S`` later compare the widget with the truth."""
    session.execute(STOP)
    sim.advance(shift - sim.state()["shift"])
    sim.set_lease(remaining=7200.0 + run)  # a new deadline, so the widget has news to send
    time.sleep(1.0 + rng.random())  # > one poll interval: the cached lease is stale by then
    session.execute(WATCH)
    time.sleep(READ_AFTER_S)
    reading = session.widget_state(comm)["reading"]
    # What every view shows: ModelArts' deadline minus the offset measured beside it.
    deadline_ms = reading["deadline_ms"] - reading["clock_offset_ms"]
    truth_host_ms = (_sim_deadline(sim) - shift) * 1000  # the deadline on this host's clock
    return {
        "error": abs(deadline_ms - truth_host_ms) / 1000,
        "offset_error": _kernel_offset(session) - shift,
    }


def deadline_figures(cfg: Config) -> List[Figure]:
    runs = cfg.pick(4, 1)
    rng = random.Random(600)
    samples: Dict[float, List[Dict[str, float]]] = {SKEW_S: [], -SKEW_S: []}
    with simulator(max_date_skew=None) as sim, _watching(sim) as (session, comm):
        for i in range(runs):
            for j, shift in enumerate((SKEW_S, -SKEW_S)):  # kernel clock 10 min slow, then fast
                samples[shift].append(_deadline_error(sim, session, comm, shift, 2 * i + j, rng))
    errors = {shift: [s["error"] for s in rows] for shift, rows in samples.items()}
    worst = max(median(errors[SKEW_S]), median(errors[-SKEW_S]))
    every = errors[SKEW_S] + errors[-SKEW_S]
    return [
        Figure(
            "deadline_error_s",
            round(worst, 3),
            runs,
            "s",
            summary=f"the worse direction's median; samples {_span(every, '.3f')} s "
            f"(kernel clock 10 min slow: {_listed(errors[SKEW_S])}; fast: "
            f"{_listed(errors[-SKEW_S])})",
            details={
                "kernel_clock_slow_10min_s": [round(x, 3) for x in errors[SKEW_S]],
                "kernel_clock_fast_10min_s": [round(x, 3) for x in errors[-SKEW_S]],
                "worst_single_s": round(max(errors[SKEW_S] + errors[-SKEW_S]), 3),
                "offset_estimate_error_s": [
                    round(s["offset_error"], 3) for rows in samples.values() for s in rows
                ],
                "value": "max over the two directions of the median error",
                "read_after_s": READ_AFTER_S,
            },
        )
    ]


def _listed(values: List[float]) -> str:
    return ", ".join(f"{x:.3f}" for x in values)


def _span(values: List[float], spec: str) -> str:
    low, high = format(min(values), spec), format(max(values), spec)
    return low if low == high else f"{low}–{high}"


# -- warning_latency_s ----------------------------------------------------------------------


def _spin_until_critical(
    sim: Any, session: BenchKernel, comm: str, lead: float
) -> Tuple[float, Received, bool]:
    """Make "critical" start ``lead`` s from now while a cell spins. Returns the simulator's
    deadline, the stage message, and whether it came while the cell ran."""
    mark = session.mark()
    sim.set_lease(remaining=CRITICAL_S + lead)
    deadline = _sim_deadline(sim)
    msg_id = session.start_execute(SPIN.format(seconds=lead + 2.0))
    try:
        got = session.wait_for(
            stage_msg(comm, "critical"), since=mark, timeout=lead + 10, what="stage critical"
        )
    finally:
        idle = session.wait_idle(msg_id, since=mark, timeout=lead + 15)
    busy = [
        m.at
        for m in session.messages(since=mark, parent_id=msg_id, msg_type="status")
        if m.content.get("execution_state") == "busy"
    ]
    return deadline, got, bool(busy) and busy[0] < got.at < idle.at


def _warning_latency(sim: Any, lead: float, rng: random.Random) -> Dict[str, Any]:
    """A fresh kernel watching a far-off stop; then the crossing, timed against the truth."""
    sim.set_lease(remaining=7200.0)
    time.sleep(rng.random())  # the kernel's first poll falls at a random sub-second phase
    with _watching(sim) as (session, comm):
        time.sleep(1.5)  # a few polls, as a kernel that has been watching for a while
        deadline, got, during = _spin_until_critical(sim, session, comm, lead)
    shift = sim.state()["shift"]  # 0 here; the simulator's clock is the host's
    truth = wall_to_monotonic(deadline - CRITICAL_S - shift)
    # The kernel stamps every state change with its wall clock (the host's clock too).
    stamped = wall_to_monotonic(got.content["data"]["state"]["kernel_now_ms"] / 1000)
    return {
        "latency": got.at - truth,
        "changed": stamped - truth,
        "transport": got.at - stamped,
        "during_cell": during,
    }


def warning_figures(cfg: Config) -> List[Figure]:
    runs, lead = cfg.pick((5, 3.0), (1, 2.5))
    rng = random.Random(60)
    with simulator() as sim:
        samples = [_warning_latency(sim, lead, rng) for _ in range(runs)]
    latencies = [s["latency"] for s in samples]
    earliest, latest = min(latencies), max(latencies)
    transport = [s["transport"] for s in samples]
    return [
        Figure(
            "warning_latency_s",
            round(max(abs(x) for x in latencies), 3),
            runs,
            "s",
            summary=f"the worst of {runs} sample(s), early or late: earliest {earliest:+.3f} s, "
            f"latest {latest:+.3f} s (negative = early); the message reached the client "
            f"{_span([x * 1000 for x in transport], '.0f')} ms after the kernel's change",
            details={
                "value": "the worst absolute error over the samples (early or late)",
                "samples_s": [round(x, 3) for x in latencies],
                "earliest_s": round(earliest, 3),
                "latest_s": round(latest, 3),
                "median_s": round(median(latencies), 3),
                "kernel_changed_stage_after_s": [round(s["changed"], 3) for s in samples],
                "kernel_to_client_s": [round(s["transport"], 3) for s in samples],
                "all_sent_while_the_cell_ran": all(s["during_cell"] for s in samples),
                "crossing_after_s": lead,
                "spin": "while time.monotonic() < t: sum(range(1000))",
            },
        )
    ]

"""``cell_latency_ratio``: does a running watcher slow down ordinary cells?

One kernel, the extension loaded and the widget shown; 50 blocks of 10 trivial cells
(``pass``) with the watcher running (polling every 2 s: a harsher case than the default 5 min)
alternate with 50 blocks with it stopped (``get_runtime().stop()``), ABAB…: 500 cells each.
Each cell is timed from the client: execute request sent → execute_reply received. This
process and the kernel are pinned to different CPUs meanwhile (the watcher thread shares the
kernel's): unpinned, the ratio wandered between 0.93 and 1.02 from run to run on 2 cores,
pinned, 0.996–1.017 over 13 runs.
"""

from __future__ import annotations

import contextlib
import time
from typing import Dict, List

from ._core import Config, Figure, median
from ._rigs import BenchKernel, kernel, lease_env, pinned, simulator, watch_setup

RUNTIME = "from jupyter_lease.watch.runtime import get_runtime as _bgr\n"
WATCH = RUNTIME + "_bgr().watch()\nassert _bgr().watching"
STOP = RUNTIME + "_bgr().stop()\nassert not _bgr().watching"


def _cell_s(session: BenchKernel, timeout: float = 10.0) -> float:
    kc = session.kc
    started = time.perf_counter()
    msg_id = kc.execute("pass", store_history=False)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if (reply.get("parent_header") or {}).get("msg_id") == msg_id:
            return time.perf_counter() - started


def _block(session: BenchKernel, cells: int) -> List[float]:
    times = [_cell_s(session) for _ in range(cells)]
    session.execute("pass")  # drain: every earlier cell's idle has arrived
    return times


def _measure(session: BenchKernel, blocks: int, per_block: int) -> Dict[str, List[float]]:
    out: Dict[str, List[float]] = {"with": [], "without": []}
    for _ in range(blocks):
        for condition, toggle in (("with", WATCH), ("without", STOP)):
            session.execute(toggle)
            out[condition] += _block(session, per_block)
    return out


def _p95(values: List[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def cell_figures(cfg: Config) -> List[Figure]:
    blocks, per_block = cfg.pick((50, 10), (5, 10))
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(simulator())
        env = stack.enter_context(lease_env(sim))
        session = stack.enter_context(kernel(env))
        session.execute(watch_setup("2s") + "%lease watch\n")
        session.find_widget("AnyModel")
        with pinned(session.pid) as was_pinned:
            _block(session, per_block)  # warm-up, not measured
            polls_before = sim.count("GET", "/lease")
            times = _measure(session, blocks, per_block)
            polls = sim.count("GET", "/lease") - polls_before
    with_ms = median(times["with"]) * 1000
    without_ms = median(times["without"]) * 1000
    p95 = {k: _p95(v) * 1000 for k, v in times.items()}
    return [
        Figure(
            "cell_latency_ratio",
            round(with_ms / without_ms, 4),
            len(times["with"]),
            summary=f"median {with_ms:.3f} ms with the watcher vs {without_ms:.3f} ms without "
            f"(p95 {p95['with']:.2f} vs {p95['without']:.2f} ms), {polls} polls meanwhile"
            + ("" if was_pinned else "; not pinned to CPUs"),
            details={
                "median_ms_with": round(with_ms, 3),
                "median_ms_without": round(without_ms, 3),
                "p95_ms_with": round(p95["with"], 3),
                "p95_ms_without": round(p95["without"], 3),
                "cells_per_condition": len(times["with"]),
                "blocks_per_condition": blocks,
                "cells_per_block": per_block,
                "polls_during_run": polls,
                "pinned": "this process on one CPU, the kernel on another" if was_pinned else False,
                "timed": "client: execute request sent → execute_reply received",
            },
        )
    ]

"""``upstream_calls_ratio_20_vs_1``: ShowLease calls with 20 kernels watching vs with 1.

20 kernels share one simulator and one ``JUPYTER_LEASE_CACHE_DIR``; each loads the extension
with every poll interval at 2 s. All are started (sequentially) before any window opens.
Windows alternate: A = kernel 0 watching alone (the others' watchers stopped), B = all 20
watching, ABAB…. Each window opens one poll interval after the switch.

When the other 19 watchers (re)start for B, each starts at a random moment within one poll
interval (seeded per pair), as kernels started at unrelated times would: starting them
together would line their polls up and flatter the cache. One more pair at the end starts
them evenly spread over the interval instead, the layout the cache handles worst (reported
in the details, not in the figure).

The rate in a window is (calls − 1) / (time from its first call to its last), from the
simulator's request log: counting calls in a fixed window is quantised (±1 call in ~7), the
spacing between calls is not, and a duplicate call still shows (it shortens the spacing).
The figure is the median over the random-phase pairs of rate(B) / rate(A).
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any, Dict, List, Optional

from ._core import Config, Figure, median
from ._rigs import BenchKernel, kernel, lease_env, simulator, watch_setup

POLL_S = 2.0
RUNTIME = "from jupyter_lease.watch.runtime import get_runtime as _bgr\n"
WATCH = RUNTIME + "_bgr().watch()"
STOP = RUNTIME + "_bgr().stop()"

Window = Dict[str, Any]


def _set_watching(kernels: List[BenchKernel], count: int, phases: List[float]) -> None:
    """Exactly the first ``count`` kernels watch. Watchers that are off start at ``phases``
    (seconds from now, one per kernel) and watchers beyond ``count`` stop."""
    for session in kernels[count:]:
        session.execute(STOP)
    started = time.monotonic()
    for session, phase in sorted(zip(kernels[:count], phases), key=lambda kp: kp[1]):
        left = started + phase - time.monotonic()
        if left > 0:
            time.sleep(left)
        session.execute(WATCH)  # a no-op for a watcher already running


def _call_times(sim: Any, start: float, end: float) -> List[float]:
    """Simulator-clock times of ShowLease calls in [start, end)."""
    return sorted(
        r["time"]
        for r in sim.requests()
        if r["method"] == "GET" and r["path"].endswith("/lease") and start <= r["time"] < end
    )


def _window(sim: Any, seconds: float) -> Window:
    start = sim.now()
    time.sleep(seconds)
    calls = _call_times(sim, start, sim.now())
    span = calls[-1] - calls[0] if len(calls) > 1 else 0.0
    rate: Optional[float] = (len(calls) - 1) / span if span > 0 else None
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    return {"calls": len(calls), "rate_per_s": rate, "gaps": gaps}


def _pair(sim: Any, kernels: List[BenchKernel], seconds: float, phases: List[float]) -> Window:
    """A: kernel 0 alone; B: all watching, the others starting at ``phases``."""
    row: Dict[str, Window] = {}
    _set_watching(kernels, 1, [0.0])
    time.sleep(POLL_S)  # settle: the stopped watchers are gone, kernel 0 polls on its own
    row["one"] = _window(sim, seconds)
    _set_watching(kernels, len(kernels), [0.0, *phases])
    time.sleep(POLL_S)  # settle: every watcher has polled since the switch
    row["all"] = _window(sim, seconds)
    return row


def _ratio(row: Window) -> Optional[float]:
    one, all_ = row["one"]["rate_per_s"], row["all"]["rate_per_s"]
    return all_ / one if one and all_ else None


def _gap_summary(rows: List[Window], name: str) -> Dict[str, Optional[float]]:
    """Seconds between consecutive ShowLease calls: min / median / max."""
    gaps = [round(g, 3) for r in rows for g in r[name]["gaps"]]
    if not gaps:
        return {"min": None, "median": None, "max": None}
    return {"min": min(gaps), "median": median(gaps), "max": max(gaps)}


def _start_kernels(stack: contextlib.ExitStack, env: Dict[str, str], n: int) -> List[BenchKernel]:
    kernels = []
    for _ in range(n):
        session = stack.enter_context(kernel(env))
        session.execute(watch_setup(f"{POLL_S:g}s"))
        kernels.append(session)
    return kernels


def upstream_figures(cfg: Config) -> List[Figure]:
    n, pairs, seconds = cfg.pick((20, 3, 12.0), (2, 1, 5.0))
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(simulator())
        env = stack.enter_context(lease_env(sim))
        kernels = _start_kernels(stack, env, n)
        startup_s = time.monotonic() - started
        rows = []
        for i in range(pairs):
            rng = random.Random(i)
            rows.append(_pair(sim, kernels, seconds, [rng.uniform(0, POLL_S) for _ in kernels[1:]]))
        even_phases = [POLL_S * k / n for k in range(1, n)]
        even = _pair(sim, kernels, seconds, even_phases) if not cfg.quick else None
    ratios = [r for r in map(_ratio, rows) if r is not None]
    even_ratio = None if even is None else _round(_ratio(even))
    return [
        Figure(
            "upstream_calls_ratio_20_vs_1",
            round(median(ratios), 4),
            len(ratios),
            summary=f"{n} kernels vs 1, pairs {', '.join(f'{x:.3f}' for x in ratios)}"
            + ("" if even_ratio is None else f"; the {n - 1} others evenly spread: {even_ratio}"),
            details={
                "kernels": n,
                "poll_interval_s": POLL_S,
                "window_s": seconds,
                "pair_ratios": [round(x, 4) for x in ratios],
                "calls_one": [r["one"]["calls"] for r in rows],
                "calls_all": [r["all"]["calls"] for r in rows],
                "gap_s_one": _gap_summary(rows, "one"),
                "gap_s_all": _gap_summary(rows, "all"),
                "evenly_spread_ratio": even_ratio,
                "evenly_spread_gap_s": None if even is None else _gap_summary([even], "all"),
                "kernel_startup_s": round(startup_s, 1),
            },
        )
    ]


def _round(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 4)

"""What keep alive while busy costs ModelArts: RenewLease calls per step, ShowLease calls on/off.

One real ``jupyter_server`` with the extension (``c.JupyterLease`` as in
``tests/test_busy_server.py``: lease reads every second, the policy checks every half second,
a 10 min margin, 1 h steps), one kernel running ``time.sleep``, the simulator as ModelArts with
its clock moved into the margin at each would-be stop (a busy hour takes about two seconds).

- ``busy_renewals_per_step``: RenewLease calls divided by the would-be stops crossed while the
  kernel is busy (goal: exactly 1 — one per step, not one per check, tab or kernel);
- ``busy_showlease_ratio``: ShowLease calls per minute with the policy on (kernel busy) over the
  same with it off, while a page reads the lease every second as a tab does; windows alternate.
  The policy reads through the shared cache, so it adds no upstream reads to what the views
  make anyway (goal ≤ 1.1). Its own cost with nobody reading is in the JSON (at most one read
  per read interval: 1 s here, 5 min / 1 min / 15 s by default).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

from jupyter_lease.simulator.app import Simulator

from ._core import Config, Figure, median

BUSY_KEYS = ["busy_renewals_per_step", "busy_showlease_ratio"]


@contextlib.contextmanager
def _busy_server() -> Iterator[Any]:
    from tests.support.busy import configured, start_busy_kernel
    from tests.support.jupyter import clean_env

    sim = Simulator(max_date_skew=None).start()  # hours of clock moves: no signature skew
    try:
        with tempfile.TemporaryDirectory(prefix="bench-busy-") as root:
            server = configured(Path(root), {**clean_env(), **sim.environ()})
            try:
                server.start()
                start_busy_kernel(server, "train.ipynb")
                yield sim, server
            finally:
                server.stop()
    finally:
        sim.stop()


def _renewals(sim: Any, server: Any, steps: int) -> Dict[str, Any]:
    from tests.support.busy import to_margin, turn_on, wait_for
    from tests.support.factories import renew_calls

    sim.set_lease(remaining=1200)  # 20 min left: the first would-be stop is one clock move away
    turn_on(server, **{"for": f"{steps}h30m"})  # room for exactly `steps` renewals
    before = renew_calls(sim)
    for step in range(1, steps + 1):
        to_margin(sim)
        wait_for(lambda s=step: renew_calls(sim) >= before + s, 20, f"renewal {step}")
        time.sleep(1.0)  # more checks in the margin: they must not renew again
    return {"steps": steps, "renewals": renew_calls(sim) - before}


def _show_rate(sim: Any, seconds: float) -> float:
    from tests.support.factories import show_calls

    start, calls = time.monotonic(), show_calls(sim)
    time.sleep(seconds)
    return (show_calls(sim) - calls) / (time.monotonic() - start) * 60


@contextlib.contextmanager
def _a_tab_reading(server: Any) -> Iterator[None]:
    """What is on anyway while someone works: a page reading the lease every second (the
    server's read interval here), through the server extension and the shared cache."""
    stop = threading.Event()

    def read() -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(Exception):
                server.get("jupyter-lease/api/lease")

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def _show_ratio(sim: Any, server: Any, windows: int, seconds: float) -> Dict[str, Any]:
    from tests.support.busy import turn_on

    sim.set_lease(remaining=8 * 3600)  # far from the margin: the policy only reads
    turn_on(server, **{"for": "12h"})
    alone = _show_rate(sim, seconds)  # the policy with nobody else reading: its own cost
    rows: List[Dict[str, float]] = []
    with _a_tab_reading(server):
        for _ in range(windows):
            turn_on(server, **{"for": "12h"})
            on = _show_rate(sim, seconds)
            server.post("jupyter-lease/api/keep-alive", {"on": False})
            off = _show_rate(sim, seconds)
            rows.append({"on_per_min": round(on, 2), "off_per_min": round(off, 2)})
    ratios = [r["on_per_min"] / r["off_per_min"] for r in rows if r["off_per_min"]]
    return {"windows": rows, "policy_alone_per_min": round(alone, 2),
            "ratio": median(ratios) if ratios else None}  # fmt: skip


def busy_figures(cfg: Config) -> List[Figure]:
    steps = cfg.pick(3, 1)
    windows, seconds = cfg.pick((4, 15.0), (1, 2.0))
    with _busy_server() as (sim, server):
        renewed = _renewals(sim, server, steps)
        shown = _show_ratio(sim, server, windows, seconds)
    per_step = renewed["renewals"] / renewed["steps"]
    rates = shown["windows"]
    return [
        Figure(
            "busy_renewals_per_step",
            per_step,
            renewed["steps"],
            details=renewed,
            summary=f"{renewed['renewals']} RenewLease for {renewed['steps']} would-be stops "
            "crossed while a kernel ran time.sleep",
        ),
        Figure(
            "busy_showlease_ratio",
            None if shown["ratio"] is None else round(shown["ratio"], 3),
            len(rates),
            details=shown,
            summary="ShowLease/min with a tab reading, policy on vs off: "
            + ", ".join(f"{r['on_per_min']}/{r['off_per_min']}" for r in rates)
            + f"; the policy alone (nobody reading): {shown['policy_alone_per_min']}/min",
        ),
    ]

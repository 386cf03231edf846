"""``first_watch_ms``: what the first ``%lease watch`` in a kernel costs, deferred by loading.

Loading the extension registers the magic and its hook only; the first ``%lease watch`` pays
for the rest: importing the watcher, the client, discovery, ``requests`` and the widget
stack, the first read (discovery, credentials, one ShowLease to the simulator on 127.0.0.1)
and the first paint (the widget's comm_open and display_data). Per sample two fresh kernels,
both after ``%load_ext`` in a cell of its own:

- A runs the ``%lease watch`` cell, timed inside the kernel (the figure) and from the client
  (request sent → the widget's display_data received);
- B does the same work in three timed steps (import the modules A's watch imported, one
  read, then ``%lease watch``): the breakdown. Its total is checked against A's in the JSON.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List

from ._core import Config, Figure, median
from ._rigs import bytecode, kernel, lease_env, simulator, value

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

WATCH_CELL = """\
import sys as _bs, time as _bt
_bmods = set(_bs.modules)
_bt0 = _bt.perf_counter()
get_ipython().run_line_magic("lease", "watch")
_bt_ms = (_bt.perf_counter() - _bt0) * 1000
_bnew = sorted(m for m in set(_bs.modules) - _bmods if m.startswith("jupyter_lease"))
"""

# The same work in steps: the imports first (the package's own modules A's watch imported,
# which pull in their dependencies), then one read, then the watch (now only the paint).
STEPPED_CELL = """\
import importlib as _bi, time as _bt
_bt_steps = [_bt.perf_counter()]
for _bm in {modules!r}:
    _bi.import_module(_bm)
_bt_steps.append(_bt.perf_counter())
from jupyter_lease.watch.runtime import get_runtime as _bgr
_bgr().watcher().poll()
_bt_steps.append(_bt.perf_counter())
get_ipython().run_line_magic("lease", "watch")
_bt_steps.append(_bt.perf_counter())
_bt_phases = [round((b - a) * 1000, 2) for a, b in zip(_bt_steps, _bt_steps[1:])]
"""

PHASES = ("import_ms", "first_read_ms", "paint_ms")


def _paint_s(session: Any, code: str) -> float:
    """Run ``code``; from the request to the arrival of the widget's display_data."""
    result = session.execute(code)
    shown = [m.at for m in result.messages if WIDGET_VIEW in m.content.get("data", {})]
    assert shown, "the watch displayed no widget"
    return shown[0] - result.started


def _whole(env: Dict[str, str]) -> Dict[str, Any]:
    with kernel(env) as session:
        session.execute("pass")  # the first cell of a kernel pays for warm-up: not measured
        session.execute("%load_ext jupyter_lease")
        client_s = _paint_s(session, WATCH_CELL)
        return {
            "inside_ms": float(value(session, "_bt_ms")),
            "client_ms": client_s * 1000,
            "modules": value(session, "_bnew"),
        }


def _stepped(env: Dict[str, str], modules: List[str]) -> List[float]:
    with kernel(env) as session:
        session.execute("pass")
        session.execute("%load_ext jupyter_lease")
        _paint_s(session, STEPPED_CELL.format(modules=modules))
        return [float(x) for x in value(session, "_bt_phases")]


def first_watch_figures(cfg: Config) -> List[Figure]:
    runs = cfg.pick(5, 1)
    started = time.monotonic()
    whole: List[Dict[str, Any]] = []
    steps: List[List[float]] = []
    bytecode()
    with simulator() as sim:
        for _ in range(runs):  # A B A B …: the two kinds see the same machine load
            # A cache dir of its own per kernel: the first read goes upstream, as on a
            # machine where no other kernel has read the lease yet.
            with lease_env(sim) as env:
                whole.append(_whole(env))
            with lease_env(sim) as env:
                steps.append(_stepped(env, whole[-1]["modules"]))
    inside = [w["inside_ms"] for w in whole]
    split = {name: median([s[i] for s in steps]) for i, name in enumerate(PHASES)}
    return [
        Figure(
            "first_watch_ms",
            round(median(inside), 1),
            runs,
            "ms",
            summary=f"in-kernel {min(inside):.0f}–{max(inside):.0f} ms over {runs} kernels; "
            f"widget display_data at the client after {median([w['client_ms'] for w in whole]):.0f}"
            f" ms; in steps: import {split['import_ms']:.0f} + first read "
            f"{split['first_read_ms']:.0f} + paint {split['paint_ms']:.0f} ms",
            details={
                "method": "perf_counter around run_line_magic('lease', 'watch') in a fresh "
                "kernel after %load_ext, against the simulator on 127.0.0.1",
                "inside_ms_samples": [round(x, 1) for x in inside],
                "client_to_display_ms_samples": [round(w["client_ms"], 1) for w in whole],
                "steps_ms_median": {k: round(v, 1) for k, v in split.items()},
                "steps_total_ms_samples": [round(sum(s), 1) for s in steps],
                "modules_imported_by_watch": len(whole[-1]["modules"]),
                "wall_s": round(time.monotonic() - started, 1),
            },
        )
    ]

"""``import_pulls_heavy`` and ``load_ext_ms``: what loading jupyter_lease costs a kernel."""

from __future__ import annotations

import json
import os
import time
from typing import Dict, List

from ._core import Config, Figure, median
from ._rigs import BenchKernel, bytecode, kernel, python_json, value

HEAVY = ("ipywidgets", "anywidget", "requests")

IMPORT_PROBE = f"""\
import json, sys, time
t0 = time.perf_counter()
import jupyter_lease
t1 = time.perf_counter()
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"ms": (t1 - t0) * 1000, "heavy": heavy}}))
"""

# One cell: the magic timed inside the kernel; the cell itself is timed from the client too.
LOAD_CELL = """\
import time as _bt
_bt0 = _bt.perf_counter()
get_ipython().run_line_magic("load_ext", "jupyter_lease")
_bt_ms = (_bt.perf_counter() - _bt0) * 1000
"""

HEAVY_AFTER_LOAD = f"sorted(m for m in {HEAVY!r} if m in __import__('sys').modules)"


def import_figures(cfg: Config) -> List[Figure]:
    """Fresh ``python -c`` per run: ``import jupyter_lease``, then look at ``sys.modules``."""
    runs = cfg.pick(5, 2)
    samples = [json.loads(python_json(IMPORT_PROBE)) for _ in range(runs)]
    pulled = sorted({m for s in samples for m in s["heavy"]})
    return [
        Figure(
            "import_pulls_heavy",
            bool(pulled),
            runs,
            summary=f"`import jupyter_lease` in a fresh `python -c`: median "
            f"{median([s['ms'] for s in samples]):.1f} ms; heavy modules it pulled in: "
            f"{', '.join(pulled) or 'none'}",
            details={
                "pulled": pulled,
                "import_ms_median": round(median([s["ms"] for s in samples]), 2),
                "import_ms_samples": [round(s["ms"], 2) for s in samples],
            },
        )
    ]


def _cell_s(session: BenchKernel, code: str) -> float:
    """Client-side time of one cell: execute request sent → idle status received."""
    result = session.execute(code)
    assert result.idle_at is not None
    return result.idle_at - result.started


def _one_kernel() -> Dict[str, float]:
    with kernel(dict(os.environ)) as session:
        session.execute("pass")  # the first cell of a kernel pays for warm-up: not measured
        empty_before = _cell_s(session, "")
        load = _cell_s(session, LOAD_CELL)
        empty_after = _cell_s(session, "")
        inside_ms = float(value(session, "_bt_ms"))
        heavy = value(session, HEAVY_AFTER_LOAD)
    client_ms = (load - (empty_before + empty_after) / 2) * 1000
    return {"inside_ms": inside_ms, "client_ms": client_ms, "heavy": len(heavy)}


def load_ext_figures(cfg: Config) -> List[Figure]:
    """A fresh kernel per run; the magic timed inside it and the cell timed from outside."""
    runs = cfg.pick(7, 2)
    started = time.monotonic()
    bytecode()
    samples = [_one_kernel() for _ in range(runs)]
    inside = [s["inside_ms"] for s in samples]
    client = [s["client_ms"] for s in samples]
    return [
        Figure(
            "load_ext_ms",
            round(median(inside), 2),
            runs,
            "ms",
            summary=f"in-kernel {min(inside):.1f}–{max(inside):.1f} ms over {runs} kernels; "
            f"client-side (cell minus an empty cell) median {median(client):.1f} ms; heavy "
            f"modules loaded by it: {max(s['heavy'] for s in samples)}",
            details={
                "method": "perf_counter around run_line_magic('load_ext') inside a fresh kernel",
                "bytecode": "precompiled, as installed (benchmarks/_rigs.py: bytecode)",
                "inside_ms_samples": [round(x, 2) for x in inside],
                "client_ms_median": round(median(client), 2),
                "client_ms_samples": [round(x, 2) for x in client],
                "client_method": "execute→idle of the load cell minus mean of empty cells",
                "heavy_modules_after_load_ext": max(s["heavy"] for s in samples),
                "wall_s": round(time.monotonic() - started, 1),
            },
        )
    ]

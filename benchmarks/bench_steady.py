"""A lease that does not change, watched for a while: widget traffic and the watcher's CPU.

Two kernels side by side over the same windows: one runs ``%lease watch`` with every poll
interval at 2 s (many polls, so any per-poll message would show), the other the usual
approach, an ``ipywidgets.Label`` a thread rewrites every second. Per window: comm_msgs on
each widget's comm, ShowLease calls the simulator received (proof that polls happened), and
the CPU the watcher thread used (``/proc/<pid>/task/<tid>/schedstat``, nanoseconds).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, Dict, List

from ._core import Config, Figure
from ._rigs import BenchKernel, kernel, lease_env, simulator, thread_cpu_s, value, watch_setup

POLL_S = 2.0
POLLS_PER_HOUR = 60  # the figure is for a 1-minute poll
THRESHOLD_WAKES_PER_HOUR = 5  # 4 thresholds + the stop itself, each costed as a whole poll

NAIVE_TICKER = """\
import threading, time
import ipywidgets
from IPython.display import display

_label = ipywidgets.Label("")
display(_label)
_end = time.time() + 7200

def _tick():
    while True:
        left = int(_end - time.time())
        _label.value = f"{left // 3600} h {left % 3600 // 60:02d} min {left % 60:02d} s left"
        time.sleep(1)

_ticker = threading.Thread(target=_tick, name="naive-ticker", daemon=True)
_ticker.start()
"""


# Instrumentation, not a product change: wrap the watcher's injectable clock to count its
# sleeps; each sleep ends in one wake. Costs a counter increment per wake.
COUNT_WAKES = """\
from jupyter_lease.watch.runtime import get_runtime as _bgr

_bw = _bgr().watcher()

class _CountingClock:
    def __init__(self, inner):
        self.inner, self.waits = inner, 0

    def monotonic(self):
        return self.inner.monotonic()

    def wait(self, event, timeout):
        self.waits += 1
        return self.inner.wait(event, timeout)

_bw._clock = _CountingClock(_bw._clock)
"""
WATCHER_COUNTS = "(_bw._clock.waits, _bw.snapshot.polls)"


@dataclass
class _Sample:
    """Counters read at one instant."""

    at: float
    widget_msgs: int
    naive_msgs: int
    upstream: int
    wakes: int
    polls: int
    watcher_cpu: float
    ticker_cpu: float


@dataclass
class _Rig:
    lease_kernel: BenchKernel
    naive_kernel: BenchKernel
    widget_comm: str
    label_comm: str
    watcher_tid: int
    ticker_tid: int
    sim: Any

    def sample(self) -> _Sample:
        wakes, polls = value(self.lease_kernel, WATCHER_COUNTS)
        return _Sample(
            at=time.monotonic(),
            wakes=int(wakes),
            polls=int(polls),
            widget_msgs=len(self.lease_kernel.comm_msgs(self.widget_comm)),
            naive_msgs=len(self.naive_kernel.comm_msgs(self.label_comm)),
            upstream=self.sim.count("GET", "/lease"),
            watcher_cpu=thread_cpu_s(self.lease_kernel.pid, self.watcher_tid),
            ticker_cpu=thread_cpu_s(self.naive_kernel.pid, self.ticker_tid),
        )


def _window(rig: _Rig, seconds: float) -> Dict[str, float]:
    """Counts over one window (differences of counters)."""
    a = rig.sample()
    time.sleep(seconds)
    b = rig.sample()
    return {
        "seconds": b.at - a.at,
        "widget_msgs": b.widget_msgs - a.widget_msgs,
        "naive_msgs": b.naive_msgs - a.naive_msgs,
        "polls": b.polls - a.polls,
        "upstream": b.upstream - a.upstream,
        "wakes": b.wakes - a.wakes,
        "watcher_cpu_s": b.watcher_cpu - a.watcher_cpu,
        "ticker_cpu_s": b.ticker_cpu - a.ticker_cpu,
    }


def _setup(stack: contextlib.ExitStack) -> _Rig:
    sim = stack.enter_context(simulator())
    env = stack.enter_context(lease_env(sim))
    lease_kernel = stack.enter_context(kernel(env))
    naive_kernel = stack.enter_context(kernel(env))
    lease_kernel.execute(watch_setup(f"{POLL_S:g}s") + "%lease watch\n")
    lease_kernel.execute(COUNT_WAKES)
    widget_comm = lease_kernel.find_widget("AnyModel")
    naive_kernel.execute(NAIVE_TICKER)
    label_comm = naive_kernel.find_widget("LabelModel")
    watcher_tid = int(value(lease_kernel, _TID.format(name="jupyter-lease-watcher")))
    ticker_tid = int(value(naive_kernel, _TID.format(name="naive-ticker")))
    time.sleep(2 * POLL_S)  # past the first polls (discovery, first connection)
    return _Rig(lease_kernel, naive_kernel, widget_comm, label_comm, watcher_tid, ticker_tid, sim)


_TID = "[t.native_id for t in __import__('threading').enumerate() if t.name == {name!r}][0]"


def _total(samples: List[Dict[str, float]], name: str) -> float:
    return sum(s[name] for s in samples)


def steady_figures(cfg: Config) -> List[Figure]:
    """Totals over all windows: a median of windows would read 0/6/0 as 0."""
    windows, seconds = cfg.pick((3, 10.0), (1, 3.0))
    with contextlib.ExitStack() as stack:
        rig = _setup(stack)
        samples = [_window(rig, seconds) for _ in range(windows)]
    upstream = int(_total(samples, "upstream"))
    ticker_cpu_h = 3600 * _total(samples, "ticker_cpu_s") / _total(samples, "seconds")
    return [
        _rate_figure(
            "widget_msgs_per_min_steady",
            samples,
            "widget_msgs",
            f" while the watcher made {upstream} ShowLease calls",
            {"poll_interval_s": POLL_S, "upstream_polls_in_windows": upstream},
        ),
        _rate_figure(
            "naive_ticker_msgs_per_min",
            samples,
            "naive_msgs",
            f"; its thread used {ticker_cpu_h:.2f} s CPU per hour",
            {"ticker_thread_cpu_s_per_hour": round(ticker_cpu_h, 3)},
        ),
        _cpu_figure(samples),
    ]


def _rate_figure(
    key: str, samples: List[Dict[str, float]], name: str, said: str, details: Dict[str, Any]
) -> Figure:
    """Messages per minute over all windows together."""
    total_s = _total(samples, "seconds")
    messages = int(_total(samples, name))
    per_window = [int(s[name]) for s in samples]
    return Figure(
        key,
        round(messages / (total_s / 60), 2),
        len(samples),
        "msg/min",
        summary=f"{messages} messages in {total_s:.0f} s (per window: "
        f"{', '.join(map(str, per_window))}){said}",
        details={
            "value": "messages over all windows / their total time",
            "messages": messages,
            "per_window": per_window,
            "windows_s": [round(s["seconds"], 2) for s in samples],
            "total_s": round(total_s, 1),
            **details,
        },
    )


def _cpu_figure(samples: List[Dict[str, float]]) -> Figure:
    """CPU per poll over all windows (total CPU / total polls), extrapolated to an hour."""
    polls, wakes = int(_total(samples, "polls")), int(_total(samples, "wakes"))
    cpu_per_poll = _total(samples, "watcher_cpu_s") / max(1, polls)
    wakes_per_hour = POLLS_PER_HOUR + THRESHOLD_WAKES_PER_HOUR
    return Figure(
        "watcher_cpu_s_per_hour",
        round(cpu_per_poll * wakes_per_hour, 4),
        len(samples),
        "s/h",
        summary=f"{cpu_per_poll * 1000:.2f} ms CPU per poll over {polls} polls "
        f"({wakes - polls} wakes without a poll), × {wakes_per_hour} wakes an hour",
        details={
            "cpu_ms_per_poll": round(cpu_per_poll * 1000, 3),
            "cpu_ms_per_window": [round(s["watcher_cpu_s"] * 1000, 3) for s in samples],
            "polls_per_window": [int(s["polls"]) for s in samples],
            "wakes_per_window": [int(s["wakes"]) for s in samples],
            "idle_wakes": wakes - polls,
            "measured_poll_interval_s": POLL_S,
            "extrapolation": f"total CPU / total polls × ({POLLS_PER_HOUR} polls + "
            f"{THRESHOLD_WAKES_PER_HOUR} threshold wakes) per hour",
        },
    )

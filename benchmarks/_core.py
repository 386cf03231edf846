"""What every benchmark shares: figures, targets, medians, the machine, the run's settings."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

__all__ = [
    "README",
    "REPO",
    "TARGETS",
    "Config",
    "Figure",
    "Target",
    "machine_info",
    "median",
    "wall_to_monotonic",
]

REPO = Path(__file__).resolve().parent.parent
README = REPO / "benchmarks" / "README.md"

Value = Union[float, bool, None]


@dataclass(frozen=True)
class Target:
    """``op`` is ``"<="`` or ``"=="``; ``None`` marks a baseline with nothing to pass."""

    op: Optional[str]
    limit: Value
    text: str

    def passed(self, value: Value) -> Optional[bool]:
        if self.op is None or value is None:
            return None
        if self.op == "<=":
            return float(value) <= float(self.limit)  # type: ignore[arg-type]
        return value == self.limit


TARGETS: Dict[str, Target] = {
    "load_ext_ms": Target("<=", 5.0, "≤ 5"),
    "first_watch_ms": Target("<=", 300.0, "≤ 300"),
    "busy_renewals_per_step": Target("==", 1.0, "exactly 1"),
    "busy_showlease_ratio": Target("<=", 1.1, "≤ 1.1"),
    "import_pulls_heavy": Target("==", False, "false"),
    "widget_msgs_per_min_steady": Target("<=", 1.0, "≤ 1"),
    "naive_ticker_msgs_per_min": Target(None, None, "(baseline, ≈ 60)"),
    "cell_latency_ratio": Target("<=", 1.02, "≤ 1.02"),
    "watcher_cpu_s_per_hour": Target("<=", 1.0, "≤ 1"),
    "upstream_calls_ratio_20_vs_1": Target("<=", 1.05, "≤ 1.05"),
    "deadline_error_s": Target("<=", 1.0, "≤ 1"),
    "warning_latency_s": Target("<=", 1.0, "≤ 1, early or late"),
    "statusbar_requests_per_tab_hour": Target("<=", 30.0, "≤ 30"),
    "resource_usage_requests_per_tab_hour": Target(None, None, "(baseline, ≈ 720)"),
    "statusbar_tick_cost_ratio": Target("<=", 0.1, "≤ 0.1 (≥ 10× less)"),
    "server_timer_tick_ms_per_min": Target(None, None, "(baseline)"),
    "labextension_js_kb": Target("<=", 40.0, "≤ 40"),
    "lease_api_p99_ms_20_tabs": Target("<=", 20.0, "≤ 20"),
    "lease_api_p99_ratio_20_tabs": Target("<=", 1.1, "≤ 1.1 × api/status p99"),
    "views_agree_after_extend_s": Target("<=", 1.0, "≤ 1"),
}


@dataclass
class Figure:
    """One measured figure: the value (a median unless said otherwise) and how it was obtained."""

    key: str
    value: Value
    runs: int
    unit: str = ""
    details: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None  # set when the benchmark that makes this figure crashed
    summary: str = ""  # one line for the README: the details a reader should see

    @property
    def target(self) -> Target:
        return TARGETS[self.key]

    @property
    def passed(self) -> Optional[bool]:
        return None if self.error else self.target.passed(self.value)

    def to_json(self) -> Dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "runs": self.runs,
            "target": self.target.text,
            "pass": self.passed,
            "error": self.error,
            "summary": self.summary,
            "details": self.details,
        }


@dataclass(frozen=True)
class Config:
    """How much to measure. ``quick`` is the smoke run: every key, small samples."""

    quick: bool = False

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("no samples")
    return float(statistics.median(values))


def wall_to_monotonic(wall: float) -> float:
    """Map an epoch time onto this process's monotonic clock (best of a few paired reads)."""
    best: Optional[float] = None
    spread = float("inf")
    for _ in range(5):
        m0 = time.monotonic()
        w = time.time()
        m1 = time.monotonic()
        if m1 - m0 < spread:
            spread, best = m1 - m0, w - (m0 + m1) / 2
    assert best is not None
    return wall - best


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> Dict[str, Any]:
    import ipykernel

    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    commit = _git("rev-parse", "--short", "HEAD")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 0
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "python": platform.python_version(),
        "ipykernel": ipykernel.__version__,
        "os": f"{platform.system()} {platform.release()}",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": f"{commit}{' + uncommitted changes' if dirty else ''}",
    }

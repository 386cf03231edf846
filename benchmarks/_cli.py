"""The command line: pick the benchmarks, run them one after another, print and save figures,
write the README's results table, and fail when a target is missed."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from ._core import README, TARGETS, Config, Figure, machine_info
from ._report import markdown, verdict, write_readme

Bench = Callable[[Config], List[Figure]]


@dataclass(frozen=True)
class Group:
    """One benchmark: the keys it measures (together, in one rig) and its time bound."""

    name: str
    keys: Sequence[str]
    run: Bench
    limit_s: float  # full run; the quick run gets a third


def _groups() -> List[Group]:
    # Imported here so that `--help` and bad arguments answer without loading jupyter_client.
    from .bench_agree import AGREE_KEYS, agree_figures
    from .bench_busy import BUSY_KEYS, busy_figures
    from .bench_cells import cell_figures
    from .bench_clock import deadline_figures, warning_figures
    from .bench_first_watch import first_watch_figures
    from .bench_import import import_figures, load_ext_figures
    from .bench_statusbar import STATUSBAR_KEYS, statusbar_figures
    from .bench_steady import steady_figures
    from .bench_upstream import upstream_figures

    return [
        Group("import", ["import_pulls_heavy"], import_figures, 60),
        Group("load_ext", ["load_ext_ms"], load_ext_figures, 90),
        Group("first_watch", ["first_watch_ms"], first_watch_figures, 120),
        Group("cells", ["cell_latency_ratio"], cell_figures, 90),
        Group(
            "steady",
            ["widget_msgs_per_min_steady", "naive_ticker_msgs_per_min", "watcher_cpu_s_per_hour"],
            steady_figures,
            120,
        ),
        Group("upstream", ["upstream_calls_ratio_20_vs_1"], upstream_figures, 240),
        Group("deadline", ["deadline_error_s"], deadline_figures, 90),
        Group("warning", ["warning_latency_s"], warning_figures, 120),
        Group("busy", BUSY_KEYS, busy_figures, 180),
        # Builds .venv-bench first if needed (≈ 1 min); then one JupyterLab, many page loads.
        Group("statusbar", STATUSBAR_KEYS, statusbar_figures, 900),
        Group("agree", AGREE_KEYS, agree_figures, 300),
    ]


class BenchTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise ``BenchTimeout`` in the main thread after ``seconds`` (cleanup runs in finally)."""

    def expired(*_: Any) -> None:
        raise BenchTimeout(f"did not finish within {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_group(group: Group, cfg: Config) -> List[Figure]:
    started = time.monotonic()
    print(f"[{group.name}] running …", file=sys.stderr, flush=True)
    limit = group.limit_s / 3 if cfg.quick else group.limit_s
    try:
        with _time_limit(limit):
            figures = group.run(cfg)
    except Exception as exc:  # report it, go on with the others, exit non-zero at the end
        traceback.print_exc(file=sys.stderr)
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        figures = [Figure(key, None, 0, error=error) for key in group.keys]
    elapsed = time.monotonic() - started
    for figure in figures:
        figure.details.setdefault("group_wall_s", round(elapsed, 1))
    print(f"[{group.name}] {elapsed:.1f} s", file=sys.stderr, flush=True)
    return figures


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="jupyter_lease performance figures. Exit status: 0 when every benchmark ran "
        "and met its target, 1 when one crashed or (in a full run) missed its target.",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    parser.add_argument("--only", metavar="KEY[,KEY]", help="measure only these keys")
    parser.add_argument(
        "--quick", action="store_true", help="small samples: a smoke run (targets not enforced)"
    )
    parser.add_argument(
        "--readme",
        metavar="PATH",
        help="write the results table between the markers of this markdown file (default: "
        "benchmarks/README.md after a full run of every key; nothing after --quick or --only)",
    )
    parser.add_argument("--no-readme", action="store_true", help="write no results table")
    args = parser.parse_args(argv)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in keys if k not in TARGETS]
        if unknown:
            parser.error(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
        args.only = keys
    if args.readme is None and not (args.no_readme or args.quick or args.only):
        args.readme = str(README)
    if args.no_readme:
        args.readme = None
    return args


def _measure(cfg: Config, wanted: Sequence[str]) -> Dict[str, Any]:
    """Run the wanted benchmarks; the report as ``--json`` saves it."""
    started = time.monotonic()
    figures: List[Figure] = []
    for group in _groups():
        if any(key in wanted for key in group.keys):
            figures += [f for f in _run_group(group, cfg) if f.key in wanted]
    figures.sort(key=lambda f: list(TARGETS).index(f.key))
    return {
        "machine": machine_info(),
        "quick": cfg.quick,
        "total_s": round(time.monotonic() - started, 1),
        "figures": {f.key: f.to_json() for f in figures},
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    cfg = Config(quick=args.quick)
    report = _measure(cfg, args.only or list(TARGETS))
    print(markdown(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
    if args.readme:
        write_readme(args.readme, report)
        print(f"results written to {args.readme}", file=sys.stderr)
    status, lines = verdict(report)
    for line in lines:
        print(line, file=sys.stderr)
    return status

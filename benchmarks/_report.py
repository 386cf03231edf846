"""A run's figures as markdown, written from the run's JSON report, never copied by hand.

The report is what ``python -m benchmarks --json`` saves: ``{"machine", "quick", "total_s",
"figures": {key: Figure.to_json()}}``. ``write_readme`` puts its table between the ``START`` and
``END`` markers of a markdown file (``benchmarks/README.md`` after a full run) and leaves the
rest of the file alone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple, Union

__all__ = ["END", "START", "markdown", "verdict", "write_readme"]

START = "<!-- results:start -->"
END = "<!-- results:end -->"
NOTICE = (
    "<!-- written by `python -m benchmarks` from the run's JSON report "
    "(benchmarks/_report.py): edits here are overwritten -->"
)

Report = Mapping[str, Any]


def _value(figure: Mapping[str, Any]) -> str:
    if figure.get("error"):
        return f"error: {figure['error']}"
    value = figure.get("value")
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "—"
    number = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f"{number} {figure.get('unit', '')}".strip()


def _verdict(figure: Mapping[str, Any]) -> str:
    if figure.get("error"):
        return "error"
    return {True: "pass", False: "**FAIL**", None: "—"}[figure.get("pass")]


def _run_line(report: Report) -> str:
    m = report["machine"]
    mode = "Quick (smoke) run" if report.get("quick") else "Full run"
    return (
        f"{mode}, {report['total_s']:.0f} s in total · {m['date']} · {m['cpu']}, "
        f"{m['cores']} cores · Python {m['python']}, ipykernel {m['ipykernel']} · {m['os']} · "
        f"commit {m['commit']}"
    )


def markdown(report: Report) -> str:
    """The run line, the table of figures and one line of details per figure."""
    figures: Dict[str, Mapping[str, Any]] = report["figures"]
    lines = [
        _run_line(report),
        "",
        "| key | value | target | pass | runs |",
        "|---|---|---|---|---|",
    ]
    for key, f in figures.items():
        lines.append(f"| `{key}` | {_value(f)} | {f['target']} | {_verdict(f)} | {f['runs']} |")
    notes = [f"- `{key}`: {f['summary']}" for key, f in figures.items() if f.get("summary")]
    return "\n".join(lines + ([""] + notes if notes else []))


def verdict(report: Report) -> Tuple[int, List[str]]:
    """The exit status of a run and the lines that explain it: 1 when a benchmark crashed or,
    in a full run, missed its target (a quick run's samples are too small to hold one against).
    """
    figures = report["figures"].items()
    crashed = [key for key, f in figures if f.get("error")]
    missed = [key for key, f in figures if f.get("pass") is False]
    lines = [f"crashed: {', '.join(crashed)}"] if crashed else []
    if missed:
        said = "missed, not enforced in a quick run" if report.get("quick") else "target missed"
        lines.append(f"{said}: {', '.join(missed)}")
    failed = crashed or (missed and not report.get("quick"))
    return (1 if failed else 0), lines


def write_readme(path: Union[str, Path], report: Report) -> None:
    """Replace what is between the markers in ``path`` with this run's results.

    ``ValueError`` if the file has no marked block; the file is replaced atomically.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no {START} … {END} block for the results")
    block = f"{START}\n{NOTICE}\n\n{markdown(report)}\n\n{END}"
    fd, tmp = tempfile.mkstemp(prefix=".README-", suffix=".md", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text[:start] + block + text[end + len(END) :])
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

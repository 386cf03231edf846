"""The benchmark runner: `python -m benchmarks --quick` produces every key with the smallest
samples and writes its table into a copy of benchmarks/README.md (never the repository's own); a
crash fails any run, a missed target only a full run (a quick run is too short to be fair to
ratios). The full run is `make bench`.

The quick run includes the status-bar benchmark: JupyterLab with the real peers from PyPI in
``.venv-bench`` and Debian's Chromium. The venv is built (once, ≈ 1 min) by a fixture, outside
the test's time limit; without a browser the test is skipped (a failure in CI)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest

from benchmarks._core import TARGETS
from benchmarks._peers import ensure_venv
from benchmarks._report import END, START, markdown, verdict, write_readme
from benchmarks.bench_agree import AGREE_KEYS
from benchmarks.bench_busy import BUSY_KEYS
from benchmarks.bench_statusbar import STATUSBAR_KEYS
from tests.support.browser import missing_browser, require

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "benchmarks" / "README.md"

REPORT = {
    "machine": {
        "cpu": "Test CPU",
        "cores": 2,
        "python": "3.11.7",
        "ipykernel": "7.4.0",
        "os": "Linux 6",
        "date": "2026-01-02 03:04 UTC",
        "commit": "abc1234",
    },
    "quick": False,
    "total_s": 250.0,
    "figures": {
        "load_ext_ms": {"value": 14.8, "unit": "ms", "runs": 7, "target": "≤ 20", "pass": True,
                        "error": None, "summary": "in-kernel 14.3–15.4 ms", "details": {}},
        "warning_latency_s": {"value": 0.4, "unit": "s", "runs": 5, "target": "≤ 1, early or late",
                              "pass": True, "error": None, "summary": "earliest -0.280 s",
                              "details": {}},
    },
}  # fmt: skip


def _block(text: str) -> str:
    return text[text.index(START) : text.index(END) + len(END)]


@pytest.fixture(scope="module")
def bench_venv() -> Path:
    """JupyterLab with jupyter-resource-usage and jupyterlab-server-timer (benchmarks/_peers.py)."""
    require(missing_browser())
    return ensure_venv()


def _quick(keys: Sequence[str], out: Path, *extra: str) -> subprocess.Popen:
    args = ["--quick", "--only", ",".join(keys), "--json", str(out), *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


# Three runs side by side (each mostly waits: for kernels, servers, a browser), about equally
# long: the browser's group, the two that start a server or many kernels, the rest.
SERVERS = [*BUSY_KEYS, "upstream_calls_ratio_20_vs_1"]
BROWSER = [*STATUSBAR_KEYS, *AGREE_KEYS]
RUNS = {
    "browser": BROWSER,
    "servers": SERVERS,
    "rest": [k for k in TARGETS if k not in BROWSER and k not in SERVERS],
}


@pytest.mark.kernel
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_quick_run_reports_every_key_and_writes_a_copy_of_the_readme(tmp_path, bench_venv):
    """Every key with the smallest samples, in ``--only`` runs side by side; a crash fails it."""
    readme = tmp_path / "README.md"
    shutil.copy(README, readme)
    original = README.read_text()
    writes = {"rest": ["--readme", str(readme)]}  # one of them writes the table
    procs = {
        name: _quick(keys, tmp_path / f"{name}.json", *writes.get(name, []))
        for name, keys in RUNS.items()
    }
    try:
        # ≈ 50 s alone; 120 s was not enough beside `make test`'s five other workers on 2 cores
        outputs = {name: proc.communicate(timeout=240) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
    reports = {}
    for name, proc in procs.items():
        stdout, stderr = outputs[name]
        assert proc.returncode == 0, f"{name}: " + stdout[-3000:] + stderr[-2000:]
        reports[name] = json.loads((tmp_path / f"{name}.json").read_text())
        assert markdown(reports[name]) in stdout
    figures = {key: f for report in reports.values() for key, f in report["figures"].items()}
    assert sorted(figures) == sorted(TARGETS)  # every key ...
    assert {k: f["error"] for k, f in figures.items() if f["error"]} == {}  # ... none crashed
    written = readme.read_text()
    assert _block(written) != _block(original)
    assert markdown(reports["rest"]) in _block(written)  # the table comes from the run's JSON
    assert written.replace(_block(written), "") == original.replace(_block(original), "")
    assert README.read_text() == original, "a quick run rewrote the repository's README"


def test_the_results_block_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{START}\nold figures\n{END}\n\nafter\n")
    write_readme(readme, REPORT)
    write_readme(readme, REPORT)  # again: still one block
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert text.count(START) == 1 and "old figures" not in text
    assert "| `warning_latency_s` | 0.4 s | ≤ 1, early or late | pass | 5 |" in text
    assert "- `warning_latency_s`: earliest -0.280 s" in text
    assert "Full run, 250 s in total · 2026-01-02 03:04 UTC · Test CPU, 2 cores · " in text
    assert "Python 3.11.7" in text


def test_a_file_without_the_markers_is_refused(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="results:start"):
        write_readme(readme, REPORT)
    assert readme.read_text() == "# no markers\n"


def test_the_repository_readme_has_the_results_block():
    assert _block(README.read_text()).count(START) == 1


def test_a_missed_target_fails_a_full_run_and_a_crash_fails_any_run():
    assert verdict(REPORT) == (0, [])
    missed = copy.deepcopy(REPORT)
    missed["figures"]["warning_latency_s"].update(value=30.0, **{"pass": False})
    assert verdict(missed) == (1, ["target missed: warning_latency_s"])
    missed["quick"] = True
    assert verdict(missed) == (0, ["missed, not enforced in a quick run: warning_latency_s"])
    crashed = copy.deepcopy(missed)
    crashed["figures"]["load_ext_ms"].update(error="BenchTimeout: did not finish", value=None)
    assert verdict(crashed)[0] == 1
    assert "| error |" in markdown(crashed)


def test_a_request_rate_comes_from_the_spacing_and_needs_two_requests():
    from benchmarks.bench_statusbar import _per_hour

    assert _per_hour([10.0, 130.0, 250.0], 300)["per_hour"] == 30.0  # two 2-min intervals
    assert _per_hour([0.0, 5.0, 10.0], 12)["per_hour"] == 720.0
    # one request (the read at load, where the server pushes): an upper bound, said so
    assert _per_hour([42.0], 300) == {
        "per_hour": 12.0,
        "requests": 1,
        "observed_s": 300,
        "bound": True,
    }
    assert _per_hour([], 300)["per_hour"] is None


def test_only_the_chosen_front_ends_are_enabled_for_the_next_page(tmp_path):
    from types import SimpleNamespace

    from benchmarks._browser import enable_only

    server = SimpleNamespace(root=tmp_path)
    enable_only(server, ["server_timer"])
    enable_only(server, ["ours"])  # every page load gets a whole new choice
    written = json.loads((tmp_path / "config" / "labconfig" / "page_config.json").read_text())
    assert written == {
        "disabledExtensions": {
            "jupyter-lease": False,
            "jupyterlab-server-timer": True,
            "@jupyter-server/resource-usage": True,
        }
    }

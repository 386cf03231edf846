"""The README's main job, headless: `jupyter lease demo --execute` in a real kernel, run the way
people run it — from some other directory, with and without ``--output``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from tests.support.demo import (
    DEMO_TIMEOUT,
    Run,
    assert_demo_ran_clean,
    assert_saved_clean,
    demo_env,
    saved_notebook,
    side_by_side,
)


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Run]:
    """Both runs at once (each is mostly a kernel sleeping through a training loop): without
    ``--output`` from ``/``, and with ``--output`` from an empty folder elsewhere. Each value is
    the finished process, the folder it ran in and its temporary folder."""
    root = tmp_path_factory.mktemp("demo")
    elsewhere, tmpdir = root / "elsewhere", root / "tmp"
    elsewhere.mkdir()
    tmpdir.mkdir()
    output = root / "out" / "demo-executed.ipynb"
    demo = [sys.executable, "-m", "jupyter_lease", "demo", "--execute"]
    commands = {
        "default": (demo, Path("/")),
        "output": ([*demo, "--output", str(output)], elsewhere),
    }
    done = side_by_side(commands, DEMO_TIMEOUT, demo_env(tmpdir))
    return {name: (proc, commands[name][1], tmpdir) for name, proc in done.items()}


@pytest.mark.kernel
@pytest.mark.slow
def test_demo_from_root_without_output(demo_runs):
    proc, _, tmpdir = demo_runs["default"]
    assert_demo_ran_clean(proc)
    assert "The executed notebook is not kept: --output PATH saves it." in proc.stdout
    assert list(tmpdir.glob("jupyter-lease-demo-*")) == []  # its folder is removed


@pytest.mark.kernel
@pytest.mark.slow
def test_demo_with_output_elsewhere_than_the_cwd(demo_runs):
    proc, cwd, _ = demo_runs["output"]
    assert_demo_ran_clean(proc)
    assert_saved_clean(proc)
    saved = saved_notebook(proc)
    assert saved.name == "demo-executed.ipynb" and saved.parent != cwd
    assert (saved.parent / "demo-checkpoint.json").is_file()
    assert list(cwd.iterdir()) == []  # nothing lands in the directory it was run from


def test_demo_without_the_demo_extra_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['nbclient'] = None\n"  # as if not installed: import fails
        "from jupyter_lease.cli.main import main; sys.exit(main(['demo', '--execute']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env=demo_env(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.splitlines() == [
        "jupyter lease: error: the headless demo needs nbclient: pip install 'jupyter_lease[demo]'"
    ]


@pytest.mark.kernel
def test_demo_with_a_kernel_that_dies_says_so_in_one_line(tmp_path):
    spec = tmp_path / "data" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", "raise SystemExit(3)", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "dies", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    env = {**demo_env(tmp_path), "JUPYTER_PATH": str(tmp_path / "data")}  # searched first
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_lease", "demo", "--execute"],
        capture_output=True, text=True, timeout=90, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "the kernel failed: Kernel died before replying to kernel_info" in proc.stdout

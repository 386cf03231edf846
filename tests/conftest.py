"""Suite-wide setup: hermetic dirs per process, the shared fixtures (tests/support/fixtures.py:
the simulator per test or per module), no test leaking a secret, and no skip going unnoticed
(listed at the end; a failure in CI for browser, node and kernel tests)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support import kernel_records
from tests.support.hermetic import ENGLISH, HERMETIC_DIRS, LOCALE_VARS

pytest_plugins = ["tests.support.fixtures"]  # simulator, sim_env, sim: one definition each

# -- hermetic: never the user's own Jupyter ---------------------------------------------------
# Before any test module is imported, this process (each xdist worker on its own) gets a private
# HOME and private Jupyter, IPython and lease-cache dirs; every kernel, server and CLI a test
# starts inherits them. A Jupyter server the user runs meanwhile (a `make demo`, their own lab) is
# invisible to the suite, and nothing the suite does lands in the user's runtime or config dirs.

_hermetic_root: list = []


def pytest_configure(config: pytest.Config) -> None:
    real_home = os.path.expanduser("~")
    root = tempfile.mkdtemp(prefix="jupyter-lease-tests-")
    _hermetic_root.append(root)
    # pip's and npm's download caches are not Jupyter state: the install tests keep using them.
    os.environ.setdefault("PIP_CACHE_DIR", os.path.join(real_home, ".cache", "pip"))
    os.environ.setdefault("npm_config_cache", os.path.join(real_home, ".npm"))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "JUPYTER_PATH"):
        os.environ.pop(name, None)
    for name in LOCALE_VARS:
        os.environ.pop(name, None)
    os.environ.update(ENGLISH)
    for name, folder in HERMETIC_DIRS.items():
        path = os.path.join(root, folder)
        os.makedirs(path, mode=0o700)
        os.environ[name] = path
    # Every kernel started with this IPython dir records jupyter_lease's loud log records.
    os.environ[kernel_records.RECORDS_ENV] = os.path.join(root, "kernel-records")
    os.makedirs(os.environ[kernel_records.RECORDS_ENV], mode=0o700)
    kernel_records.install(os.environ["IPYTHONDIR"])


def pytest_unconfigure(config: pytest.Config) -> None:
    while _hermetic_root:
        shutil.rmtree(_hermetic_root.pop(), ignore_errors=True)


# -- secrets never leave memory ------------------------------------------------------------------
# Every test's captured stdout, stderr and log records, and its failure text, are scanned for
# every key, secret and token a simulator in this process holds or issued. The simulator's
# default AK/SK are scanned even when no simulator is alive (subprocess tests).


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    from jupyter_lease.simulator.app import DEFAULT_AK, DEFAULT_SK, issued_secrets

    outcome = yield
    report = outcome.get_result()
    secrets = set(issued_secrets()) | {DEFAULT_AK, DEFAULT_SK}
    texts = [content for _, content in report.sections]
    if report.longrepr is not None:
        texts.append(report.longreprtext)
    leaked = sorted({s[:4] + "…" for s in secrets for text in texts if s and s in text})
    if leaked and report.passed:
        report.outcome = "failed"
        report.longrepr = f"secret(s) starting {', '.join(leaked)} appeared in this test's output"
    _no_skip_in_ci(item, report)


# -- no silent skips -----------------------------------------------------------------------------
# A missing prerequisite skips a test on a developer's machine (and says so loudly at the end);
# in CI ($CI set) the tests that need a browser, node or a kernel must run, so a skip fails.

GUARDED = ("browser", "node", "kernel", "hub")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("node") and shutil.which("node") is None:
        pytest.skip("needs node (apt-get install nodejs)")


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: reason")
        return str(report.longrepr[2]).replace("Skipped: ", "", 1)
    return str(report.longrepr)


def _no_skip_in_ci(item: pytest.Item, report: pytest.TestReport) -> None:
    guarded = [m for m in GUARDED if item.get_closest_marker(m)]
    if report.skipped and guarded and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but {guarded[0]} tests must run in CI: {_skip_reason(report)}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("!", f"{len(skipped)} TESTS SKIPPED: NOT RUN", red=True, bold=True)
    for report in skipped:
        write(f"SKIPPED {report.nodeid}: {_skip_reason(report)}", yellow=True, bold=True)
    terminalreporter.write_sep(
        "!", "what they need is in each reason; with it installed, they run", red=True, bold=True
    )


@pytest.fixture(autouse=True)
def _private_lease_cache(tmp_path_factory, monkeypatch):
    """Kernels and servers started by a test share a lease cache private to that test.

    Without it they would use the real Jupyter runtime dir, and a later simulator on a reused
    port could read an earlier test's cached lease.
    """
    monkeypatch.setenv("JUPYTER_LEASE_CACHE_DIR", str(tmp_path_factory.mktemp("lease-cache")))


@pytest.fixture(autouse=True)
def _kernels_log_nothing_loud() -> Iterator[None]:
    """A jupyter_lease record at WARNING or above in any kernel during the test fails it (in a
    real kernel it prints into the cell's stderr; tests/support/kernel_records.py)."""
    folder = os.environ[kernel_records.RECORDS_ENV]
    yield
    loud = kernel_records.take(folder)
    if loud:
        shown = " | ".join(loud[:3]) + (f" | … {len(loud) - 3} more" if len(loud) > 3 else "")
        pytest.fail(f"a kernel logged at WARNING or above: {shown}", pytrace=False)


@pytest.fixture
def fake_modelarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Writes a real ``modelarts`` package into tmp_path and puts it on sys.path."""
    root = tmp_path / "site"

    def install(body: str) -> None:
        pkg = root / "modelarts"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "session.py").write_text(textwrap.dedent(body))
        import importlib

        importlib.invalidate_caches()

    monkeypatch.syspath_prepend(str(root))
    for name in ("modelarts", "modelarts.session"):
        sys.modules.pop(name, None)
    yield install
    for name in ("modelarts", "modelarts.session"):
        sys.modules.pop(name, None)

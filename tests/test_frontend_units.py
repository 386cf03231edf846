"""The status item's pure TypeScript functions (src/settings.ts, item-text.ts, warn-due.ts,
keepalive-text.ts), unit-tested under Node's built-in runner (``node --test``) instead of through
Chromium: tests/frontend/*.test.mjs against those modules compiled by the checkout's TypeScript
into a temporary directory (tests/frontend/tsconfig.json), so what runs is what src/ says now.

By hand: ``npx tsc -b && node --test tests/frontend/``. Marked ``node``: skipped without it,
a failure in CI (tests/conftest.py).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "tests" / "frontend"
TSC = ROOT / "node_modules" / "typescript" / "bin" / "tsc"
TEST_FILES = sorted(p.name for p in UNITS.glob("*.test.mjs"))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of tests/frontend beside the pure modules compiled to ``lib/``, as in the checkout."""
    if not TSC.is_file():
        pytest.skip("needs the front end's node_modules (npm ci, or make labextension)")
    root = tmp_path_factory.mktemp("frontend-units")
    out = subprocess.run(
        ["node", str(TSC), "-p", str(UNITS), "--outDir", str(root / "lib")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"tsc failed:\n{out.stdout}{out.stderr}"
    shutil.copytree(UNITS, root / "tests" / "frontend")
    return root


def test_the_unit_tests_are_found() -> None:
    assert len(TEST_FILES) >= 4, TEST_FILES


@pytest.mark.parametrize("name", TEST_FILES)
def test_frontend_units(compiled: Path, name: str) -> None:
    out = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(Path("tests", "frontend", name))],
        cwd=compiled,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"node --test {name} failed:\n{out.stdout[-6000:]}{out.stderr}"
    assert "pass" in out.stdout, out.stdout

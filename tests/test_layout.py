"""The test suite's own house rule: a test module imports only the package and tests/support,
never another test module or a conftest (shared code lives in tests/support, once)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _imported_test_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module or ''}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            last = [part for part in name.split(".") if part][-1:] or [""]
            if last[0].startswith("test_") or last[0] == "conftest":
                yield name


def test_no_test_module_imports_another():
    offenders = {
        str(path.relative_to(ROOT)): sorted(set(_imported_test_modules(path)))
        for path in sorted(TESTS.rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    }
    offenders = {path: names for path, names in offenders.items() if names}
    assert offenders == {}, "import these from tests/support instead"

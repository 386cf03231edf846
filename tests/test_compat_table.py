"""docs/compatibility.md's "Tested in CI" table says what CI runs: checked against ci/compat.sh,
.ci/run and the pins files, so that a change of either side without the other fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

from jupyter_lease.doctor.versions import PIP_WIDGETS_7

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "compatibility.md"


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"docs/compatibility.md has no '## {title}' section"
    return match.group(1)


def _table() -> List[Dict[str, str]]:
    lines = [ln for ln in _section("Tested in CI").splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in ln.strip("|").split("|")))) for ln in lines[2:]]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> Dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[_normalize(name.strip())] = version.strip()
    return pins


def test_pinned_rows_name_exactly_the_pinned_versions() -> None:
    pinned = [row for row in _table() if row["pins"] != "—"]
    assert len(pinned) == 2, pinned
    for row in pinned:
        pins = _pins(ROOT / row["pins"].strip("`"))
        for name, version in re.findall(r"([A-Za-z][\w.-]*) (\d[\w.]*)", row["versions"]):
            assert pins.get(_normalize(name)) == version, (row["pins"], name, version)


def test_pythons_are_the_ones_the_scripts_use() -> None:
    compat = (ROOT / "ci" / "compat.sh").read_text(encoding="utf-8")
    venvs = dict(re.findall(r'make_venv "\$(\w+)_VENV" (\d\.\d+)', compat))
    rows = {row["pins"].strip("`"): row["Python"] for row in _table()}
    assert rows["ci/constraints-py37-modelarts.txt"] == venvs["PY37"]
    assert rows["ci/constraints-lab3.txt"] == venvs["LAB3"]
    assert '-c "$PY37_CONSTRAINTS"' in compat and '-c "$LAB3_CONSTRAINTS"' in compat
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    loop = re.search(r'^CORE_PYTHONS="([\d. ]+)"', ci_run, re.M)
    assert loop, "the core-suite Pythons (CORE_PYTHONS) are gone from .ci/run"
    [core] = [row["Python"] for row in _table() if row["tested"] == "core suite"]
    assert core == ", ".join(loop.group(1).split())


def test_the_known_bad_combination_names_doctors_fix() -> None:
    text = " ".join(_section("Does not work").split())
    assert "model not found" in text and f"`{PIP_WIDGETS_7}`" in text

"""The fault matrix (tests/fault_matrix.py): each fault in its own test, and docs/reliability.md
saying what each one did."""

from __future__ import annotations

import pytest

from jupyter_lease._simulator_faults import FAULTS

from .fault_cases import CASES, NOT_INJECTED, Inject
from .fault_matrix import DOC, NeedsRoot, documented_rows, preamble, row, run_case


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault(case, capfd):
    try:
        outcome = run_case(case)
    except NeedsRoot as exc:
        pytest.skip(str(exc))
    printed = "".join(capfd.readouterr())
    assert outcome.problems == [], outcome
    assert printed == "", f"printed during the case: {printed[-1000:]!r}"
    documented = documented_rows(DOC.read_text()).get(case.name)
    assert documented == row(outcome), (
        "docs/reliability.md is out of date: python -m tests.fault_matrix"
    )


def test_reliability_doc_has_one_row_per_case_in_order():
    text = DOC.read_text()
    rows = documented_rows(text)
    assert list(rows) == [case.name for case in CASES], "python -m tests.fault_matrix"
    assert text == preamble() + "".join(line + "\n" for line in rows.values())


def test_every_fault_the_simulator_can_inject_is_in_the_matrix():
    injected = {case.arm.fault for case in CASES if isinstance(case.arm, Inject)}
    assert set(FAULTS) - injected == set(NOT_INJECTED)
    assert injected <= set(FAULTS)

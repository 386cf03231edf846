"""The fault matrix (tests/support/fault_matrix.py): each fault in its own test, and
docs/reliability.md saying what each one did."""

from __future__ import annotations

import pytest

from jupyter_lease.simulator.faults import FAULTS
from tests.support import fault_matrix
from tests.support.fault_cases import CASES, NOT_INJECTED, Inject
from tests.support.fault_elsewhere import ELSEWHERE
from tests.support.fault_matrix import DOC, NeedsRoot, documented_rows, preamble, row, run_case


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
        "docs/reliability.md is out of date: python -m tests.support.fault_matrix"
    )


def test_reliability_doc_has_one_row_per_case_in_order():
    text = DOC.read_text()
    rows = documented_rows(text)
    assert list(rows) == [case.name for case in CASES], "python -m tests.support.fault_matrix"
    matrix = "".join(line + "\n" for line in rows.values())
    assert text == preamble() + matrix + fault_matrix.elsewhere_section()


def test_every_fault_the_simulator_can_inject_is_in_the_matrix():
    injected = {case.arm.fault for case in CASES if isinstance(case.arm, Inject)}
    assert set(FAULTS) - injected == set(NOT_INJECTED)
    assert injected <= set(FAULTS)


def test_every_fault_proven_elsewhere_names_a_test_that_exists():
    import importlib

    text = DOC.read_text(encoding="utf-8")
    for fault, _seen, _recovery, test in ELSEWHERE:
        path, name = test.split("::")
        module = importlib.import_module(path[: -len(".py")].replace("/", "."))
        assert callable(getattr(module, name, None)), f"{fault}: no test {test}"
        assert f"`{test}`" in text, f"docs/reliability.md does not list {fault}"

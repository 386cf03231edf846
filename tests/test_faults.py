"""The fault matrix (tests/fault_matrix.py): every case green, and docs/reliability.md current."""

from __future__ import annotations

import pytest

from .fault_matrix import CASES, DOC, render, run_case


@pytest.fixture(scope="module")
def outcomes():
    return {case.name: run_case(case) for case in CASES}


def test_at_least_the_faults_the_issue_names():
    assert len(CASES) >= 19


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_fault(outcomes, name, capfd):
    outcome = outcomes[name]
    assert outcome.problems == [], outcome
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_reliability_doc_is_generated_from_this_behaviour(outcomes):
    expected = render([outcomes[case.name] for case in CASES])
    assert DOC.read_text() == expected, "run: python -m tests.fault_matrix"

"""The simulator fixtures, once for the whole suite (loaded by ``pytest_plugins`` in
tests/conftest.py): a real, in-process ModelArts simulator on 127.0.0.1, per test or per module.

Module-scoped fixtures are one per xdist worker and module (``--dist loadfile`` keeps a module's
tests on one worker)."""

from __future__ import annotations

from typing import Any, Dict, Iterator

import pytest

from jupyter_lease.simulator.app import Simulator


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A started simulator on 127.0.0.1 (random port), stopped after the test."""
    sim = Simulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim_env(simulator: Simulator) -> Dict[str, str]:
    """The environment that points jupyter_lease at the ``simulator`` fixture."""
    return simulator.environ()


@pytest.fixture(scope="module")
def sim_options() -> Dict[str, Any]:
    """Keyword arguments for the module's ``sim`` (a module overrides this fixture to change
    them, e.g. ``max_date_skew=None``)."""
    return {}


@pytest.fixture(scope="module")
def sim(sim_options: Dict[str, Any]) -> Iterator[Simulator]:
    """One simulator shared by a module's tests (each sets the lease and faults it needs)."""
    simulator = Simulator(**sim_options).start()
    try:
        yield simulator
    finally:
        simulator.stop()

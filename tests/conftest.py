"""Shared fixtures: a real, in-process ModelArts simulator per test."""

from __future__ import annotations

from typing import Dict, Iterator

import pytest

from jupyter_lease._simulator import Simulator


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

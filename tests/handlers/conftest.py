"""In-process handler tests: jupyter_server's ``ServerApp`` in this process (pytest-jupyter's
``jp_serverapp``) with the jupyter_lease extension, requests through ``jp_fetch``, the simulator
as ModelArts. For a handler's answer only; what needs a real server process (kernels, a token and
base_url on the command line, the extension enabled by its config file) is tests/test_server.py.

pytest-jupyter's fixtures and hooks are imported here, not loaded as a plugin: its autouse
fixtures (an event loop and a ServerApp clean-up per test) then apply to this directory only.
Without pytest-jupyter (the Python 3.7 stack pins jupyter_client 7.3, below what it needs) the
modules here skip with that reason."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Dict, Iterator

import pytest

from jupyter_lease.simulator.app import Simulator
from jupyter_lease.watch.cache import CACHE_DIR_ENV
from tests.support.jupyter import clean_env

with contextlib.suppress(ImportError):  # the py37 stack: test_*.py here skip on their own
    from pytest_jupyter.jupyter_server import *  # noqa: F403 - fixtures and hooks, this dir only


@pytest.fixture
def lease_env(monkeypatch: pytest.MonkeyPatch, sim: Simulator) -> Iterator[Dict[str, str]]:
    """This process's environment as a configured server sees it: the module's simulator only.
    Its faults are cleared before and after."""
    for name in set(os.environ) - set(clean_env()) - {CACHE_DIR_ENV}:  # the test's own cache
        monkeypatch.delenv(name)
    environ = sim.environ()
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    sim.clear_faults()
    yield environ
    sim.clear_faults()


@pytest.fixture
def jp_server_config(lease_env: Dict[str, str]) -> Any:
    """The jupyter_lease extension on (and the lease settings in place before it loads)."""
    from traitlets.config import Config

    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_lease": True}}})


@pytest.fixture
def lease_service(jp_serverapp: Any) -> Any:
    """The in-process server's LeaseService (what jupyter_lease's extension app started)."""
    (app,) = jp_serverapp.extension_manager.extension_apps["jupyter_lease"]
    assert app.started is not None, "the jupyter_lease extension did not start"
    return app.started.service

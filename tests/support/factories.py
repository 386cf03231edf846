"""The lease client and the cached source the tests build against a simulator, and the counts
of what reached it."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from jupyter_lease.modelarts.cached import CachedLeaseSource
from jupyter_lease.modelarts.client import LeaseClient
from jupyter_lease.modelarts.credentials import resolve_credentials
from jupyter_lease.modelarts.discovery import discover
from jupyter_lease.simulator.app import Simulator


class Sleeps(list):
    """An injected sleep: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(
    sim: Simulator, env_overrides: Optional[Dict[str, str]] = None, **kw: Any
) -> LeaseClient:
    """A client for ``sim`` whose retries do not wait (``sleep`` records, ``jitter`` is fixed)."""
    env = {**sim.environ(), **(env_overrides or {})}
    location = discover(environ=env)
    creds = resolve_credentials(environ=env, use_metadata=False)
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("jitter", lambda: 0.5)
    return LeaseClient(location, creds, **kw)


def make_source(sim: Simulator, directory: Any, **kw: Any) -> CachedLeaseSource:
    """A cached lease source for ``sim`` whose cache file lives in ``directory``."""
    env = sim.environ()
    client_kw = {k: kw.pop(k) for k in ("retry", "timeout") if k in kw}
    client = LeaseClient(
        discover(environ=env), resolve_credentials(environ=env, use_metadata=False), **client_kw
    )
    return CachedLeaseSource(client, directory=str(directory), **kw)


def read_file(source: CachedLeaseSource) -> Dict[str, Any]:
    """The source's cache file, parsed."""
    with open(source.path, encoding="utf-8") as fh:
        return json.load(fh)


def show_calls(sim: Simulator) -> int:
    """ShowLease requests the simulator has answered."""
    return sim.count(method="GET", path_suffix="/lease")


def renew_calls(sim: Simulator) -> int:
    """RenewLease requests the simulator has answered."""
    return sim.count(method="PATCH", path_suffix="/lease")

"""The one LeaseSource contract (core/reading.py), pinned: every caller uses it and probes
nothing (no ``hasattr`` on a source or client), ``watch/`` imports no provider, and every
provider's source honours "read never raises for a failure upstream" against real peers (the
ModelArts simulator, an unreachable hub): a stale reading, its error one line, no secret."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

from jupyter_lease._errors import (
    APIError,
    DurationError,
    ExtendRefusedError,
    NotRunningError,
    ServerError,
)
from jupyter_lease.core import LeaseSource
from jupyter_lease.core.reading import failure
from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.jupyterhub.config import settings_from
from jupyter_lease.jupyterhub.source import HubSource
from jupyter_lease.slurm.source import SlurmSource
from jupyter_lease.watch.cache import CachedSource
from jupyter_lease.watch.providers import MODULES
from tests.support.checks import assert_no_secret
from tests.support.factories import make_client, make_source

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_lease"
PROVIDER_PACKAGES = {name.split(".")[1] for name in MODULES.values()}  # modelarts, slurm, …
# Capability checks still owned by another change: none (server/busy.py is on extend_if).
NOT_YET: Dict[str, int] = {}


def _modules() -> Iterator[Path]:
    yield from sorted(PACKAGE.rglob("*.py"))


def _probes(tree: ast.AST) -> Iterator[ast.Call]:
    """``hasattr(x, "…")`` on anything but the ``os`` module (a platform check), and
    ``getattr(x, "…", default)`` on a source, client or watcher."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        target = node.args[0] if node.args else None
        name = target.id if isinstance(target, ast.Name) else ""
        if node.func.id == "hasattr" and name != "os":
            yield node
        if node.func.id == "getattr" and len(node.args) == 3 and name in _SOURCES:
            yield node


_SOURCES = {"source", "client", "inner", "watcher"}


def test_no_capability_is_probed_on_a_source_or_client() -> None:
    found: Dict[str, int] = {}
    for path in _modules():
        probes = list(_probes(ast.parse(path.read_text(encoding="utf-8"))))
        if probes:
            found[str(path.relative_to(PACKAGE))] = len(probes)
    assert found == NOT_YET, "use the LeaseSource contract (core/reading.py), not hasattr"


def _imports(path: Path) -> Iterator[str]:
    package = "jupyter_lease.watch"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def test_watch_imports_no_provider_and_names_them_in_one_table() -> None:
    for path in sorted((PACKAGE / "watch").glob("*.py")):
        provider_imports = [
            name
            for name in _imports(path)
            if name.split(".")[1:2] and name.split(".")[1] in PROVIDER_PACKAGES
        ]
        assert provider_imports == [], f"{path.name} imports a provider"
        if path.name == "providers.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not [p for p in PROVIDER_PACKAGES if p in text], f"{path.name} names a provider"


def _sources(simulator) -> Dict[str, Callable[[], LeaseSource]]:
    hub = settings_from(
        {
            "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",  # nothing listens
            "JUPYTERHUB_API_TOKEN": "0123456789abcdef0123456789abcdef",
            "JUPYTERHUB_USER": "alice",
            "JUPYTER_LEASE_CULL_TIMEOUT": "1h",
        }
    )
    return {"modelarts": lambda: make_client(simulator), "jupyterhub": lambda: HubSource(hub)}


def test_every_provider_source_and_the_cache_are_lease_sources(simulator, tmp_path) -> None:
    built: List[object] = [make_client(simulator), make_source(simulator, tmp_path)]
    built += [SlurmSource("42"), CachedSource(SlurmSource("42"), directory=str(tmp_path))]
    built += [_sources(simulator)["jupyterhub"]()]
    assert [type(s).__name__ for s in built if not isinstance(s, LeaseSource)] == []
    identities = {s.identity() for s in built}  # type: ignore[attr-defined]
    assert len(identities) == 3 and all(":" in i for i in identities)  # one key per lease


FAULTS = ["500", "401", "403", "drop", "malformed_json", "not_running"]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("cached", [False, True], ids=["client", "cached"])
def test_modelarts_read_never_raises_for_a_fault(simulator, tmp_path, fault, cached) -> None:
    once = RetryPolicy(attempts=1)
    source = (
        make_source(simulator, tmp_path, retry=once)
        if cached
        else make_client(simulator, retry=once)
    )
    good = source.read()
    assert good.kind == "timed" and not good.stale and good.extra["lease"]["type"] == "TIMING"
    simulator.inject(fault, count=2)  # the read, and ShowNotebook's confirmation of a stop
    with source.fresh() if cached else _nothing():
        stale = source.read()
    assert stale.stale and stale.kind == "timed" and stale.deadline == good.deadline
    assert stale.error and "\n" not in stale.error
    assert_no_secret(stale.error, repr(stale.extra), sim=simulator)
    again = failure(stale)  # the error itself, for an exit code or an HTTP status
    assert isinstance(again, APIError) and str(again) == stale.error
    if fault == "not_running":  # ShowNotebook still says RUNNING: not a stop, one odd answer
        assert isinstance(again, NotRunningError)


def test_a_hub_that_cannot_be_reached_is_a_stale_reading(simulator) -> None:
    source = _sources(simulator)["jupyterhub"]()
    reading = source.read()
    assert reading.stale and reading.error and "\n" not in reading.error
    assert_no_secret(reading.error, secrets=["0123456789abcdef0123456789abcdef"])


def test_modelarts_extend_reports_upstream_failures_and_raises_mistakes(simulator) -> None:
    client = make_client(simulator, retry=RetryPolicy(attempts=1))
    simulator.set_lease(remaining=2 * 3600)
    with pytest.raises(DurationError):
        client.extend(600)  # below RenewLease's 1 h: nothing sent
    with pytest.raises(ExtendRefusedError, match="sooner"):
        client.extend(3600)  # 2 h left: 1 h would shorten it (Extend never shortens)
    simulator.inject("500", count=1, path="/lease")
    failed = client.extend(3 * 3600, force=True)  # the PATCH fails upstream: no exception
    assert failed.stale and isinstance(failure(failed), ServerError)
    assert "ModelArts.6102" in (failed.error or "")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

"""The one way to build a lease source: the kernel runtime, the server extension and the CLI all
call :func:`build_source`, so they all read through the machine-wide cache and count alike.

A provider turns settings into an uncached :class:`~jupyter_lease.core.LeaseSource`; this module
builds the one :func:`.providers.choose` picks (ModelArts, JupyterHub or Slurm) and puts the
shared cache in front: ModelArts' own (:mod:`.cache`), any other's the provider-neutral one
(:mod:`.shared`).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..core.schedule import PollSchedule
from .cacheslot import ScheduleLike

__all__ = ["build_source", "lease_identity"]


def build_source(
    location: Optional[Mapping[str, Optional[str]]] = None,
    *,
    provider: Optional[str] = None,
    schedule: ScheduleLike = PollSchedule(),
    cached: bool = True,
    environ: Optional[Mapping[str, str]] = None,
) -> Any:
    """The lease source for these explicit settings (unset ones are discovered), behind the
    shared cache unless ``cached`` is False. ``provider``: modelarts | jupyterhub | slurm |
    auto (None:
    ``$JUPYTER_LEASE_PROVIDER``, else auto). ``schedule`` (or a function giving the current one)
    decides how long a cached reading stays fresh. Raises ``ConfigurationError`` (one line)
    when nothing can be discovered or the provider's name is unknown."""
    from .providers import choose

    choice = choose(provider, location, environ)
    if choice.provider == "slurm":
        return _slurm(schedule, cached, environ)
    if choice.provider == "jupyterhub":
        return _jupyterhub(schedule, cached, environ)
    if choice.error is not None:
        raise choice.error
    from ..modelarts.client import LeaseClient
    from ..modelarts.discovery import discover
    from .cache import CachedLeaseSource

    explicit = {key: value for key, value in (location or {}).items() if value}
    found = (choice.location or discover(environ=environ, **explicit)).require()
    credentials = None  # LeaseClient resolves them from os.environ
    if environ is not None:
        from ..modelarts.credentials import resolve_credentials

        where = {"region": found.region.value, "project_id": found.project_id.value}
        credentials = resolve_credentials(environ=environ, **where)
    client = LeaseClient(found, credentials)
    return CachedLeaseSource(client, schedule=schedule) if cached else client


def _slurm(schedule: ScheduleLike, cached: bool, environ: Optional[Mapping[str, str]]) -> Any:
    from ..slurm.source import SlurmSource

    return _shared(SlurmSource.from_environ(environ), schedule, cached, environ)


def _jupyterhub(schedule: ScheduleLike, cached: bool, environ: Optional[Mapping[str, str]]) -> Any:
    from ..jupyterhub.source import HubSource

    return _shared(HubSource.from_environ(environ), schedule, cached, environ)


def _shared(
    source: Any, schedule: ScheduleLike, cached: bool, environ: Optional[Mapping[str, str]]
) -> Any:
    from .cachedata import cache_dir
    from .shared import SharedSource

    if not cached:
        return source
    return SharedSource(
        source, key=source.source_id, schedule=schedule, directory=cache_dir(environ)
    )


def lease_identity(source: Any) -> str:
    """Which lease ``source`` serves, as one key: ``modelarts:<notebook id>@<endpoint host>``
    for ModelArts (the client or its cache), else the provider's own ``source_id``
    (``slurm:<cluster>:<job id>``). Keep alive while busy files its state under it, its server
    answers it over HTTP, and ``keep_alive()`` in a kernel registers only with a server whose
    identity is its own. No secret in it."""
    notebook = getattr(source, "notebook_id", None)
    if isinstance(notebook, str) and notebook:
        from urllib.parse import urlsplit

        endpoint = str(getattr(source, "endpoint", "") or "").strip().rstrip("/").lower()
        host = urlsplit(endpoint).netloc or endpoint
        return f"modelarts:{notebook.lower()}@{host}"
    inner = getattr(source, "source", None)  # watch.shared.SharedSource: the wrapped source
    key = getattr(inner if inner is not None else source, "source_id", None)
    if isinstance(key, str) and key:
        return key
    raise TypeError(f"no lease identity for {type(source).__name__}")

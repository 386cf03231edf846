"""ModelArts in the provider registry (:mod:`jupyter_lease.watch.providers`): whether this
machine is a ModelArts notebook, its :class:`~.client.LeaseClient` (the LeaseSource), and that
client behind the shared cache."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .._errors import ConfigurationError
from ..watch.providers import NOT_FIRST, Choice

__all__ = ["build", "cached", "detect", "fallback"]


def detect(env: Mapping[str, str], location: Mapping[str, Optional[str]]) -> Optional[Choice]:
    """ModelArts, when its discovery finds a notebook (no network: local files and variables)."""
    from .discovery import discover

    try:
        found = discover(environ=env, **location).require()
    except ConfigurationError:
        return None
    return Choice("modelarts", "auto: ModelArts discovery found the notebook", location=found)


def fallback(env: Mapping[str, str], location: Mapping[str, Optional[str]]) -> Choice:
    """When no provider claims the machine: ModelArts, with the error that says what to set."""
    from .discovery import discover

    why = f"{NOT_FIRST}, not in a JupyterHub server, and SLURM_JOB_ID is not set"
    try:
        discover(environ=env, **location).require()
    except ConfigurationError as exc:
        return Choice("modelarts", why, error=exc)
    return Choice("modelarts", why)


def build(
    choice: Choice, location: Mapping[str, Optional[str]], environ: Optional[Mapping[str, str]]
) -> Any:
    """The :class:`~.client.LeaseClient` for the discovered (or explicit) location."""
    if choice.error is not None:
        raise choice.error
    from .client import LeaseClient
    from .discovery import discover

    found = (choice.location or discover(environ=environ, **location)).require()
    credentials = None  # LeaseClient resolves them from os.environ
    if environ is not None:
        from .credentials import resolve_credentials

        where = {"region": found.region.value, "project_id": found.project_id.value}
        credentials = resolve_credentials(environ=environ, **where)
    return LeaseClient(found, credentials)


def cached(source: Any, *, schedule: Any, directory: Optional[str]) -> Any:
    """``source`` behind the shared cache, with ModelArts' own calls kept (``cached.py``)."""
    from .cached import CachedLeaseSource

    return CachedLeaseSource(source, schedule=schedule, directory=directory)

"""Which provider owns "this machine's lease", and why; and the one table that names them.

The setting comes from the first of: an argument (``--provider``, ``c.JupyterLease.provider``),
``$JUPYTER_LEASE_PROVIDER``, else ``auto``. ``auto`` asks the providers in :data:`AUTO`'s order
(each ``detect`` looks at the environment only, no network):

1. ModelArts, when its discovery finds a notebook (its variables are specific to it);
2. JupyterHub, inside a single-user server (``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``
   and ``JUPYTERHUB_USER`` set). Before Slurm: a batchspawner server runs inside a Slurm job
   too, and there the hub's idle culler (minutes) usually stops it long before the walltime;
   setting the provider to Slurm reads the walltime from the scheduler instead;
3. Slurm, inside a job (``SLURM_JOB_ID``);
4. JupyterHub's timer mode, when only jupyterlab-server-timer's ``JOB_START_TIME`` and
   ``JOB_RUN_TIME`` are set (e.g. an Open OnDemand app);
5. else :data:`DEFAULT`'s ``fallback``, whose one-line "not found" error then says what to set.

The package ``watch/`` imports no provider: :data:`MODULES` names each provider's module, which
is imported only when that provider is asked (:func:`provider_module`). Each such module has
``detect(env, location)`` (a :class:`Choice` or None), ``build(choice, location, environ)`` (its
uncached :class:`~jupyter_lease.core.LeaseSource`) and ``cached(source, schedule=, directory=)``
(that source behind the shared cache). Adding a provider is one entry in each table below.

:func:`choose` never raises but for a bad provider name: ``doctor`` shows the choice and its
reason whatever happened.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Mapping, Optional, Tuple

from .._errors import ConfigurationError, LeaseError

__all__ = [
    "AUTO",
    "MODULES",
    "NOT_FIRST",
    "PROVIDERS",
    "PROVIDER_ENV",
    "Choice",
    "choose",
    "provider_module",
    "provider_setting",
    "shared_cache",
]

# The one place watch/ names provider packages: resolved lazily, by provider_module().
MODULES = {
    "modelarts": "jupyter_lease.modelarts.provider",
    "jupyterhub": "jupyter_lease.jupyterhub.provider",
    "slurm": "jupyter_lease.slurm.provider",
}
# auto's order: (provider, the function of its module that may claim the machine).
AUTO: Tuple[Tuple[str, str], ...] = (
    ("modelarts", "detect"),
    ("jupyterhub", "detect"),
    ("slurm", "detect"),
    ("jupyterhub", "detect_timer"),
)
DEFAULT = "modelarts"  # its ``fallback(env, location)`` when none claims the machine
NOT_FIRST = "auto: no ModelArts notebook found"  # why any provider after the first was chosen

PROVIDERS: Tuple[str, ...] = (*MODULES, "auto")
PROVIDER_ENV = "JUPYTER_LEASE_PROVIDER"


@dataclass(frozen=True)
class Choice:
    """``provider`` (a key of :data:`MODULES`), ``why`` in words, and what choosing found on
    the way: the provider's discovered location, or the error that rules it out (raised when
    built)."""

    provider: str
    why: str
    location: Any = None
    error: Optional[LeaseError] = None


def shared_cache(source: Any, *, schedule: Any, directory: Optional[str]) -> Any:
    """``source`` behind the machine-wide cache: a provider module's ``cached`` when its
    source needs nothing more (``cached = shared_cache``)."""
    from .cache import CachedSource

    return CachedSource(source, schedule=schedule, directory=directory)


def provider_module(name: str) -> ModuleType:
    """The module of provider ``name`` (imported now, once)."""
    return importlib.import_module(MODULES[name])


def provider_setting(
    provider: Optional[str] = None, environ: Optional[Mapping[str, str]] = None
) -> Tuple[str, str]:
    """``(name, where it came from)``; :class:`ConfigurationError` (one line) for a bad name."""
    env = os.environ if environ is None else environ
    if provider is not None and str(provider).strip():
        value, origin = str(provider), "the provider setting"
    elif env.get(PROVIDER_ENV, "").strip():
        value, origin = env[PROVIDER_ENV], PROVIDER_ENV
    else:
        return "auto", "the default"
    name = value.strip().lower()
    if name not in PROVIDERS:
        shown = " ".join(value.split())[:40]
        names = ", ".join(PROVIDERS[:-1])
        raise ConfigurationError(
            f"unknown provider {shown!r} (from {origin}): use {names} or {PROVIDERS[-1]}"
        )
    return name, origin


def choose(
    provider: Optional[str] = None,
    location: Optional[Mapping[str, Optional[str]]] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Choice:
    """The provider for these settings and why (see the module's docstring)."""
    env = os.environ if environ is None else environ
    name, origin = provider_setting(provider, env)
    if name != "auto":
        return Choice(name, f"set by {origin}")
    explicit = {key: value for key, value in (location or {}).items() if value}
    for name, detector in AUTO:
        found = getattr(provider_module(name), detector)(env, explicit)
        if found is not None:
            return found
    return provider_module(DEFAULT).fallback(env, explicit)

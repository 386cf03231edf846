"""Which provider owns "this machine's lease": ModelArts, JupyterHub or Slurm, and why.

The setting comes from the first of: an argument (``--provider``, ``c.JupyterLease.provider``),
``$JUPYTER_LEASE_PROVIDER``, else ``auto``. ``auto`` picks, in this order:

1. ModelArts, when its discovery finds a notebook (its variables are specific to it);
2. JupyterHub, inside a single-user server (``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``
   and ``JUPYTERHUB_USER`` set). Before Slurm: a batchspawner server runs inside a Slurm job
   too, and there the hub's idle culler (minutes) usually stops it long before the walltime,
   which such sites pass as ``JOB_START_TIME``/``JOB_RUN_TIME`` (read by this provider as
   well); ``--provider slurm`` reads the walltime from the scheduler instead;
3. Slurm, inside a job (``SLURM_JOB_ID``);
4. JupyterHub's timer mode, when only jupyterlab-server-timer's ``JOB_START_TIME`` and
   ``JOB_RUN_TIME`` are set (e.g. an Open OnDemand app);
5. else ModelArts, whose one-line "not found" error then says what to set.

:func:`choose` never raises but for a bad provider name: ``doctor`` shows the choice and its
reason whatever happened.

Adding a provider is one entry here and one branch in :func:`.sources.build_source`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

from .._errors import ConfigurationError, LeaseError

__all__ = ["PROVIDERS", "PROVIDER_ENV", "Choice", "choose", "provider_setting"]

PROVIDERS: Tuple[str, ...] = ("modelarts", "jupyterhub", "slurm", "auto")
PROVIDER_ENV = "JUPYTER_LEASE_PROVIDER"


@dataclass(frozen=True)
class Choice:
    """``provider`` (modelarts | jupyterhub | slurm), ``why`` in words, and what choosing found
    on the way: ModelArts' discovered location, or the error that rules ModelArts out (raised
    when built)."""

    provider: str
    why: str
    location: Any = None
    error: Optional[LeaseError] = None


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
        raise ConfigurationError(
            f"unknown provider {shown!r} (from {origin}): use modelarts, jupyterhub, slurm or auto"
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
    return _auto(location, env)


def _auto(location: Optional[Mapping[str, Optional[str]]], env: Mapping[str, str]) -> Choice:
    from ..modelarts.discovery import discover

    explicit = {key: value for key, value in (location or {}).items() if value}
    try:
        found = discover(environ=env, **explicit).require()
    except ConfigurationError as exc:
        return _not_modelarts(env, exc)
    return Choice("modelarts", "auto: ModelArts discovery found the notebook", location=found)


def _not_modelarts(env: Mapping[str, str], exc: ConfigurationError) -> Choice:
    from ..jupyterhub.config import TIMER_RUN, TIMER_START, hub_present
    from ..slurm.discover import job_id_from

    none = "auto: no ModelArts notebook found"
    if hub_present(env):
        return Choice("jupyterhub", f"{none}, and JUPYTERHUB_API_URL is set (a hub's server)")
    job = job_id_from(env)
    if job is not None:
        return Choice("slurm", f"{none}, and {job[1]}={job[0]} (a Slurm job)")
    if env.get(TIMER_START, "").strip() and env.get(TIMER_RUN, "").strip():
        return Choice("jupyterhub", f"{none}, and {TIMER_START} and {TIMER_RUN} are set")
    why = f"{none}, not in a JupyterHub server, and SLURM_JOB_ID is not set"
    return Choice("modelarts", why, error=exc)

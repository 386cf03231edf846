"""JupyterHub in the provider registry (:mod:`jupyter_lease.watch.providers`): whether this is a
hub's single-user server (or a jupyterlab-server-timer app), its :class:`~.source.HubSource`, and
that source behind the shared cache."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..watch.providers import NOT_FIRST, Choice, shared_cache

__all__ = ["build", "cached", "detect", "detect_timer"]


def detect(env: Mapping[str, str], location: Mapping[str, Optional[str]]) -> Optional[Choice]:
    """Inside a hub's single-user server (its API URL, token and user set)."""
    from .config import hub_present

    if not hub_present(env):
        return None
    return Choice("jupyterhub", f"{NOT_FIRST}, and JUPYTERHUB_API_URL is set (a hub's server)")


def detect_timer(env: Mapping[str, str], location: Mapping[str, Optional[str]]) -> Optional[Choice]:
    """jupyterlab-server-timer's fixed run time alone (after Slurm: a job may set these too)."""
    from .config import TIMER_RUN, TIMER_START

    if not (env.get(TIMER_START, "").strip() and env.get(TIMER_RUN, "").strip()):
        return None
    return Choice("jupyterhub", f"{NOT_FIRST}, and {TIMER_START} and {TIMER_RUN} are set")


def build(
    choice: Choice, location: Mapping[str, Optional[str]], environ: Optional[Mapping[str, str]]
) -> Any:
    from .source import HubSource

    return HubSource.from_environ(environ)


cached = shared_cache

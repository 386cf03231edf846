"""Where am I, for JupyterHub: the Hub's variables, the culler's settings the site passed, and
(with ``check``) what the server's token can read. Plain facts for ``doctor``; never raises,
never shows the token.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import List, Mapping, Optional

from .._errors import LeaseError
from ..core.duration import format_duration
from ..slurm.discover import Fact
from .config import CULL_ENV, TIMER_RUN, TIMER_START, seconds_setting

__all__ = ["Fact", "discover"]

WHERE = "c.Spawner.environment (Z2JH: singleuser.extraEnv) or c.JupyterLease"


def discover(environ: Optional[Mapping[str, str]] = None) -> List[Fact]:
    """Everything ``doctor`` shows about the hub, in the order a person checks it."""
    env = dict(os.environ if environ is None else environ)
    url = env.get("JUPYTERHUB_API_URL", "").strip()
    user = env.get("JUPYTERHUB_USER", "").strip()
    server = env.get("JUPYTERHUB_SERVER_NAME", "").strip()
    facts = [
        Fact("JupyterHub API", url or "not set", "JUPYTERHUB_API_URL"),
        Fact("user", user or "not set", "JUPYTERHUB_USER"),
        Fact("server", server or "the default server", "JUPYTERHUB_SERVER_NAME"),
        Fact(
            "server token",
            "set (not shown)" if env.get("JUPYTERHUB_API_TOKEN", "").strip() else "not set",
            "JUPYTERHUB_API_TOKEN",
        ),
    ]
    for setting, (variable, flag) in CULL_ENV.items():
        facts.append(_cull_fact(env, setting, variable, flag))
    for variable in (TIMER_START, TIMER_RUN):
        if env.get(variable, "").strip():
            facts.append(Fact(variable, env[variable].strip()[:30], "jupyterlab-server-timer's"))
    return facts


def _cull_fact(env: Mapping[str, str], setting: str, variable: str, flag: str) -> Fact:
    what = f"culler {flag}"
    try:
        seconds = seconds_setting(env.get(variable), variable)
    except LeaseError as exc:
        return Fact(what, "unreadable", str(exc))
    if seconds is None:
        return Fact(what, "not set", f"{variable}: the hub admin passes it in {WHERE}")
    return Fact(what, format_duration(timedelta(seconds=seconds)), variable)

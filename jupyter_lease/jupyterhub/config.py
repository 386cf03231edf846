"""What a JupyterHub single-user server knows about its own stop, from its environment. Pure.

The Hub gives every single-user server ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_USER`` and ``JUPYTERHUB_SERVER_NAME``. The idle culler's settings are not
exposed by the Hub, so the site passes them (``c.Spawner.environment``, Z2JH
``singleuser.extraEnv``) as the culler's own flags say them:

    JUPYTER_LEASE_CULL_TIMEOUT   the culler's --timeout     (seconds, or a duration: 1h)
    JUPYTER_LEASE_CULL_EVERY     the culler's --cull-every
    JUPYTER_LEASE_MAX_AGE        the culler's --max-age

``c.JupyterLease.cull_timeout`` / ``cull_every`` / ``max_age`` in the server's config say
the same (the server extension exports them to this environment, so its kernels and
terminals read them too). Sites set up for jupyterlab-server-timer (batchspawner, Open
OnDemand) set ``JOB_START_TIME`` (epoch seconds, UTC) and ``JOB_RUN_TIME`` (seconds): a
fixed stop, read here as well.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from .._errors import ConfigurationError, DurationError
from ..core.duration import parse_duration

__all__ = [
    "CULL_ENV",
    "HUB_VARIABLES",
    "HubSettings",
    "hub_present",
    "seconds_setting",
    "settings_from",
]

HUB_VARIABLES: Tuple[str, ...] = ("JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER")
# setting name → (environment variable, the culler's flag)
CULL_ENV = {
    "cull_timeout": ("JUPYTER_LEASE_CULL_TIMEOUT", "--timeout"),
    "cull_every": ("JUPYTER_LEASE_CULL_EVERY", "--cull-every"),
    "max_age": ("JUPYTER_LEASE_MAX_AGE", "--max-age"),
}
TIMER_START, TIMER_RUN = "JOB_START_TIME", "JOB_RUN_TIME"
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class HubSettings:
    """One single-user server's view of its hub. Durations in seconds; None: not set."""

    api_url: str = ""
    token: str = ""  # the server's own API token: never shown, never logged
    user: str = ""
    server_name: str = ""  # "" is the user's default server
    cull_timeout: Optional[float] = None
    cull_every: Optional[float] = None
    max_age: Optional[float] = None
    job_start: Optional[float] = None  # JOB_START_TIME: epoch seconds (UTC)
    job_run: Optional[float] = None  # JOB_RUN_TIME: seconds

    def __repr__(self) -> str:  # the token stays out of every repr
        return f"HubSettings(user={self.user!r}, server_name={self.server_name!r})"

    @property
    def source_id(self) -> str:
        return f"jupyterhub:{self.api_url}:{self.user}/{self.server_name}"

    @property
    def name(self) -> str:
        server = f"{self.user}/{self.server_name}" if self.server_name else self.user
        return f"JupyterHub server {server}"

    @property
    def job_end(self) -> Optional[float]:
        """The fixed stop jupyterlab-server-timer's variables say, when both are set."""
        if self.job_start is None or self.job_run is None:
            return None
        return self.job_start + self.job_run

    def missing(self) -> Optional[str]:
        """One line: what the site must set for a stop to be known; None when one can be."""
        if self.cull_timeout is not None or self.max_age is not None or self.job_end:
            return None
        return (
            "the hub's idle-cull timeout is not known here: the hub admin sets "
            "JUPYTER_LEASE_CULL_TIMEOUT (the culler's --timeout) and JUPYTER_LEASE_CULL_EVERY "
            "in c.Spawner.environment"
        )


def hub_present(environ: Optional[Mapping[str, str]] = None) -> bool:
    """True inside a JupyterHub single-user server (its API URL, token and user are set)."""
    env = os.environ if environ is None else environ
    return all(env.get(name, "").strip() for name in HUB_VARIABLES)


def seconds_setting(value: object, origin: str) -> Optional[float]:
    """``3600``, ``"3600"`` or ``"1h"`` → seconds (as the culler's flags: plain numbers are
    seconds); ``""``/None → None; anything else: :class:`ConfigurationError`, one line."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
    else:
        text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        seconds = float(text)
        if seconds > 0:
            return seconds
        if seconds == 0:  # the culler's --max-age=0 (its default) means "no maximum age"
            return None
    try:
        return parse_duration(text).total_seconds()
    except DurationError as exc:
        raise ConfigurationError(f"{origin}: {exc}") from None


def _epoch(env: Mapping[str, str], name: str) -> Optional[float]:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not _DIGITS.match(value):  # jupyterlab-server-timer reads digits only, and so do we
        raise ConfigurationError(f"{name} should be a whole number of seconds, not {value[:30]!r}")
    return float(value)


def settings_from(environ: Optional[Mapping[str, str]] = None) -> HubSettings:
    """The settings in this environment; :class:`ConfigurationError` (one line) for a value
    that cannot be read. Whether this is a hub server at all is :func:`hub_present`'s say."""
    env = os.environ if environ is None else environ
    cull = {
        setting: seconds_setting(env.get(variable), variable)
        for setting, (variable, _flag) in CULL_ENV.items()
    }
    return HubSettings(
        api_url=env.get("JUPYTERHUB_API_URL", "").strip().rstrip("/"),
        token=env.get("JUPYTERHUB_API_TOKEN", "").strip(),
        user=env.get("JUPYTERHUB_USER", "").strip(),
        server_name=env.get("JUPYTERHUB_SERVER_NAME", "").strip(),
        job_start=_epoch(env, TIMER_START),
        job_run=_epoch(env, TIMER_RUN),
        **cull,
    )

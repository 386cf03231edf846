"""The one way to build a lease source: the kernel runtime, the server extension and the CLI all
call :func:`build_source`, so they all read through the machine-wide cache and count alike.

A provider turns settings into an uncached :class:`~jupyter_lease.core.LeaseSource`; this module
builds the one :func:`.providers.choose` picks, through the provider registry
(:mod:`.providers`: no provider package is imported here), and puts the shared cache
(:mod:`.cache`) in front.
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
    shared cache unless ``cached`` is False. ``provider``: one of :data:`.providers.PROVIDERS`
    (None: ``$JUPYTER_LEASE_PROVIDER``, else auto). ``schedule`` (or a function giving the
    current one) decides how long a cached reading stays fresh. Raises ``ConfigurationError``
    (one line) when nothing can be discovered or the provider's name is unknown."""
    from .cachedata import cache_dir
    from .providers import choose, provider_module

    choice = choose(provider, location, environ)
    module = provider_module(choice.provider)
    explicit = {key: value for key, value in (location or {}).items() if value}
    source = module.build(choice, explicit, environ)
    if not cached:
        return source
    return module.cached(source, schedule=schedule, directory=cache_dir(environ))


def lease_identity(source: Any) -> str:
    """Which lease ``source`` serves, as one key (its ``identity()``: the provider's name, then
    its notebook, job or server). Keep alive
    while busy files its state under it, its server answers it over HTTP, and ``keep_alive()``
    in a kernel registers only with a server whose identity is its own. No secret in it."""
    return str(source.identity())

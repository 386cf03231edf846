"""The one way to build a lease source: the kernel runtime, the server extension and the CLI all
call :func:`build_source`, so they all read through the machine-wide cache and count alike.

A provider turns settings into an uncached :class:`~jupyter_lease.core.LeaseSource`; this module
chooses it and puts the shared cache in front. ModelArts is the provider today.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Union

from ..core.schedule import PollSchedule

__all__ = ["build_source"]

ScheduleLike = Union[PollSchedule, Callable[[], PollSchedule]]


def build_source(
    location: Optional[Mapping[str, Optional[str]]] = None,
    *,
    schedule: ScheduleLike = PollSchedule(),
    cached: bool = True,
) -> Any:
    """The lease source for these explicit settings (unset ones are discovered), behind the
    shared cache unless ``cached`` is False. ``schedule`` (or a function giving the current one)
    decides how long a cached reading stays fresh. Raises ``ConfigurationError`` (one line)
    when nothing can be discovered."""
    from ..modelarts.client import LeaseClient
    from ..modelarts.discovery import discover
    from .cache import CachedLeaseSource

    explicit = {key: value for key, value in (location or {}).items() if value}
    client = LeaseClient(discover(**explicit))
    return CachedLeaseSource(client, schedule=schedule) if cached else client

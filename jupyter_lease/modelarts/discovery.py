"""Where am I: notebook id, project id, region and API endpoint.

Each setting comes from a :class:`~jupyter_lease.core.chain.Chain` of small sources (the
module-level lists below, so adding one is a one-line change; the readers live in
:mod:`.discovery_readers`).  Every value found is checked; every result remembers
its source and a record of every source tried, for ``doctor``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .._errors import ConfigurationError
from ..core.chain import Chain, Hit, Invalid, Link, Record
from . import discovery_readers as read
from .discovery_readers import DiscoveryContext, Reader
from .env import (
    CHECKS,
    ENV_ENDPOINT,
    ENV_NOTEBOOK_ID,
    ENV_PROJECT_ID,
    ENV_REGION,
    MA_APIGW_ENDPOINT,
    SDK_ENDPOINT_PREFIX,
    SDK_PROJECT_ID,
    SDK_REGION,
    UNCONFIRMED_APIGW,
    UNCONFIRMED_BASE_URL,
    UNCONFIRMED_HOSTNAME,
    UNCONFIRMED_SESSION,
    BadValue,
    memoize_session_factory,
    project_id_warning,
    show,
    uuids_in,
)

__all__ = [
    "ENDPOINT_SOURCES",
    "NOTEBOOK_ID_SOURCES",
    "PROJECT_ID_SOURCES",
    "REGION_SOURCES",
    "Found",
    "Location",
    "discover",
]

log = logging.getLogger(__name__)

#: The env var a person sets to fix each setting (used in one-line errors and doctor hints).
ENV_FOR = {
    "notebook_id": ENV_NOTEBOOK_ID,
    "project_id": ENV_PROJECT_ID,
    "region": ENV_REGION,
    "endpoint": ENV_ENDPOINT,
}
LABELS = {
    "notebook_id": "notebook id",
    "project_id": "project id",
    "region": "region",
    "endpoint": "endpoint",
}


@dataclass(frozen=True)
class Found:
    """The result for one setting: the value (or ``None``), where it came from, what was tried."""

    name: str
    value: Optional[str]
    source: str
    tried: Tuple[Record, ...] = ()
    unconfirmed: str = ""  # non-empty when the winning source relies on an unconfirmed fact
    warning: str = ""  # e.g. a project id that does not look like one

    @property
    def ok(self) -> bool:
        return self.value is not None

    def __bool__(self) -> bool:  # lets callers write ``if loc.region:``
        return self.ok


@dataclass(frozen=True)
class Location:
    notebook_id: Found
    project_id: Found
    region: Found
    endpoint: Found
    base_url: str = ""  # the running server's, for ListNotebooks (see confirm.py)

    def fields(self) -> Tuple[Found, ...]:
        return (self.notebook_id, self.project_id, self.region, self.endpoint)

    def with_notebook_id(self, confirmed: Any) -> Location:
        """This location with the notebook id ``confirmed`` (a :class:`.confirm.Confirmation`)."""
        found = Found("notebook_id", confirmed.notebook_id, confirmed.how)
        return replace(self, notebook_id=found)

    def missing(self) -> List[str]:
        """Names of the settings a lease call needs but that were not found."""
        needed = (self.project_id, self.endpoint)
        if not uuids_in(self.base_url):  # else ListNotebooks may find the id (modelarts/confirm.py)
            needed = (self.notebook_id,) + needed
        return [f.name for f in needed if not f.ok]

    def require(self) -> Location:
        """Return ``self``, or raise one-line :class:`ConfigurationError` naming what's missing."""
        missing = self.missing()
        if not missing:
            return self
        what = " and ".join(LABELS[m] for m in missing)
        fixes = [ENV_FOR[m] for m in missing]
        if "endpoint" in missing and not self.region.ok:
            # The endpoint is normally derived from the region; naming both helps more.
            fixes[fixes.index(ENV_ENDPOINT)] = f"{ENV_REGION} (or {ENV_ENDPOINT})"
        raise ConfigurationError(
            f"{what} not found — set {' and '.join(fixes)} (run `jupyter lease doctor` for details)"
        )


# ---------------------------------------------------------------------------------------------
# The chains: ordered, first hit wins. Extend by inserting a Link. ``strict`` links are values
# a person set: a bad one is an error. The others are guesses: a bad one is recorded, and the
# chain moves on.

Source = Link[DiscoveryContext, str]

NOTEBOOK_ID_SOURCES: List[Source] = [
    Link("argument notebook_id", read.explicit("notebook_id"), strict=True),
    Link(ENV_NOTEBOOK_ID, read.env(ENV_NOTEBOOK_ID), strict=True),
    Link(
        "this Jupyter server's base_url",
        read.notebook_id_from_own_base_url,
        unconfirmed=UNCONFIRMED_BASE_URL,
    ),
    Link(
        "Jupyter server base_url",
        read.notebook_id_from_runtime,
        unconfirmed=UNCONFIRMED_BASE_URL,
    ),
    Link("hostname", read.notebook_id_from_hostname, unconfirmed=UNCONFIRMED_HOSTNAME),
]

PROJECT_ID_SOURCES: List[Source] = [
    Link("argument project_id", read.explicit("project_id"), strict=True),
    Link(ENV_PROJECT_ID, read.env(ENV_PROJECT_ID), strict=True),
    Link(SDK_PROJECT_ID, read.env(SDK_PROJECT_ID), strict=True),
    Link(
        "modelarts Session.project_id",
        read.session_attr("project_id"),
        unconfirmed=UNCONFIRMED_SESSION,
    ),
]

REGION_SOURCES: List[Source] = [
    Link("argument region", read.explicit("region"), strict=True),
    Link(ENV_REGION, read.env(ENV_REGION), strict=True),
    Link(SDK_REGION, read.env(SDK_REGION), strict=True),
    Link(
        "modelarts Session.region_name",
        read.session_attr("region_name"),
        unconfirmed=UNCONFIRMED_SESSION,
    ),
    Link("region in an endpoint host", read.region_from_endpoint_hints),
]

ENDPOINT_SOURCES: List[Source] = [
    Link("argument endpoint", read.explicit("endpoint"), strict=True),
    Link(ENV_ENDPOINT, read.env(ENV_ENDPOINT), strict=True),
    Link(SDK_ENDPOINT_PREFIX + "<REGION>", read.sdk_endpoint, strict=True),
    Link(MA_APIGW_ENDPOINT, read.apigw_endpoint, unconfirmed=UNCONFIRMED_APIGW),
    Link("default for the region", read.region_default_endpoint),
]

CHAINS: Dict[str, List[Source]] = {
    "notebook_id": NOTEBOOK_ID_SOURCES,
    "project_id": PROJECT_ID_SOURCES,
    "region": REGION_SOURCES,
    "endpoint": ENDPOINT_SOURCES,
}


def _checked(name: str, reader: Reader) -> Reader:
    """``reader`` whose value must pass the check for ``name``; the checked value is recorded."""
    check = CHECKS[name]

    def read_checked(ctx: DiscoveryContext) -> Optional[Hit[str]]:
        hit = reader(ctx)
        if hit is None:
            return None
        try:
            value = check(hit.value)
        except BadValue as exc:
            raise Invalid(f"{hit.source}={show(hit.value)} {exc}", hit.source) from None
        return Hit(value, value, hit.source, hit.unconfirmed)

    return read_checked


def _run(name: str, ctx: DiscoveryContext, strict: bool) -> Found:
    """The first valid value for ``name``. With ``strict``, a bad value from a strict source
    raises :class:`ConfigurationError`; otherwise (doctor) it is recorded and the chain moves on.
    """
    links = [replace(link, fetch=_checked(name, link.fetch)) for link in CHAINS[name]]
    result = Chain(LABELS[name], links).run(ctx, stop_on_invalid=strict)
    if result.stopped is not None:
        raise ConfigurationError(result.stopped.detail)
    winner = result.winner
    if result.hit is None or winner is None:
        return Found(name, None, "", result.records)
    value = result.hit.value
    warning = project_id_warning(value) if name == "project_id" else ""
    if warning:
        log.warning("%s %s %s", winner.source, show(value), warning)
    return Found(name, value, winner.source, result.records, winner.unconfirmed, warning)


def discover(
    *,
    notebook_id: Optional[str] = None,
    project_id: Optional[str] = None,
    region: Optional[str] = None,
    endpoint: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    runtime_dir: Optional[str] = None,
    hostname: Optional[str] = None,
    session_factory: Optional[Callable[[], Any]] = None,
    strict: bool = True,
    server_base_url: Optional[str] = None,
) -> Location:
    """Find notebook id, project id, region and endpoint; never raises for *missing* values.

    Call :meth:`Location.require` to turn missing values into an error.  Bad values from a
    source a person controls (arguments, env vars) raise :class:`ConfigurationError` unless
    ``strict=False`` (doctor), which records them instead. ``server_base_url``: this process is
    the Jupyter server at that ``base_url`` (its UUID is a guess, as the runtime file's is).
    """
    ctx = DiscoveryContext(
        environ=os.environ if environ is None else environ,
        explicit={
            "notebook_id": notebook_id,
            "project_id": project_id,
            "region": region,
            "endpoint": endpoint,
        },
        runtime_dir=runtime_dir,
        hostname=hostname,
        session_factory=memoize_session_factory(session_factory),
        server_base_url=server_base_url,
    )
    results: Dict[str, Found] = {}
    # Region before endpoint: the SDK override variable and the default endpoint need it.
    for name in ("notebook_id", "project_id", "region", "endpoint"):
        found = _run(name, ctx, strict)
        if found.value is not None:
            ctx.found[name] = found.value
        results[name] = found
    return Location(**results, base_url=ctx.found.get("base_url", ""))

"""The readers discovery's chains are made of: arguments, variables, the Jupyter server's
``base_url``, the host name, the ModelArts ``Session`` and the endpoint hints.

A reader is a function ``(context) -> Hit | None`` (see :mod:`jupyter_lease.core.chain`): ``None``
means "nothing here", a hit carries the raw value and where it came from (discovery checks the
value afterwards), :class:`~jupyter_lease.core.chain.Failed` means "this source is broken".
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from .._errors import scrub
from ..core.chain import Failed, Hit
from ..server.running import env_value, running_servers
from .env import (
    ENV_ENDPOINT,
    MA_APIGW_ENDPOINT,
    REGION,
    SDK_ENDPOINT_PREFIX,
    UNCONFIRMED_APIGW,
    UNCONFIRMED_BASE_URL,
    UNCONFIRMED_HOSTNAME,
    UNCONFIRMED_SESSION,
    UUID,
    default_endpoint,
    default_session_factory,
)

__all__ = ["DiscoveryContext", "Reader"]

# A region id as a host label: cn-north-4, ap-southeast-1, eu-west-101.
_REGION_LABEL = re.compile(r"^[a-z]{2}-[a-z]+-\d+$")


@dataclass
class DiscoveryContext:
    """What readers may look at. Built once per :func:`~.discovery.discover`."""

    environ: Mapping[str, str]
    explicit: Mapping[str, Optional[str]] = field(default_factory=dict)
    runtime_dir: Optional[str] = None
    hostname: Optional[str] = None
    session_factory: Optional[Callable[[], Any]] = None
    parent_pid: Optional[int] = None
    server_base_url: Optional[str] = None  # when this process is the Jupyter server itself
    found: Dict[str, str] = field(default_factory=dict)  # settings resolved so far

    def session(self) -> Any:
        factory = self.session_factory or default_session_factory
        try:
            return factory()
        except Exception as exc:  # any failure in third-party code is just "this source failed"
            raise Failed(f"Session() failed: {type(exc).__name__}: {scrub(str(exc))}") from exc


Reader = Callable[[DiscoveryContext], Optional[Hit[str]]]


def explicit(name: str) -> Reader:
    def read(ctx: DiscoveryContext) -> Optional[Hit[str]]:
        value = ctx.explicit.get(name)
        if value is None or not str(value).strip():
            return None
        return Hit(str(value).strip(), source=f"argument {name}")

    return read


def env(var: str) -> Reader:
    def read(ctx: DiscoveryContext) -> Optional[Hit[str]]:
        value = env_value(ctx.environ, var)
        return Hit(value, source=var) if value else None

    return read


def session_attr(attr: str) -> Reader:
    def read(ctx: DiscoveryContext) -> Optional[Hit[str]]:
        session = ctx.session()
        if session is None:
            return None
        value = getattr(session, attr, None)
        if not value or not isinstance(value, str):
            raise Failed(f"Session has no {attr}")
        where = f"modelarts.session.Session().{attr}"
        return Hit(value.strip(), source=where, unconfirmed=UNCONFIRMED_SESSION)

    return read


def notebook_id_from_own_base_url(ctx: DiscoveryContext) -> Optional[Hit[str]]:
    """In the server extension: a UUID path segment of this server's own ``base_url`` — a guess
    like the runtime file's (confirmed with ShowNotebook, else ListNotebooks, on first use)."""
    base_url = ctx.server_base_url
    if not base_url:
        return None
    ctx.found.setdefault("base_url", base_url)
    segment = next((s for s in base_url.split("/") if UUID.fullmatch(s)), None)
    if segment is None:
        return None
    return Hit(segment.lower(), source="this server's base_url", unconfirmed=UNCONFIRMED_BASE_URL)


def notebook_id_from_runtime(ctx: DiscoveryContext) -> Optional[Hit[str]]:
    """A path segment of a server's ``base_url`` that is a UUID (the documented ``/<id>/``).
    The first live server's ``base_url`` is kept for ListNotebooks (:mod:`._confirm`)."""
    for path, info in running_servers(ctx.environ, ctx.runtime_dir, ctx.parent_pid):
        base_url = info.get("base_url")
        if not isinstance(base_url, str):
            continue
        ctx.found.setdefault("base_url", base_url)
        segment = next((s for s in base_url.split("/") if UUID.fullmatch(s)), None)
        if segment:
            where = f"base_url of {os.path.basename(path)}"
            return Hit(segment.lower(), source=where, unconfirmed=UNCONFIRMED_BASE_URL)
    return None


def notebook_id_from_hostname(ctx: DiscoveryContext) -> Optional[Hit[str]]:
    hostname = ctx.hostname if ctx.hostname is not None else socket.gethostname()
    if not hostname.lower().startswith("notebook-"):
        return None  # a UUID in some other host name says nothing about ModelArts
    match = UUID.search(hostname)
    if not match:
        return None
    where = f"hostname {hostname}"
    return Hit(match.group(0).lower(), source=where, unconfirmed=UNCONFIRMED_HOSTNAME)


def _region_from_host(url: str) -> Optional[str]:
    try:
        host = urlsplit(url if "://" in url else "https://" + url).hostname or ""
    except ValueError:
        return None
    for label in host.split("."):
        if _REGION_LABEL.match(label):
            return label
    return None


def region_from_endpoint_hints(ctx: DiscoveryContext) -> Optional[Hit[str]]:
    """cn-north-4 from ``https://modelarts.cn-north-4.myhuaweicloud.com`` or the SDK var name."""
    candidates: List[Tuple[str, str, str]] = []
    given = ctx.explicit.get("endpoint")
    if given:
        candidates.append((str(given), "argument endpoint", ""))
    for var, unconfirmed in ((ENV_ENDPOINT, ""), (MA_APIGW_ENDPOINT, UNCONFIRMED_APIGW)):
        value = env_value(ctx.environ, var)
        if value:
            candidates.append((value, var, unconfirmed))
    for url, where, unconfirmed in candidates:
        region = _region_from_host(url)
        if region:
            return Hit(region, source=f"host of {where}", unconfirmed=unconfirmed)
    # HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4 names its region; only trust a single one.
    environ = ctx.environ
    sdk_vars = [k for k in environ if k.startswith(SDK_ENDPOINT_PREFIX) and environ[k].strip()]
    if len(sdk_vars) == 1:
        region = sdk_vars[0][len(SDK_ENDPOINT_PREFIX) :].lower().replace("_", "-")
        if REGION.match(region):
            return Hit(region, source=f"name of {sdk_vars[0]}")
    return None


def sdk_endpoint(ctx: DiscoveryContext) -> Optional[Hit[str]]:
    region = ctx.found.get("region")
    if not region:
        return None
    var = SDK_ENDPOINT_PREFIX + region.upper().replace("-", "_")
    value = env_value(ctx.environ, var)
    if not value:
        return None
    # The SDK accepts a comma-separated list; the first is the primary.
    return Hit(value.split(",")[0].strip(), source=var)


def apigw_endpoint(ctx: DiscoveryContext) -> Optional[Hit[str]]:
    value = env_value(ctx.environ, MA_APIGW_ENDPOINT)
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value  # the variable's exact format is unknown
    return Hit(value, source=MA_APIGW_ENDPOINT, unconfirmed=UNCONFIRMED_APIGW)


def region_default_endpoint(ctx: DiscoveryContext) -> Optional[Hit[str]]:
    region = ctx.found.get("region")
    if not region:
        return None
    url, unconfirmed = default_endpoint(region)
    return Hit(url, source=f"default for region {region}", unconfirmed=unconfirmed)

"""What ModelArts settings look like and where a notebook container keeps them.

Shared by discovery and credentials: the variable names, the facts about a notebook container
that are unconfirmed (worded once so ``doctor`` can list them), whether we run inside
ModelArts, the ModelArts SDK ``Session`` (built once), the public endpoints, and the checks a
notebook id, project id, region or endpoint must pass.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from .._errors import scrub
from ..server.running import env_value

__all__ = [
    "CHECKS",
    "BadValue",
    "default_endpoint",
    "default_session_factory",
    "memoize_session_factory",
    "modelarts_hint",
    "normalize_endpoint",
    "project_id_warning",
    "show",
]

ENV_NOTEBOOK_ID = "JUPYTER_LEASE_NOTEBOOK_ID"
ENV_PROJECT_ID = "JUPYTER_LEASE_PROJECT_ID"
ENV_REGION = "JUPYTER_LEASE_REGION"
ENV_ENDPOINT = "JUPYTER_LEASE_ENDPOINT"
SDK_PROJECT_ID = "HUAWEICLOUD_SDK_PROJECT_ID"
# Not read by huaweicloudsdkcore itself (it only uses the name as a prefix), but the
# convention third-party Huawei Cloud tools use for "the region".
SDK_REGION = "HUAWEICLOUD_SDK_REGION"
SDK_ENDPOINT_PREFIX = "HUAWEICLOUD_SDK_REGION_MODELARTS_"
MA_APIGW_ENDPOINT = "MA_APIGW_ENDPOINT"

# Much of what ModelArts puts inside a notebook container is unconfirmed (see
# /work/shared/reference); sources that rely on such a guess name it, and doctor prints it.
UNCONFIRMED_BASE_URL = (
    "that the Jupyter server's base_url contains the notebook instance id is unconfirmed"
)
UNCONFIRMED_HOSTNAME = (
    "that ModelArts notebook hostnames contain the instance id (notebook-<uuid>-…) is unconfirmed"
)
UNCONFIRMED_SESSION = (
    "modelarts.session.Session() exposing project_id/region_name/credentials in a notebook "
    "is unconfirmed"
)
UNCONFIRMED_APIGW = "notebooks having MA_APIGW_ENDPOINT (seen in training jobs) is unconfirmed"
UNCONFIRMED_EU = "the ModelArts host on the EU site (.myhuaweicloud.eu) is unconfirmed"

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def uuids_in(text: str) -> List[str]:
    """The UUIDs anywhere in ``text`` (a ``base_url``), lower case, in order."""
    return list(dict.fromkeys(m.group(0).lower() for m in UUID.finditer(text or "")))


_NOTEBOOK_ID = re.compile(r"^(?:[0-9a-fA-F]{32}|" + UUID.pattern + r")$")
_PROJECT_ID_STRICT = re.compile(r"^[0-9a-f]{32}$")
# What may appear in a URL path segment without surprises.
_PROJECT_ID_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REGION = re.compile(r"^[a-z]{2,}(?:-[a-z0-9]+)+$")
_HOSTNAME = re.compile(
    r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$"
)


def modelarts_hint(environ: Mapping[str, str], hostname: Optional[str] = None) -> Optional[str]:
    """Why we believe we run inside a ModelArts container, or ``None``.

    The single place that decides it (credentials use it to enable the metadata service).
    Only environment facts are used so tests can control them: ``MA_APIGW_ENDPOINT``, the
    ``ma-user`` account, or a ``notebook-<uuid>`` host name (pass ``hostname`` to consider it).
    """
    if env_value(environ, MA_APIGW_ENDPOINT):
        return f"{MA_APIGW_ENDPOINT} is set"
    if env_value(environ, "USER") == "ma-user" or env_value(environ, "HOME") == "/home/ma-user":
        return "running as ma-user"
    if hostname and hostname.lower().startswith("notebook-") and UUID.search(hostname):
        return f"hostname {hostname}"
    return None


# ---------------------------------------------------------------------------------------------
# ModelArts Session (shared by discovery and credentials)


def default_session_factory() -> Any:
    """``modelarts.session.Session()`` if the ModelArts SDK is importable, else ``None``.

    Exceptions from the SDK propagate: the caller records them as a failed source.
    """
    import importlib.util

    # find_spec only looks for the top-level package: cheap, and it keeps us from importing
    # a heavy SDK (or failing loudly) on machines that do not have it.
    if importlib.util.find_spec("modelarts") is None:
        return None
    from modelarts.session import Session  # type: ignore[import-not-found]

    return Session()


def memoize_session_factory(factory: Optional[Callable[[], Any]] = None) -> Callable[[], Any]:
    """Wrap a session factory so ``Session()`` is built (or fails) once and is then reused.

    Discovery asks for the session for two settings and credentials for a third; building a
    ModelArts Session may be slow, so the shells share one memoized factory.
    """
    inner = factory or default_session_factory
    state: Dict[str, Any] = {}

    def memoized() -> Any:
        if "error" in state:
            raise state["error"]
        if "session" not in state:
            try:
                state["session"] = inner()
            except Exception as exc:
                state["error"] = exc
                raise
        return state["session"]

    memoized.__wrapped__ = inner  # type: ignore[attr-defined]
    return memoized


# ---------------------------------------------------------------------------------------------
# Public endpoints

# Regions whose ModelArts host is not on myhuaweicloud.com.
_DOMAIN_BY_REGION = {"ap-southeast-1": ("myhuaweicloud.cn", "")}
_EU_SITE_REGION = re.compile(r"^eu-[a-z]+-1\d\d$")  # eu-west-101: the EU site (not eu-west-0)


def _domain_for(region: str) -> Tuple[str, str]:
    if region in _DOMAIN_BY_REGION:
        return _DOMAIN_BY_REGION[region]
    if _EU_SITE_REGION.match(region):
        return "myhuaweicloud.eu", UNCONFIRMED_EU
    return "myhuaweicloud.com", ""


def default_endpoint(region: str, service: str = "modelarts") -> Tuple[str, str]:
    """``(url, unconfirmed)``: the public endpoint of ``service`` in ``region``."""
    domain, unconfirmed = _domain_for(region)
    return f"https://{service}.{region}.{domain}", unconfirmed


# ---------------------------------------------------------------------------------------------
# Checks


class BadValue(ValueError):
    """A value failed validation; the message is the one-line reason (no variable name)."""


def show(value: str) -> str:
    """A bad value, safe to print: no secrets, bounded length, quoted."""
    # A URL's user:password part is a secret of no known shape: masked whatever it looks like.
    text = scrub(re.sub(r"(?<=://)[^/@\s]*@", "***@", value))
    if len(text) > 80:
        text = text[:77] + "..."
    return repr(text)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host)) and len(host) <= 253


def normalize_endpoint(value: str) -> str:
    """``http(s)://host[:port]`` with any trailing ``/`` removed; :class:`ValueError` otherwise."""
    text = value.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise BadValue("is not a URL: expected http(s)://host[:port]") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise BadValue("is not an endpoint: expected http(s)://host[:port]")
    if "@" in parts.netloc or not _valid_host(parts.hostname or ""):
        raise BadValue("has no valid host: expected http(s)://host[:port]")
    if port is not None and port == 0:
        raise BadValue("has port 0: expected http(s)://host[:port]")
    if parts.path or parts.query or parts.fragment:
        raise BadValue("has a path, query or fragment: expected http(s)://host[:port]")
    return f"{parts.scheme.lower()}://{parts.netloc}"


def _check_notebook_id(value: str) -> str:
    if not _NOTEBOOK_ID.match(value):
        raise BadValue("is not a notebook instance id: expected a UUID")
    return value


def _check_project_id(value: str) -> str:
    # Project ids are 32 lower-case hex characters everywhere we know of; other shapes only
    # earn a warning, but characters that would corrupt the URL path are rejected.
    if not _PROJECT_ID_SAFE.match(value):
        raise BadValue("is not a project id: expected 32 hex characters")
    return value


def project_id_warning(value: str) -> str:
    if _PROJECT_ID_STRICT.match(value):
        return ""
    return "does not look like a project id (expected 32 lower-case hex characters)"


def _check_region(value: str) -> str:
    if not REGION.match(value):
        raise BadValue("is not a region id: expected something like cn-north-4")
    return value


#: The check each setting's value must pass: the normalized value, or :class:`BadValue`.
CHECKS: Dict[str, Callable[[str], str]] = {
    "notebook_id": _check_notebook_id,
    "project_id": _check_project_id,
    "region": _check_region,
    "endpoint": normalize_endpoint,
}

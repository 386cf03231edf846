"""Where am I: notebook id, project id, region and API endpoint.

Each setting comes from an ordered chain of small *sources* (module-level lists below, so
adding one is a one-line change).  A source is a function ``(environ, context) -> Hit | None``:
``None`` means "nothing here", a :class:`Hit` carries the value and a description of where it
came from, and raising :class:`SourceFailed` means "this source is broken" (recorded, chain
continues).  Every result remembers its source and every source tried, for ``doctor``.

Much of what ModelArts puts inside a notebook container is unconfirmed (see
docs and ``/work/shared/reference``); sources that rely on such guesses say so in their
``unconfirmed`` text, which ``doctor`` prints.
"""

from __future__ import annotations

import glob
import ipaddress
import json
import logging
import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from ._errors import ConfigurationError, scrub

__all__ = [
    "ENDPOINT_SOURCES",
    "ENV_ENDPOINT",
    "ENV_NOTEBOOK_ID",
    "ENV_PROJECT_ID",
    "ENV_REGION",
    "NOTEBOOK_ID_SOURCES",
    "PROJECT_ID_SOURCES",
    "REGION_SOURCES",
    "Attempt",
    "DiscoveryContext",
    "Found",
    "Hit",
    "Location",
    "Source",
    "SourceFailed",
    "default_endpoint",
    "default_session_factory",
    "discover",
    "memoize_session_factory",
    "modelarts_hint",
    "normalize_endpoint",
]

log = logging.getLogger(__name__)

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

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NOTEBOOK_ID = re.compile(r"^(?:[0-9a-fA-F]{32}|" + _UUID.pattern + r")$")
_PROJECT_ID_STRICT = re.compile(r"^[0-9a-f]{32}$")
# What may appear in a URL path segment without surprises.
_PROJECT_ID_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REGION = re.compile(r"^[a-z]{2,}(?:-[a-z0-9]+)+$")
# A region id as a host label: cn-north-4, ap-southeast-1, eu-west-101.
_REGION_LABEL = re.compile(r"^[a-z]{2}-[a-z]+-\d+$")
_HOSTNAME = re.compile(
    r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$"
)

# ---------------------------------------------------------------------------------------------
# Unconfirmed facts, worded once so doctor can list them.

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


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Attempt:
    """One source tried for one setting.

    ``outcome`` is ``"found"``, ``"not set"``, ``"failed"``, ``"invalid"`` or ``"skipped"``;
    ``detail`` is the value found (already masked if secret) or why nothing was found.
    """

    source: str
    outcome: str
    detail: str = ""
    unconfirmed: str = ""


@dataclass(frozen=True)
class Found:
    """The result for one setting: the value (or ``None``), where it came from, what was tried."""

    name: str
    value: Optional[str]
    source: str
    tried: Tuple[Attempt, ...] = ()
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

    def fields(self) -> Tuple[Found, ...]:
        return (self.notebook_id, self.project_id, self.region, self.endpoint)

    def missing(self) -> List[str]:
        """Names of the settings a lease call needs but that were not found."""
        return [f.name for f in (self.notebook_id, self.project_id, self.endpoint) if not f.ok]

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


class Hit(NamedTuple):
    """What a source returns when it found something."""

    value: str
    description: str
    unconfirmed: str = ""


class SourceFailed(Exception):
    """Raised by a source that exists but is broken (unreadable file, SDK exception, ...)."""


@dataclass
class DiscoveryContext:
    """What sources may look at besides the environment. Built once per :func:`discover`."""

    explicit: Mapping[str, Optional[str]] = field(default_factory=dict)
    runtime_dir: Optional[str] = None
    hostname: Optional[str] = None
    session_factory: Optional[Callable[[], Any]] = None
    parent_pid: Optional[int] = None
    found: Dict[str, str] = field(default_factory=dict)  # settings resolved so far

    def session(self) -> Any:
        factory = self.session_factory or default_session_factory
        return factory()


SourceFn = Callable[[Mapping[str, str], DiscoveryContext], Optional[Tuple[str, ...]]]


@dataclass(frozen=True)
class Source:
    """A named source. ``strict`` sources are values a person typed: a bad value is an error.

    Non-strict sources are guesses; a bad value is recorded and the chain moves on.
    """

    label: str
    fetch: SourceFn
    strict: bool = False
    unconfirmed: str = ""


class _Invalid(ValueError):
    """A value failed validation; the message is the one-line reason (no variable name)."""


# ---------------------------------------------------------------------------------------------
# Validation


def _show(value: str) -> str:
    """A bad value, safe to print: no secrets, bounded length, quoted."""
    text = scrub(value)
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
        raise _Invalid("is not a URL: expected http(s)://host[:port]") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise _Invalid("is not an endpoint: expected http(s)://host[:port]")
    if "@" in parts.netloc or not _valid_host(parts.hostname or ""):
        raise _Invalid("has no valid host: expected http(s)://host[:port]")
    if port is not None and port == 0:
        raise _Invalid("has port 0: expected http(s)://host[:port]")
    if parts.path or parts.query or parts.fragment:
        raise _Invalid("has a path, query or fragment: expected http(s)://host[:port]")
    return f"{parts.scheme.lower()}://{parts.netloc}"


def _check_notebook_id(value: str) -> str:
    if not _NOTEBOOK_ID.match(value):
        raise _Invalid("is not a notebook instance id: expected a UUID")
    return value


def _check_project_id(value: str) -> str:
    # Project ids are 32 lower-case hex characters everywhere we know of; other shapes only
    # earn a warning, but characters that would corrupt the URL path are rejected.
    if not _PROJECT_ID_SAFE.match(value):
        raise _Invalid("is not a project id: expected 32 hex characters")
    return value


def _project_id_warning(value: str) -> str:
    if _PROJECT_ID_STRICT.match(value):
        return ""
    return "does not look like a project id (expected 32 lower-case hex characters)"


def _check_region(value: str) -> str:
    if not _REGION.match(value):
        raise _Invalid("is not a region id: expected something like cn-north-4")
    return value


_CHECKS: Dict[str, Callable[[str], str]] = {
    "notebook_id": _check_notebook_id,
    "project_id": _check_project_id,
    "region": _check_region,
    "endpoint": normalize_endpoint,
}


# ---------------------------------------------------------------------------------------------
# Generic sources


def _env_value(environ: Mapping[str, str], name: str) -> Optional[str]:
    # Values exported from files often carry a trailing newline; empty means unset.
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _explicit(name: str) -> SourceFn:
    def fetch(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
        value = ctx.explicit.get(name)
        if value is None or not str(value).strip():
            return None
        return Hit(str(value).strip(), f"argument {name}")

    return fetch


def _env(var: str) -> SourceFn:
    def fetch(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
        value = _env_value(environ, var)
        return Hit(value, var) if value else None

    return fetch


def _session_attr(attr: str) -> SourceFn:
    def fetch(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
        session = _load_session(ctx)
        if session is None:
            return None
        value = getattr(session, attr, None)
        if not value or not isinstance(value, str):
            raise SourceFailed(f"Session has no {attr}")
        return Hit(value.strip(), f"modelarts.session.Session().{attr}", UNCONFIRMED_SESSION)

    return fetch


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


def _load_session(ctx: DiscoveryContext) -> Any:
    try:
        return ctx.session()
    except Exception as exc:  # any failure in third-party code is just "this source failed"
        raise SourceFailed(f"Session() failed: {type(exc).__name__}: {scrub(str(exc))}") from exc


# ---------------------------------------------------------------------------------------------
# Notebook id from the running Jupyter server / hostname


def _default_runtime_dir(environ: Mapping[str, str]) -> Optional[str]:
    if _env_value(environ, "JUPYTER_RUNTIME_DIR"):
        return _env_value(environ, "JUPYTER_RUNTIME_DIR")
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except Exception:  # jupyter_core missing or broken: this source simply has nothing
        return None
    try:
        return str(jupyter_runtime_dir())
    except Exception:
        return None


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        # os.kill(pid, 0) *terminates* the process on Windows; assume alive instead.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def _server_files(runtime_dir: str) -> List[str]:
    # jpserver-*.json is jupyter_server; nbserver-*.json is the classic notebook server that
    # older ModelArts images may still run.
    names = glob.glob(os.path.join(runtime_dir, "jpserver-*.json"))
    names += glob.glob(os.path.join(runtime_dir, "nbserver-*.json"))
    return names


def _rank_server_files(paths: Sequence[str], parent_pid: int) -> List[Tuple[str, dict]]:
    """Live servers only, our parent process first, then the most recently written."""
    ranked: List[Tuple[int, float, str, dict]] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                info = json.load(fh)
            mtime = os.path.getmtime(path)
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict):
            continue
        pid = info.get("pid")
        if isinstance(pid, int) and not _pid_alive(pid):
            continue  # stale file left by a server that is gone
        rank = 0 if pid == parent_pid else 1
        ranked.append((rank, -mtime, path, info))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [(path, info) for _, _, path, info in ranked]


def _notebook_id_from_runtime(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
    runtime_dir = ctx.runtime_dir or _default_runtime_dir(environ)
    if not runtime_dir or not os.path.isdir(runtime_dir):
        return None
    parent = ctx.parent_pid if ctx.parent_pid is not None else os.getppid()
    for path, info in _rank_server_files(_server_files(runtime_dir), parent):
        base_url = info.get("base_url")
        match = _UUID.search(base_url) if isinstance(base_url, str) else None
        if match:
            desc = f"base_url of {os.path.basename(path)}"
            return Hit(match.group(0).lower(), desc, UNCONFIRMED_BASE_URL)
    return None


def _notebook_id_from_hostname(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
    hostname = ctx.hostname if ctx.hostname is not None else socket.gethostname()
    if not hostname.lower().startswith("notebook-"):
        return None  # a UUID in some other host name says nothing about ModelArts
    match = _UUID.search(hostname)
    if not match:
        return None
    return Hit(match.group(0).lower(), f"hostname {hostname}", UNCONFIRMED_HOSTNAME)


def modelarts_hint(environ: Mapping[str, str], hostname: Optional[str] = None) -> Optional[str]:
    """Why we believe we run inside a ModelArts container, or ``None``.

    The single place that decides it (credentials use it to enable the metadata service).
    Only environment facts are used so tests can control them: ``MA_APIGW_ENDPOINT``, the
    ``ma-user`` account, or a ``notebook-<uuid>`` host name (pass ``hostname`` to consider it).
    """
    if _env_value(environ, MA_APIGW_ENDPOINT):
        return f"{MA_APIGW_ENDPOINT} is set"
    if _env_value(environ, "USER") == "ma-user" or _env_value(environ, "HOME") == "/home/ma-user":
        return "running as ma-user"
    if hostname and hostname.lower().startswith("notebook-") and _UUID.search(hostname):
        return f"hostname {hostname}"
    return None


# ---------------------------------------------------------------------------------------------
# Region / endpoint


def _region_from_host(url: str) -> Optional[str]:
    try:
        host = urlsplit(url if "://" in url else "https://" + url).hostname or ""
    except ValueError:
        return None
    for label in host.split("."):
        if _REGION_LABEL.match(label):
            return label
    return None


def _region_from_endpoint_hints(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
    """cn-north-4 from ``https://modelarts.cn-north-4.myhuaweicloud.com`` or the SDK var name."""
    candidates: List[Tuple[str, str, str]] = []
    explicit = ctx.explicit.get("endpoint")
    if explicit:
        candidates.append((str(explicit), "argument endpoint", ""))
    for var, unconfirmed in ((ENV_ENDPOINT, ""), (MA_APIGW_ENDPOINT, UNCONFIRMED_APIGW)):
        value = _env_value(environ, var)
        if value:
            candidates.append((value, var, unconfirmed))
    for url, where, unconfirmed in candidates:
        region = _region_from_host(url)
        if region:
            return Hit(region, f"host of {where}", unconfirmed)
    # HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4 names its region; only trust a single one.
    sdk_vars = [k for k in environ if k.startswith(SDK_ENDPOINT_PREFIX) and environ[k].strip()]
    if len(sdk_vars) == 1:
        region = sdk_vars[0][len(SDK_ENDPOINT_PREFIX) :].lower().replace("_", "-")
        if _REGION.match(region):
            return Hit(region, f"name of {sdk_vars[0]}")
    return None


def _sdk_endpoint(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
    region = ctx.found.get("region")
    if not region:
        return None
    var = SDK_ENDPOINT_PREFIX + region.upper().replace("-", "_")
    value = _env_value(environ, var)
    if not value:
        return None
    # The SDK accepts a comma-separated list; the first is the primary.
    return Hit(value.split(",")[0].strip(), var)


def _apigw_endpoint(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
    value = _env_value(environ, MA_APIGW_ENDPOINT)
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value  # the variable's exact format is unknown
    return Hit(value, MA_APIGW_ENDPOINT, UNCONFIRMED_APIGW)


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


def _default_endpoint(environ: Mapping[str, str], ctx: DiscoveryContext) -> Optional[Hit]:
    region = ctx.found.get("region")
    if not region:
        return None
    url, unconfirmed = default_endpoint(region)
    return Hit(url, f"default for region {region}", unconfirmed)


# ---------------------------------------------------------------------------------------------
# The chains: ordered, first hit wins. Extend by inserting a Source.

NOTEBOOK_ID_SOURCES: List[Source] = [
    Source("argument notebook_id", _explicit("notebook_id"), strict=True),
    Source(ENV_NOTEBOOK_ID, _env(ENV_NOTEBOOK_ID), strict=True),
    Source("Jupyter server base_url", _notebook_id_from_runtime, unconfirmed=UNCONFIRMED_BASE_URL),
    Source("hostname", _notebook_id_from_hostname, unconfirmed=UNCONFIRMED_HOSTNAME),
]

PROJECT_ID_SOURCES: List[Source] = [
    Source("argument project_id", _explicit("project_id"), strict=True),
    Source(ENV_PROJECT_ID, _env(ENV_PROJECT_ID), strict=True),
    Source(SDK_PROJECT_ID, _env(SDK_PROJECT_ID), strict=True),
    Source(
        "modelarts Session.project_id", _session_attr("project_id"), unconfirmed=UNCONFIRMED_SESSION
    ),
]

REGION_SOURCES: List[Source] = [
    Source("argument region", _explicit("region"), strict=True),
    Source(ENV_REGION, _env(ENV_REGION), strict=True),
    Source(SDK_REGION, _env(SDK_REGION), strict=True),
    Source(
        "modelarts Session.region_name",
        _session_attr("region_name"),
        unconfirmed=UNCONFIRMED_SESSION,
    ),
    Source("region in an endpoint host", _region_from_endpoint_hints),
]

ENDPOINT_SOURCES: List[Source] = [
    Source("argument endpoint", _explicit("endpoint"), strict=True),
    Source(ENV_ENDPOINT, _env(ENV_ENDPOINT), strict=True),
    Source(SDK_ENDPOINT_PREFIX + "<REGION>", _sdk_endpoint, strict=True),
    Source(MA_APIGW_ENDPOINT, _apigw_endpoint, unconfirmed=UNCONFIRMED_APIGW),
    Source("default for the region", _default_endpoint),
]

CHAINS: Dict[str, List[Source]] = {
    "notebook_id": NOTEBOOK_ID_SOURCES,
    "project_id": PROJECT_ID_SOURCES,
    "region": REGION_SOURCES,
    "endpoint": ENDPOINT_SOURCES,
}


# ---------------------------------------------------------------------------------------------
# Running a chain


def run_chain(
    name: str,
    sources: Sequence[Source],
    environ: Mapping[str, str],
    ctx: DiscoveryContext,
    *,
    strict: bool = True,
) -> Found:
    """Try ``sources`` in order; the first valid value wins.

    With ``strict``, a bad value from a strict source raises :class:`ConfigurationError`;
    otherwise (doctor) it is recorded as ``invalid`` and the chain moves on.
    """
    tried: List[Attempt] = []
    check = _CHECKS[name]
    for source in sources:
        try:
            raw = source.fetch(environ, ctx)
        except SourceFailed as exc:
            tried.append(Attempt(source.label, "failed", str(exc), source.unconfirmed))
            continue
        except Exception as exc:  # a buggy source must not take discovery down
            log.debug("discovery source %s crashed", source.label, exc_info=True)
            detail = f"{type(exc).__name__}: {scrub(str(exc))}"
            tried.append(Attempt(source.label, "failed", detail, source.unconfirmed))
            continue
        if raw is None:
            tried.append(Attempt(source.label, "not set", "", source.unconfirmed))
            continue
        hit = Hit(*raw)
        try:
            value = check(hit.value)
        except _Invalid as exc:
            message = f"{hit.description}={_show(hit.value)} {exc}"
            if strict and source.strict:
                raise ConfigurationError(message) from None
            tried.append(Attempt(hit.description, "invalid", message, hit.unconfirmed))
            continue
        tried.append(Attempt(hit.description, "found", value, hit.unconfirmed))
        warning = _project_id_warning(value) if name == "project_id" else ""
        if warning:
            log.warning("%s %s %s", hit.description, _show(value), warning)
        return Found(name, value, hit.description, tuple(tried), hit.unconfirmed, warning)
    return Found(name, None, "", tuple(tried))


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
) -> Location:
    """Find notebook id, project id, region and endpoint; never raises for *missing* values.

    Call :meth:`Location.require` to turn missing values into an error.  Bad values from a
    source a person controls (arguments, env vars) raise :class:`ConfigurationError` unless
    ``strict=False`` (doctor), which records them instead.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    ctx = DiscoveryContext(
        explicit={
            "notebook_id": notebook_id,
            "project_id": project_id,
            "region": region,
            "endpoint": endpoint,
        },
        runtime_dir=runtime_dir,
        hostname=hostname,
        session_factory=memoize_session_factory(session_factory),
    )
    results: Dict[str, Found] = {}
    # Region before endpoint: the SDK override variable and the default endpoint need it.
    for name in ("notebook_id", "project_id", "region", "endpoint"):
        found = run_chain(name, CHAINS[name], env, ctx, strict=strict)
        if found.value is not None:
            ctx.found[name] = found.value
        results[name] = found
    return Location(**results)

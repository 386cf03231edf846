"""Which credentials to sign with: an ordered chain of sources, refreshed before expiry.

Chain (first that works wins; every source tried is recorded, masked, for ``doctor``):

1. explicit ``ak``/``sk`` (``security_token``) or ``auth_token`` arguments;
2. ``HUAWEICLOUD_SDK_AK`` + ``HUAWEICLOUD_SDK_SK`` (+ ``HUAWEICLOUD_SDK_SECURITY_TOKEN``);
3. an IAM token in ``JUPYTER_LEASE_AUTH_TOKEN``;
4. IAM user/password (``JUPYTER_LEASE_IAM_*``) exchanged for a project-scoped token;
5. ``modelarts.session.Session()`` (the SDK preinstalled in ModelArts images);
6. the metadata service's temporary ``securitykey`` — only when enabled, see
   :func:`metadata_enabled`.

A source that is *half* configured (an AK without its SK, an IAM user without a password)
raises :class:`CredentialsError` at once: silently falling through to another identity would
hide the mistake.  A configured source that fails at run time (IAM unreachable, metadata
service down) is recorded and the chain moves on.

Secrets never leave this module unmasked except inside the request headers: ``repr``,
``str``, attempts and exceptions show at most an AK's first 4 and last 2 characters.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from ._discovery import (
    ENV_PROJECT_ID,
    ENV_REGION,
    SDK_PROJECT_ID,
    SDK_REGION,
    UNCONFIRMED_SESSION,
    Attempt,
    default_endpoint,
    memoize_session_factory,
    modelarts_hint,
    normalize_endpoint,
)
from ._errors import CredentialsError, scrub

if TYPE_CHECKING:  # requests is imported lazily: `import jupyter_lease` must stay cheap
    import requests

__all__ = [
    "DEFAULT_METADATA_URL",
    "DEFAULT_REFRESH_MARGIN",
    "CredentialProvider",
    "Credentials",
    "RefreshingProvider",
    "Resolution",
    "SessionProvider",
    "StaticProvider",
    "mask",
    "metadata_enabled",
    "parse_expires_at",
    "resolve_credentials",
    "try_resolve_credentials",
]

log = logging.getLogger(__name__)

ENV_AK = "HUAWEICLOUD_SDK_AK"
ENV_SK = "HUAWEICLOUD_SDK_SK"
ENV_SECURITY_TOKEN = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
ENV_AUTH_TOKEN = "JUPYTER_LEASE_AUTH_TOKEN"
ENV_IAM_USER = "JUPYTER_LEASE_IAM_USER"
ENV_IAM_PASSWORD = "JUPYTER_LEASE_IAM_PASSWORD"
ENV_IAM_DOMAIN = "JUPYTER_LEASE_IAM_DOMAIN"
ENV_IAM_ENDPOINT = "JUPYTER_LEASE_IAM_ENDPOINT"
ENV_METADATA_URL = "JUPYTER_LEASE_METADATA_URL"

DEFAULT_METADATA_URL = "http://169.254.169.254"
#: Like huaweicloudsdkcore: refresh temporary credentials 40 min before they expire.
DEFAULT_REFRESH_MARGIN = 40 * 60.0
#: IAM tokens live 24 h; renew one an hour before the end.
IAM_REFRESH_MARGIN = 3600.0
#: After a failed refresh, wait this long before trying again (the old credentials still work).
RETRY_AFTER_FAILURE = 30.0

METADATA_TIMEOUT = (0.5, 2.0)  # link-local: either it answers at once or it is not there
IAM_TIMEOUT = (3.05, 10.0)
METADATA_TOKEN_TTL = 21600  # seconds, what the SDK asks for

UNCONFIRMED_METADATA = (
    "the metadata service handing out credentials inside a ModelArts notebook is unconfirmed"
)

Clock = Callable[[], float]
Body = Union[bytes, str, None]


# ---------------------------------------------------------------------------------------------
# Masking and time


def mask(value: Optional[str]) -> str:
    """``QTWA…UC`` for an AK; ``***`` when too short to show any of it safely."""
    if not value:
        return "(none)"
    if len(value) < 12:
        return "***"
    return f"{value[:4]}…{value[-2:]}"


def _iso(epoch: Optional[float]) -> str:
    if epoch is None:
        return "unknown"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


_ISO_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?$"
)


def parse_expires_at(value: str) -> float:
    """Epoch seconds from ``2026-11-27T12:00:00.000000Z`` (IAM/metadata style); ValueError."""
    match = _ISO_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError("expires_at is not an ISO 8601 time")
    y, mo, d, h, mi, s, frac, zone = match.groups()
    epoch = float(calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s))))
    if frac:
        epoch += float("0." + frac)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch


# ---------------------------------------------------------------------------------------------
# Credentials


@dataclass(frozen=True, repr=False)
class Credentials:
    """One set of credentials: AK/SK (permanent or temporary) or an IAM token."""

    ak: Optional[str] = None
    sk: Optional[str] = None
    security_token: Optional[str] = None
    auth_token: Optional[str] = None
    expires_at: Optional[float] = None  # epoch seconds; None = does not expire (or unknown)
    source: str = ""

    def __post_init__(self) -> None:
        if not ((self.ak and self.sk) or self.auth_token):
            raise CredentialsError(f"incomplete credentials from {self.source or 'caller'}")

    @property
    def kind(self) -> str:
        if self.ak and self.sk:
            return "temporary AK/SK" if self.security_token else "AK/SK"
        return "IAM token"

    def secrets(self) -> Tuple[str, ...]:
        """Every secret string held, for :func:`jupyter_lease._errors.scrub`."""
        values = (self.ak, self.sk, self.security_token, self.auth_token)
        return tuple(v for v in values if v)

    def describe(self) -> str:
        """A masked one-line description: safe to print."""
        who = f"AK {mask(self.ak)}" if self.ak and self.sk else "token"
        expiry = f", expires {_iso(self.expires_at)}" if self.expires_at is not None else ""
        return f"{self.kind} ({who}{expiry})"

    def __repr__(self) -> str:
        return (
            f"Credentials(kind={self.kind!r}, ak={mask(self.ak)!r}, "
            f"sk={'***' if self.sk else None}, "
            f"security_token={'***' if self.security_token else None}, "
            f"auth_token={'***' if self.auth_token else None}, "
            f"expires_at={_iso(self.expires_at) if self.expires_at else None}, "
            f"source={self.source!r})"
        )

    def __str__(self) -> str:
        return f"{self.describe()} from {self.source}"

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def auth_headers(
        self,
        method: str,
        url: str,
        body: Body,
        *,
        now: float,
        project_id: Optional[str] = None,
        extra: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, str]:
        """Every header that authenticates ``method url`` (``now`` = the X-Sdk-Date time)."""
        if self.ak and self.sk:
            from ._signer import signed_headers

            return signed_headers(
                method,
                url,
                body if body is not None else b"",
                ak=self.ak,
                sk=self.sk,
                now=now,
                project_id=project_id,
                security_token=self.security_token,
                extra=extra,
            )
        headers = {"X-Auth-Token": str(self.auth_token), "Content-Type": "application/json"}
        if project_id:
            headers["X-Project-Id"] = project_id
        headers.update(extra or {})
        return headers


# ---------------------------------------------------------------------------------------------
# Providers


class CredentialProvider:
    """What the client holds: ``get(now)`` returns credentials valid at ``now``."""

    source: str = ""
    attempts: Tuple[Attempt, ...] = ()

    def get(self, now: Optional[float] = None) -> Credentials:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={self.source!r})"


class StaticProvider(CredentialProvider):
    """Credentials that never change (explicit, env AK/SK, a given token)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self.source = credentials.source

    def get(self, now: Optional[float] = None) -> Credentials:
        return self._credentials


class SessionProvider(CredentialProvider):
    """Reads ``access_key``/``secret_key``/``security_token`` off a ModelArts Session.

    Re-read on every ``get``: if the SDK refreshes its temporary keys in place, we follow.
    """

    def __init__(self, session: Any, source: str = "modelarts.session.Session()") -> None:
        self._session = session
        self.source = source

    def get(self, now: Optional[float] = None) -> Credentials:
        return _credentials_from_session(self._session, self.source)


class FetchFailed(Exception):
    """A credential fetch failed; the message is one masked line."""


class RefreshingProvider(CredentialProvider):
    """Expiring credentials fetched by ``fetch(now)``, refreshed ``refresh_margin`` early.

    The margin is never more than half the credentials' lifetime (a 1 h token is not
    refreshed every minute).  A failed refresh keeps the old credentials until they really
    expire, and is not retried for :data:`RETRY_AFTER_FAILURE` seconds.
    """

    def __init__(
        self,
        fetch: Callable[[float], Credentials],
        source: str,
        *,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Clock = time.time,
        initial: Optional[Credentials] = None,
        fetched_at: Optional[float] = None,
    ) -> None:
        self._fetch = fetch
        self.source = source
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()  # the watcher thread and the kernel may ask at once
        self._current = initial
        self._fetched_at = fetched_at
        self._failed_at: Optional[float] = None
        self._last_error = ""
        self.refreshes = 0

    def refresh_due(self, now: float) -> Optional[float]:
        """When the current credentials should be replaced (epoch seconds), if they expire."""
        current = self._current
        if current is None or current.expires_at is None:
            return None
        fetched_at = self._fetched_at if self._fetched_at is not None else now
        lifetime = current.expires_at - fetched_at
        margin = min(self.refresh_margin, max(lifetime, 0.0) / 2)
        return current.expires_at - margin

    def get(self, now: Optional[float] = None) -> Credentials:
        now = self._clock() if now is None else now
        with self._lock:
            current = self._current
            due = self.refresh_due(now)
            if current is not None and (due is None or now < due):
                return current
            if not self._recently_failed(now):
                try:
                    return self._refresh(now)
                except FetchFailed as exc:
                    self._failed_at, self._last_error = now, str(exc)
                    log.warning("refreshing credentials from %s failed: %s", self.source, exc)
            if current is not None and not current.expired(now):
                return current  # still valid: keep using it, retry later
            what = "expired and could not be refreshed" if current else "could not be fetched"
            raise CredentialsError(f"credentials from {self.source} {what}: {self._last_error}")

    def _recently_failed(self, now: float) -> bool:
        return self._failed_at is not None and now - self._failed_at < RETRY_AFTER_FAILURE

    def _refresh(self, now: float) -> Credentials:
        creds = self._fetch(now)
        self._current, self._fetched_at, self._failed_at = creds, now, None
        self.refreshes += 1
        return creds


# ---------------------------------------------------------------------------------------------
# HTTP fetchers (requests imported lazily)


def _new_session(trust_env: bool = True) -> requests.Session:
    import requests

    session = requests.Session()
    # Proxies from the environment must not see a link-local metadata request.
    session.trust_env = trust_env
    return session


def _http_error(what: str, exc: Exception, secrets: Tuple[Optional[str], ...]) -> FetchFailed:
    # requests' messages carry the URL, never the body; scrub anyway, of the secrets at hand too.
    detail = scrub(str(exc), secrets)[:160]
    return FetchFailed(f"{scrub(what, secrets)}: {type(exc).__name__}: {detail}")


def _iam_fetcher(
    session: requests.Session,
    endpoint: str,
    user: str,
    password: str,
    domain: str,
    scope: Dict[str, Any],
    source: str,
) -> Callable[[float], Credentials]:
    url = endpoint + "/v3/auth/tokens"
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "password": password, "domain": {"name": domain}}
                },
            },
            "scope": {"project": scope},
        }
    }

    def fetch(now: float) -> Credentials:
        import requests

        try:
            response = session.post(url, json=body, timeout=IAM_TIMEOUT)
        except requests.RequestException as exc:
            raise _http_error(f"IAM {endpoint} unreachable", exc, (password,)) from None
        if response.status_code not in (200, 201):
            hint = " (wrong user, password or domain?)" if response.status_code == 401 else ""
            raise FetchFailed(f"IAM answered HTTP {response.status_code}{hint}")
        token = response.headers.get("X-Subject-Token", "").strip()
        if not token:
            raise FetchFailed("IAM answered without an X-Subject-Token header")
        try:
            expires_at: Optional[float] = parse_expires_at(response.json()["token"]["expires_at"])
        except (ValueError, KeyError, TypeError):
            expires_at = now + 23 * 3600  # tokens live 24 h; be a little pessimistic
        return Credentials(auth_token=token, expires_at=expires_at, source=source)

    return fetch


class _MetadataFetcher:
    """``securitykey`` from the metadata service, with the optional session token (IMDSv2).

    The PUT for a token is optional: when it answers with an error we fall back to a plain
    GET.  When it cannot even connect, the GET would not either, so we fail fast.
    """

    def __init__(self, session: requests.Session, base_url: str, source: str) -> None:
        self._session = session
        self._base = base_url
        self._source = source
        self._token: Optional[str] = None

    def _put_token(self) -> Optional[str]:
        import requests

        try:
            response = self._session.put(
                self._base + "/meta-data/latest/api/token",
                headers={"X-Metadata-Token-Ttl-Seconds": str(METADATA_TOKEN_TTL)},
                timeout=METADATA_TIMEOUT,
            )
        except requests.ConnectionError as exc:  # includes ConnectTimeout
            raise _http_error(f"metadata service {self._base} unreachable", exc, ()) from None
        except requests.RequestException:
            return None
        text = response.text.strip() if response.status_code == 200 else ""
        return text or None

    def _get_key(self) -> Any:
        import requests

        headers = {"X-Metadata-Token": self._token} if self._token else {}
        try:
            return self._session.get(
                self._base + "/openstack/latest/securitykey",
                headers=headers,
                timeout=METADATA_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise _http_error(
                f"metadata service {self._base} unreachable", exc, (self._token,)
            ) from None

    def __call__(self, now: float) -> Credentials:
        if self._token is None:
            self._token = self._put_token()
        response = self._get_key()
        if response.status_code == 401 and self._token is not None:
            self._token = self._put_token()  # our session token expired: one fresh try
            response = self._get_key()
        if response.status_code != 200:
            raise FetchFailed(f"metadata service answered HTTP {response.status_code}")
        try:
            cred = response.json()["credential"]
            return Credentials(
                ak=str(cred["access"]),
                sk=str(cred["secret"]),
                security_token=str(cred["securitytoken"]),
                expires_at=parse_expires_at(cred["expires_at"]),
                source=self._source,
            )
        except (ValueError, KeyError, TypeError, CredentialsError):
            raise FetchFailed("metadata service answered without a usable credential") from None


# ---------------------------------------------------------------------------------------------
# The chain


@dataclass(frozen=True)
class Resolution:
    """The outcome of the chain, for ``doctor``: a provider or the error, plus every attempt.

    ``secrets`` (never in ``repr``): every secret the chain saw — given, in the environment, or
    fetched — so a report can scrub them from anything else it shows.
    """

    provider: Optional[CredentialProvider]
    attempts: Tuple[Attempt, ...]
    error: Optional[CredentialsError] = None
    secrets: Tuple[str, ...] = field(default=(), repr=False, compare=False)


@dataclass
class _Ctx:
    """What the credential sources share."""

    environ: Mapping[str, str]
    explicit: Dict[str, Optional[str]]
    region: Optional[str]
    project_id: Optional[str]
    http: Optional[requests.Session]
    session_factory: Callable[[], Any]
    use_metadata: Optional[bool]
    refresh_margin: float
    clock: Clock


class _NotSet(Exception):
    """This source has nothing; the message says why (e.g. "not set")."""


def _known_secrets(ctx: _Ctx) -> Tuple[str, ...]:
    """The secrets the caller and the environment hold: scrubbed from whatever a source says."""
    names = (ENV_AK, ENV_SK, ENV_SECURITY_TOKEN, ENV_AUTH_TOKEN, ENV_IAM_PASSWORD)
    values = [*ctx.explicit.values(), *(ctx.environ.get(name) for name in names)]
    return tuple(v.strip() for v in values if isinstance(v, str) and v.strip())


def _env(ctx: _Ctx, name: str) -> Optional[str]:
    value = ctx.environ.get(name)
    value = value.strip() if value is not None else None
    return value or None


def _src_explicit(ctx: _Ctx) -> CredentialProvider:
    ak, sk = ctx.explicit.get("ak"), ctx.explicit.get("sk")
    token, security = ctx.explicit.get("auth_token"), ctx.explicit.get("security_token")
    if ak or sk:
        if not (ak and sk):
            missing = "sk" if ak else "ak"
            raise CredentialsError(
                f"credentials argument {missing} is missing: ak and sk go together"
            )
        return StaticProvider(
            Credentials(ak=ak, sk=sk, security_token=security, source="explicit ak/sk")
        )
    if token:
        return StaticProvider(Credentials(auth_token=token, source="explicit auth_token"))
    if security:
        raise CredentialsError("credentials argument security_token given without ak and sk")
    raise _NotSet("not given")


def _src_env_aksk(ctx: _Ctx) -> CredentialProvider:
    ak, sk, security = _env(ctx, ENV_AK), _env(ctx, ENV_SK), _env(ctx, ENV_SECURITY_TOKEN)
    if not (ak or sk):
        if security:
            raise CredentialsError(f"{ENV_SECURITY_TOKEN} is set but {ENV_AK}/{ENV_SK} are not")
        raise _NotSet("not set")
    if not (ak and sk):
        have, missing = (ENV_AK, ENV_SK) if ak else (ENV_SK, ENV_AK)
        raise CredentialsError(f"{have} is set but {missing} is not — set both or neither")
    source = f"{ENV_AK}/{ENV_SK}" + (f" + {ENV_SECURITY_TOKEN}" if security else "")
    return StaticProvider(Credentials(ak=ak, sk=sk, security_token=security, source=source))


def _src_env_token(ctx: _Ctx) -> CredentialProvider:
    token = _env(ctx, ENV_AUTH_TOKEN)
    if not token:
        raise _NotSet("not set")
    return StaticProvider(Credentials(auth_token=token, source=ENV_AUTH_TOKEN))


def _iam_scope(ctx: _Ctx) -> Dict[str, Any]:
    # Project id is what the lease API needs the token scoped to; IAM also accepts the
    # project *name*, which for a region's default project is the region id.
    project_id = ctx.project_id or _env(ctx, ENV_PROJECT_ID) or _env(ctx, SDK_PROJECT_ID)
    if project_id:
        return {"id": project_id}
    region = _region(ctx)
    if region:
        return {"name": region}
    raise CredentialsError(
        f"{ENV_IAM_USER} is set but no project id or region is known to scope the token — "
        f"set {ENV_PROJECT_ID}"
    )


def _region(ctx: _Ctx) -> Optional[str]:
    return ctx.region or _env(ctx, ENV_REGION) or _env(ctx, SDK_REGION)


def _iam_endpoint(ctx: _Ctx) -> str:
    value = _env(ctx, ENV_IAM_ENDPOINT)
    if value:
        try:
            return normalize_endpoint(value)
        except ValueError as exc:
            shown = scrub(value, _known_secrets(ctx))
            raise CredentialsError(f"{ENV_IAM_ENDPOINT}={shown!r} {exc}") from None
    region = _region(ctx)
    if not region:
        raise CredentialsError(
            f"{ENV_IAM_USER} is set but the IAM endpoint is unknown — "
            f"set {ENV_REGION} or {ENV_IAM_ENDPOINT}"
        )
    return default_endpoint(region, "iam")[0]


def _src_iam_password(ctx: _Ctx) -> CredentialProvider:
    user, password = _env(ctx, ENV_IAM_USER), ctx.environ.get(ENV_IAM_PASSWORD) or None
    domain = _env(ctx, ENV_IAM_DOMAIN)
    if not (user or password):
        raise _NotSet("not set")
    for name, value in ((ENV_IAM_USER, user), (ENV_IAM_PASSWORD, password)):
        if not value:
            raise CredentialsError(f"{name} is not set but the other JUPYTER_LEASE_IAM_* are")
    if not domain:
        raise CredentialsError(
            f"{ENV_IAM_USER} is set but {ENV_IAM_DOMAIN} (the account name) is not"
        )
    endpoint = _iam_endpoint(ctx)
    source = f"IAM password of {user} at {endpoint}"
    fetch = _iam_fetcher(
        ctx.http or _new_session(),
        endpoint,
        str(user),
        str(password),
        domain,
        _iam_scope(ctx),
        source,
    )
    return _first_fetch(fetch, source, IAM_REFRESH_MARGIN, ctx)


def _first_fetch(
    fetch: Callable[[float], Credentials], source: str, margin: float, ctx: _Ctx
) -> CredentialProvider:
    """Fetch once now, so a broken source is found (and skipped) at resolve time."""
    now = ctx.clock()
    try:
        creds = fetch(now)
    except FetchFailed as exc:
        raise _Failed(str(exc)) from None
    return RefreshingProvider(
        fetch, source, refresh_margin=margin, clock=ctx.clock, initial=creds, fetched_at=now
    )


class _Failed(Exception):
    """A configured source failed; the message is one masked line."""


def _credentials_from_session(session: Any, source: str) -> Credentials:
    ak = getattr(session, "access_key", None)
    sk = getattr(session, "secret_key", None)
    token = getattr(session, "security_token", None)
    if not (isinstance(ak, str) and ak and isinstance(sk, str) and sk):
        raise CredentialsError(f"{source} has no access_key/secret_key")
    return Credentials(ak=ak, sk=sk, security_token=token or None, source=source)


def _src_session(ctx: _Ctx) -> CredentialProvider:
    try:
        session = ctx.session_factory()
    except Exception as exc:  # third-party code: any failure just means "not this source"
        detail = scrub(str(exc), _known_secrets(ctx))[:160]
        raise _Failed(f"Session() failed: {type(exc).__name__}: {detail}") from None
    if session is None:
        raise _NotSet("modelarts SDK not installed")
    try:
        _credentials_from_session(session, "modelarts.session.Session()")
    except CredentialsError as exc:
        raise _Failed(str(exc)) from None
    return SessionProvider(session)


def metadata_enabled(
    environ: Mapping[str, str], use_metadata: Optional[bool] = None
) -> Tuple[bool, str]:
    """Whether to ask the metadata service, and why — the one place this rule lives.

    * ``use_metadata`` True/False (caller's choice) wins;
    * otherwise it is tried when ``JUPYTER_LEASE_METADATA_URL`` is set, or when we run inside
      ModelArts (:func:`jupyter_lease._discovery.modelarts_hint`).  Elsewhere a request to
      169.254.169.254 would at best waste half a second and at worst reach some other
      cloud's metadata service.
    """
    if use_metadata is not None:
        return use_metadata, "requested" if use_metadata else "disabled by caller"
    url = environ.get(ENV_METADATA_URL, "").strip()
    if url:
        return True, f"{ENV_METADATA_URL} is set"
    hint = modelarts_hint(environ)
    if hint:
        return True, f"inside ModelArts ({hint})"
    return False, f"not inside ModelArts; set {ENV_METADATA_URL} to enable"


def _src_metadata(ctx: _Ctx) -> CredentialProvider:
    enabled, why = metadata_enabled(ctx.environ, ctx.use_metadata)
    if not enabled:
        raise _Skipped(why)
    raw = _env(ctx, ENV_METADATA_URL) or DEFAULT_METADATA_URL
    try:
        base = normalize_endpoint(raw)
    except ValueError as exc:
        shown = scrub(raw, _known_secrets(ctx))
        raise CredentialsError(f"{ENV_METADATA_URL}={shown!r} {exc}") from None
    source = f"metadata service {base}"
    http = ctx.http or _new_session(trust_env=False)
    return _first_fetch(_MetadataFetcher(http, base, source), source, ctx.refresh_margin, ctx)


class _Skipped(Exception):
    """The source was deliberately not tried; the message says why."""


@dataclass(frozen=True)
class _Source:
    label: str
    fn: Callable[[_Ctx], CredentialProvider]
    unconfirmed: str = ""


#: The chain, in order. Extend by inserting a _Source.
SOURCES: List[_Source] = [
    _Source("explicit arguments", _src_explicit),
    _Source(f"{ENV_AK}/{ENV_SK}", _src_env_aksk),
    _Source(ENV_AUTH_TOKEN, _src_env_token),
    _Source(f"{ENV_IAM_USER}/{ENV_IAM_PASSWORD}", _src_iam_password),
    _Source("modelarts Session", _src_session, UNCONFIRMED_SESSION),
    _Source("metadata service", _src_metadata, UNCONFIRMED_METADATA),
]


def _attempt_for(source: _Source, outcome: str, detail: str) -> Attempt:
    return Attempt(source.label, outcome, detail, source.unconfirmed)


def _run_chain(ctx: _Ctx) -> Resolution:
    attempts: List[Attempt] = []
    for source in SOURCES:
        try:
            provider = source.fn(ctx)
        except _NotSet as exc:
            attempts.append(_attempt_for(source, "not set", str(exc)))
        except _Skipped as exc:
            attempts.append(_attempt_for(source, "skipped", str(exc)))
        except _Failed as exc:
            log.warning("credentials from %s failed: %s", source.label, exc)
            attempts.append(_attempt_for(source, "failed", str(exc)))
        except CredentialsError as exc:
            # Half-configured: stop here, naming the mistake.
            attempts.append(_attempt_for(source, "invalid", str(exc)))
            error = CredentialsError(str(exc), _tried(attempts))
            return Resolution(None, tuple(attempts), error, _known_secrets(ctx))
        else:
            creds = provider.get(ctx.clock())
            attempts.append(_attempt_for(source, "found", creds.describe()))
            provider.attempts = tuple(attempts)
            return Resolution(
                provider, tuple(attempts), None, _known_secrets(ctx) + creds.secrets()
            )
    error = CredentialsError(_nothing_message(attempts), _tried(attempts))
    return Resolution(None, tuple(attempts), error, _known_secrets(ctx))


def _tried(attempts: List[Attempt]) -> List[str]:
    return [f"{a.source} ({a.outcome}{': ' + a.detail if a.detail else ''})" for a in attempts]


def _short(attempt: Attempt) -> str:
    if attempt.outcome == "failed":
        return f"{attempt.source} (failed: {attempt.detail})"
    return f"{attempt.source} ({attempt.detail or attempt.outcome})"


def _nothing_message(attempts: List[Attempt]) -> str:
    tried = ", ".join(_short(a) for a in attempts)
    return f"no credentials: tried {tried} — set {ENV_AK} and {ENV_SK}"


def try_resolve_credentials(
    *,
    ak: Optional[str] = None,
    sk: Optional[str] = None,
    security_token: Optional[str] = None,
    auth_token: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    region: Optional[str] = None,
    project_id: Optional[str] = None,
    session: Optional[requests.Session] = None,
    session_factory: Optional[Callable[[], Any]] = None,
    use_metadata: Optional[bool] = None,
    refresh_margin: float = DEFAULT_REFRESH_MARGIN,
    clock: Clock = time.time,
) -> Resolution:
    """Run the chain without raising: the provider, or the error, and every attempt."""
    import os

    ctx = _Ctx(
        environ=os.environ if environ is None else environ,
        explicit={"ak": ak, "sk": sk, "security_token": security_token, "auth_token": auth_token},
        region=region,
        project_id=project_id,
        http=session,
        session_factory=memoize_session_factory(session_factory),
        use_metadata=use_metadata,
        refresh_margin=refresh_margin,
        clock=clock,
    )
    return _run_chain(ctx)


def resolve_credentials(**options: Any) -> CredentialProvider:
    """The first credential source that works, as a provider; :class:`CredentialsError` else.

    Takes the options of :func:`try_resolve_credentials`: ``session`` is the
    ``requests.Session`` used for IAM and metadata calls; ``session_factory`` builds the
    ModelArts Session (default: import it if installed).
    """
    resolution = try_resolve_credentials(**options)
    if resolution.provider is None:
        assert resolution.error is not None
        raise resolution.error
    return resolution.provider

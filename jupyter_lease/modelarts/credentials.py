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

import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from .._errors import CredentialsError, scrub
from ..core.chain import Chain, Failed, Hit, Invalid, Link, NotSet, Record, Skipped
from ..core.reading import clip_words
from ..server.running import env_value
from .credential_http import MetadataFetcher, iam_fetcher, new_session
from .credential_providers import (
    DEFAULT_REFRESH_MARGIN,
    IAM_REFRESH_MARGIN,
    Clock,
    CredentialProvider,
    Credentials,
    FetchFailed,
    RefreshingProvider,
    SessionProvider,
    StaticProvider,
    credentials_from_session,
)
from .env import (
    ENV_PROJECT_ID,
    ENV_REGION,
    SDK_PROJECT_ID,
    SDK_REGION,
    UNCONFIRMED_SESSION,
    default_endpoint,
    memoize_session_factory,
    modelarts_hint,
    normalize_endpoint,
)

if TYPE_CHECKING:  # requests is imported lazily: `import jupyter_lease` must stay cheap
    import requests

__all__ = [
    "DEFAULT_METADATA_URL",
    "Resolution",
    "metadata_enabled",
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

UNCONFIRMED_METADATA = (
    "the metadata service handing out credentials inside a ModelArts notebook is unconfirmed"
)


@dataclass(frozen=True)
class Resolution:
    """The outcome of the chain, for ``doctor``: a provider or the error, plus every attempt.

    ``secrets`` (never in ``repr``): every secret the chain saw — given, in the environment, or
    fetched — so a report can scrub them from anything else it shows.
    """

    provider: Optional[CredentialProvider]
    attempts: Tuple[Record, ...]
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


def _known_secrets(ctx: _Ctx) -> Tuple[str, ...]:
    """The secrets the caller and the environment hold: scrubbed from whatever a source says."""
    names = (ENV_AK, ENV_SK, ENV_SECURITY_TOKEN, ENV_AUTH_TOKEN, ENV_IAM_PASSWORD)
    values = [*ctx.explicit.values(), *(ctx.environ.get(name) for name in names)]
    return tuple(v.strip() for v in values if isinstance(v, str) and v.strip())


def _env(ctx: _Ctx, name: str) -> Optional[str]:
    return env_value(ctx.environ, name)


# ---------------------------------------------------------------------------------------------
# The sources. A half-configured one raises CredentialsError: the chain stops there.


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
    raise NotSet("not given")


def _src_env_aksk(ctx: _Ctx) -> CredentialProvider:
    ak, sk, security = _env(ctx, ENV_AK), _env(ctx, ENV_SK), _env(ctx, ENV_SECURITY_TOKEN)
    if not (ak or sk):
        if security:
            raise CredentialsError(f"{ENV_SECURITY_TOKEN} is set but {ENV_AK}/{ENV_SK} are not")
        raise NotSet()
    if not (ak and sk):
        have, missing = (ENV_AK, ENV_SK) if ak else (ENV_SK, ENV_AK)
        raise CredentialsError(f"{have} is set but {missing} is not — set both or neither")
    source = f"{ENV_AK}/{ENV_SK}" + (f" + {ENV_SECURITY_TOKEN}" if security else "")
    return StaticProvider(Credentials(ak=ak, sk=sk, security_token=security, source=source))


def _src_env_token(ctx: _Ctx) -> CredentialProvider:
    token = _env(ctx, ENV_AUTH_TOKEN)
    if not token:
        raise NotSet()
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
        raise NotSet()
    for name, value in ((ENV_IAM_USER, user), (ENV_IAM_PASSWORD, password)):
        if not value:
            raise CredentialsError(f"{name} is not set but the other JUPYTER_LEASE_IAM_* are")
    if not domain:
        raise CredentialsError(
            f"{ENV_IAM_USER} is set but {ENV_IAM_DOMAIN} (the account name) is not"
        )
    endpoint = _iam_endpoint(ctx)
    source = f"IAM password of {user} at {endpoint}"
    fetch = iam_fetcher(
        ctx.http or new_session(),
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
        raise Failed(str(exc)) from None
    return RefreshingProvider(
        fetch, source, refresh_margin=margin, clock=ctx.clock, initial=creds, fetched_at=now
    )


def _src_session(ctx: _Ctx) -> CredentialProvider:
    try:
        session = ctx.session_factory()
    except Exception as exc:  # third-party code: any failure just means "not this source"
        detail = clip_words(" ".join(scrub(str(exc), _known_secrets(ctx)).split()), 160)
        raise Failed(f"Session() failed: {type(exc).__name__}: {detail}") from None
    if session is None:
        raise NotSet("modelarts SDK not installed")
    try:
        credentials_from_session(session, "modelarts.session.Session()")
    except CredentialsError as exc:
        raise Failed(str(exc)) from None
    return SessionProvider(session)


def metadata_enabled(
    environ: Mapping[str, str], use_metadata: Optional[bool] = None
) -> Tuple[bool, str]:
    """Whether to ask the metadata service, and why — the one place this rule lives.

    * ``use_metadata`` True/False (caller's choice) wins;
    * otherwise it is tried when ``JUPYTER_LEASE_METADATA_URL`` is set, or when we run inside
      ModelArts (:func:`jupyter_lease.modelarts.env.modelarts_hint`).  Elsewhere a request to
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
        raise Skipped(why)
    raw = _env(ctx, ENV_METADATA_URL) or DEFAULT_METADATA_URL
    try:
        base = normalize_endpoint(raw)
    except ValueError as exc:
        shown = scrub(raw, _known_secrets(ctx))
        raise CredentialsError(f"{ENV_METADATA_URL}={shown!r} {exc}") from None
    source = f"metadata service {base}"
    http = ctx.http or new_session(trust_env=False)
    return _first_fetch(MetadataFetcher(http, base, source), source, ctx.refresh_margin, ctx)


# ---------------------------------------------------------------------------------------------
# The chain


def _link(label: str, source: Callable[[_Ctx], CredentialProvider], unconfirmed: str = "") -> Link:
    """A strict link: a half-configured source (CredentialsError) is invalid and stops the chain;
    what it found is recorded as the credentials' masked description."""

    def fetch(ctx: _Ctx) -> Hit[CredentialProvider]:
        try:
            provider = source(ctx)
        except CredentialsError as exc:
            raise Invalid(str(exc)) from None
        return Hit(provider, provider.get(ctx.clock()).describe())

    return Link(label, fetch, strict=True, unconfirmed=unconfirmed)


#: The chain, in order. Extend by inserting a link.
SOURCES: List[Link[_Ctx, CredentialProvider]] = [
    _link("explicit arguments", _src_explicit),
    _link(f"{ENV_AK}/{ENV_SK}", _src_env_aksk),
    _link(ENV_AUTH_TOKEN, _src_env_token),
    _link(f"{ENV_IAM_USER}/{ENV_IAM_PASSWORD}", _src_iam_password),
    _link("modelarts Session", _src_session, UNCONFIRMED_SESSION),
    _link("metadata service", _src_metadata, UNCONFIRMED_METADATA),
]


def _run_chain(ctx: _Ctx) -> Resolution:
    known = _known_secrets(ctx)
    chain = Chain("credentials", SOURCES, failure_level=logging.WARNING)
    result = chain.run(ctx, secrets=known)
    records = result.records
    tried = [r.line() for r in records]
    if result.hit is not None:
        provider = result.hit.value
        provider.attempts = records
        return Resolution(provider, records, None, known + provider.get(ctx.clock()).secrets())
    if result.stopped is not None:  # half-configured: stop here, naming the mistake
        return Resolution(None, records, CredentialsError(result.stopped.detail, tried), known)
    return Resolution(None, records, CredentialsError(_nothing_message(records), tried), known)


def _nothing_message(records: Tuple[Record, ...]) -> str:
    tried = ", ".join(
        f"{r.source} ({'failed: ' + r.detail if r.outcome == 'failed' else r.detail or r.outcome})"
        for r in records
    )
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

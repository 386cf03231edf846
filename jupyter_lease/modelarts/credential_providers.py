"""Credentials, and the providers that hand them out: fixed, read off a ModelArts ``Session``,
or fetched and refreshed before they expire (IAM tokens, the metadata service's keys).

Secrets never leave this module unmasked except inside the request headers: ``repr`` and
``str`` show at most an AK's first 4 and last 2 characters.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from .._errors import CredentialsError
from ..core.chain import Record

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "RETRY_AFTER_FAILURE",
    "CredentialProvider",
    "Credentials",
    "FetchFailed",
    "RefreshingProvider",
    "SessionProvider",
    "StaticProvider",
    "mask",
    "parse_expires_at",
]

log = logging.getLogger(__name__)

#: Like huaweicloudsdkcore: refresh temporary credentials 40 min before they expire.
DEFAULT_REFRESH_MARGIN = 40 * 60.0
#: IAM tokens live 24 h; renew one an hour before the end.
IAM_REFRESH_MARGIN = 3600.0
#: After a failed refresh, wait this long before trying again (the old credentials still work).
RETRY_AFTER_FAILURE = 30.0


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
            from .signer import signed_headers

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
    attempts: Tuple[Record, ...] = ()  # the credential chain that chose this provider

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
        return credentials_from_session(self._session, self.source)


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


def credentials_from_session(session: Any, source: str) -> Credentials:
    ak = getattr(session, "access_key", None)
    sk = getattr(session, "secret_key", None)
    token = getattr(session, "security_token", None)
    if not (isinstance(ak, str) and ak and isinstance(sk, str) and sk):
        raise CredentialsError(f"{source} has no access_key/secret_key")
    return Credentials(ak=ak, sk=sk, security_token=token or None, source=source)

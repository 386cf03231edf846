"""The HTTP fetchers behind refreshing credentials: an IAM token for a user and password, and
the metadata service's temporary keys.  ``requests`` is imported lazily (``import
jupyter_lease`` must stay cheap); every error is one line, scrubbed of the secrets at hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

from .._errors import CredentialsError, scrub
from .credential_providers import Credentials, FetchFailed, parse_expires_at

if TYPE_CHECKING:
    import requests

__all__ = ["MetadataFetcher", "iam_fetcher", "new_session"]

METADATA_TIMEOUT = (0.5, 2.0)  # link-local: either it answers at once or it is not there
IAM_TIMEOUT = (3.05, 10.0)
METADATA_TOKEN_TTL = 21600  # seconds, what the SDK asks for


def new_session(trust_env: bool = True) -> requests.Session:
    import requests

    session = requests.Session()
    # Proxies from the environment must not see a link-local metadata request.
    session.trust_env = trust_env
    return session


def _http_error(what: str, exc: Exception, secrets: Tuple[Optional[str], ...]) -> FetchFailed:
    # requests' messages carry the URL, never the body; scrub anyway, of the secrets at hand too.
    detail = scrub(str(exc), secrets)[:160]
    return FetchFailed(f"{scrub(what, secrets)}: {type(exc).__name__}: {detail}")


def iam_fetcher(
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


class MetadataFetcher:
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

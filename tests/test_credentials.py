"""The credential chain: every source, precedence, refresh, masking — against the simulator."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace
from typing import Any, Callable, Dict, List

import pytest
import requests

from jupyter_lease._errors import CredentialsError
from jupyter_lease.modelarts import signer as _signer
from jupyter_lease.modelarts.credential_providers import (
    RETRY_AFTER_FAILURE,
    Credentials,
    RefreshingProvider,
    SessionProvider,
    StaticProvider,
    mask,
    parse_expires_at,
)
from jupyter_lease.modelarts.credentials import (
    metadata_enabled,
    resolve_credentials,
    try_resolve_credentials,
)
from jupyter_lease.simulator.app import Simulator
from tests.support.checks import assert_no_secret

AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
TOKEN = "MIIxyzSECRETtokenVALUE0123456789abcdefABCDEF+/=="
SECURITY = "gQSECURITYtokenVALUE0123456789abcdefXYZ"
PASSWORD = "hunter2-Very-Secret"
URL = "https://modelarts.cn-north-4.myhuaweicloud.com/v1/p/notebooks/n/lease"


def no_session() -> None:
    return None


def resolve(env: Dict[str, str], **kw: Any) -> Any:
    """resolve_credentials isolated from this machine: no ModelArts SDK, metadata by rule."""
    kw.setdefault("session_factory", no_session)
    return resolve_credentials(environ=env, **kw)


def lease_url(sim: Simulator) -> str:
    return f"{sim.url}/v1/{sim.project_id}/notebooks/{sim.notebook_id}/lease"


def get_lease(sim: Simulator, creds: Credentials) -> requests.Response:
    """The end-to-end check: one real, authenticated ShowLease against the simulator."""
    url = lease_url(sim)
    headers = creds.auth_headers("GET", url, b"", now=sim.now(), project_id=sim.project_id)
    return requests.get(url, headers=headers, timeout=5)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def iam_env(sim: Simulator, password: str = "sim-password") -> Dict[str, str]:
    return {
        "JUPYTER_LEASE_IAM_USER": "sim-user",
        "JUPYTER_LEASE_IAM_PASSWORD": password,
        "JUPYTER_LEASE_IAM_DOMAIN": "sim-domain",
        "JUPYTER_LEASE_IAM_ENDPOINT": sim.url,
    }


def session_module(ak: str, sk: str, token: str = "") -> str:
    return f"""
class Session:
    def __init__(self):
        self.access_key = {ak!r}
        self.secret_key = {sk!r}
        self.security_token = {token!r} or None
        self.project_id = "0123456789abcdef0123456789abcdef"
        self.region_name = "cn-north-4"
"""


# --- static sources and precedence ----------------------------------------------------------------


def test_explicit_arguments_win(simulator: Simulator) -> None:
    provider = resolve(simulator.environ(), ak=AK, sk=SK)
    assert provider.source == "explicit ak/sk"
    assert provider.get(0).ak == AK
    assert [a.outcome for a in provider.attempts] == ["found"]
    token = resolve(simulator.environ(), auth_token=TOKEN).get(0)
    assert token.auth_token == TOKEN and token.kind == "IAM token"


def test_env_aksk_signs_a_real_lease_call(simulator: Simulator) -> None:
    provider = resolve(simulator.environ())
    assert provider.source == "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK"
    assert isinstance(provider, StaticProvider)
    creds = provider.get(simulator.now())
    assert creds.kind == "AK/SK" and creds.expires_at is None
    response = get_lease(simulator, creds)
    assert response.status_code == 200, response.text
    assert simulator.requests()[-1]["auth"] == "aksk"


def test_env_security_token_makes_temporary_credentials() -> None:
    env = {
        "HUAWEICLOUD_SDK_AK": AK,
        "HUAWEICLOUD_SDK_SK": SK,
        "HUAWEICLOUD_SDK_SECURITY_TOKEN": SECURITY,
    }
    creds = resolve(env).get(0)
    assert creds.kind == "temporary AK/SK"
    headers = creds.auth_headers("GET", URL, b"", now=1.6e9, project_id="p")
    assert headers["X-Security-Token"] == SECURITY
    assert headers["X-Project-Id"] == "p"
    assert _signer.verify("GET", URL, headers, b"", sk=SK)
    assert not _signer.verify("GET", URL, headers, b"", sk=SK[::-1])


@pytest.mark.parametrize(
    "env, phrase",
    [
        ({"HUAWEICLOUD_SDK_AK": AK}, "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not"),
        ({"HUAWEICLOUD_SDK_SK": SK}, "HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not"),
        ({"HUAWEICLOUD_SDK_SECURITY_TOKEN": SECURITY}, "HUAWEICLOUD_SDK_SECURITY_TOKEN is set"),
        ({"JUPYTER_LEASE_IAM_USER": "u"}, "JUPYTER_LEASE_IAM_PASSWORD is not set"),
        ({"JUPYTER_LEASE_IAM_PASSWORD": PASSWORD}, "JUPYTER_LEASE_IAM_USER is not set"),
        (
            {"JUPYTER_LEASE_IAM_USER": "u", "JUPYTER_LEASE_IAM_PASSWORD": PASSWORD},
            "JUPYTER_LEASE_IAM_DOMAIN",
        ),
        (
            {
                "JUPYTER_LEASE_IAM_USER": "u",
                "JUPYTER_LEASE_IAM_PASSWORD": PASSWORD,
                "JUPYTER_LEASE_IAM_DOMAIN": "d",
            },
            "set JUPYTER_LEASE_REGION or JUPYTER_LEASE_IAM_ENDPOINT",
        ),
    ],
)
def test_half_configured_sources_are_clear_errors(env: Dict[str, str], phrase: str) -> None:
    def later_source_that_works() -> Any:
        return SimpleNamespace(access_key=AK, secret_key=SK, security_token=None)

    with pytest.raises(CredentialsError) as info:  # the later source must not paper over it
        resolve(env, use_metadata=False, session_factory=later_source_that_works)
    message = str(info.value)
    assert phrase in message
    assert "\n" not in message
    assert_no_secret(message, secrets=(AK, SK, SECURITY, PASSWORD, TOKEN))


def test_explicit_ak_without_sk_is_an_error() -> None:
    with pytest.raises(CredentialsError, match="sk is missing"):
        resolve({}, ak=AK)


def test_env_aksk_beats_token_and_iam_and_metadata(simulator: Simulator) -> None:
    env = {
        **simulator.environ(),
        "JUPYTER_LEASE_AUTH_TOKEN": TOKEN,
        **iam_env(simulator),
        "JUPYTER_LEASE_METADATA_URL": simulator.url,
    }
    assert resolve(env).source == "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK"
    del env["HUAWEICLOUD_SDK_AK"], env["HUAWEICLOUD_SDK_SK"]
    assert resolve(env).source == "JUPYTER_LEASE_AUTH_TOKEN"
    assert simulator.count() == 0  # neither IAM nor the metadata service was asked


def test_auth_token_headers() -> None:
    creds = resolve({"JUPYTER_LEASE_AUTH_TOKEN": f"  {TOKEN}\n"}).get(0)
    headers = creds.auth_headers("GET", URL, b"", now=0, project_id="p1")
    assert headers == {
        "X-Auth-Token": TOKEN,
        "X-Project-Id": "p1",
        "Content-Type": "application/json",
    }


# --- IAM password -> token ------------------------------------------------------------------------


def test_iam_password_token_reads_the_lease(simulator: Simulator) -> None:
    provider = resolve(iam_env(simulator), project_id=simulator.project_id)
    assert provider.source == f"IAM password of sim-user at {simulator.url}"
    creds = provider.get(simulator.now())
    assert creds.kind == "IAM token"
    assert creds.expires_at == pytest.approx(simulator.now() + 86400, abs=5)
    response = get_lease(simulator, creds)
    assert response.status_code == 200, response.text
    assert simulator.requests()[-1]["auth"] == "token"


def test_iam_scope_by_region_name_when_no_project_id(simulator: Simulator) -> None:
    provider = resolve(iam_env(simulator), region=simulator.region)
    assert get_lease(simulator, provider.get(simulator.now())).status_code == 200


def test_iam_default_endpoint_is_the_region(simulator: Simulator) -> None:
    env = {**iam_env(simulator), "JUPYTER_LEASE_AUTH_TOKEN": ""}
    del env["JUPYTER_LEASE_IAM_ENDPOINT"]
    resolution = try_resolve_credentials(
        environ=env,
        region="cn-north-4",
        project_id="p",
        session_factory=no_session,
        use_metadata=False,
        session=_refusing_session(),
    )
    (iam,) = [a for a in resolution.attempts if a.source.startswith("JUPYTER_LEASE_IAM_USER")]
    assert "https://iam.cn-north-4.myhuaweicloud.com" in iam.detail


def _refusing_session() -> requests.Session:
    """A real Session whose every request goes to a closed local port (no internet in tests)."""
    session = requests.Session()
    target = closed_port_url()

    class Redirect(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
            request.url = target + "/v3/auth/tokens"
            return super().send(request, **kw)

    session.mount("https://", Redirect())
    return session


def test_iam_token_is_refreshed_an_hour_before_expiry(simulator: Simulator) -> None:
    provider = resolve(iam_env(simulator), project_id=simulator.project_id)
    first = provider.get(simulator.now())
    simulator.advance(22.9 * 3600)
    assert provider.get(simulator.now()).auth_token == first.auth_token
    assert simulator.count("POST", "/v3/auth/tokens") == 1
    simulator.advance(0.2 * 3600)  # 23.1 h: inside the last hour
    second = provider.get(simulator.now())
    assert second.auth_token != first.auth_token
    assert simulator.count("POST", "/v3/auth/tokens") == 2
    simulator.advance(1 * 3600)  # the first token is now dead; the new one works
    simulator.set_lease(remaining=7200, status="RUNNING")  # its own lease ran out meanwhile
    assert get_lease(simulator, first).status_code == 401
    assert get_lease(simulator, second).status_code == 200


def test_wrong_iam_password_is_recorded_and_never_shown(simulator: Simulator) -> None:
    env = iam_env(simulator, password=PASSWORD)
    with pytest.raises(CredentialsError) as info:
        resolve(env, project_id=simulator.project_id, use_metadata=False)
    message = str(info.value)
    assert "IAM answered HTTP 401" in message
    assert message.startswith("no credentials: tried ")
    assert_no_secret(message + repr(info.value.tried), secrets=[PASSWORD])


def test_failing_iam_falls_through_to_the_next_source(simulator: Simulator) -> None:
    env = {**iam_env(simulator, password=PASSWORD), "JUPYTER_LEASE_METADATA_URL": simulator.url}
    provider = resolve(env, project_id=simulator.project_id)
    assert provider.source == f"metadata service {simulator.url}"
    outcomes = [(a.source, a.outcome) for a in provider.attempts]
    assert ("JUPYTER_LEASE_IAM_USER/JUPYTER_LEASE_IAM_PASSWORD", "failed") in outcomes


# --- ModelArts Session ----------------------------------------------------------------------------


def test_modelarts_session_credentials(simulator: Simulator, fake_modelarts: Callable) -> None:
    fake_modelarts(session_module(simulator.ak, simulator.sk))
    provider = resolve_credentials(environ={}, use_metadata=False)  # the default import hook
    assert isinstance(provider, SessionProvider)
    assert provider.source == "modelarts.session.Session()"
    assert get_lease(simulator, provider.get(simulator.now())).status_code == 200
    (found,) = [a for a in provider.attempts if a.outcome == "found"]
    assert found.unconfirmed and simulator.sk not in found.detail


def test_session_that_raises_is_recorded(fake_modelarts: Callable) -> None:
    fake_modelarts("class Session:\n    def __init__(self):\n        raise OSError('no agency')\n")
    resolution = try_resolve_credentials(environ={}, use_metadata=False)
    (attempt,) = [a for a in resolution.attempts if a.source == "modelarts Session"]
    assert (attempt.outcome, attempt.detail) == ("failed", "Session() failed: OSError: no agency")
    assert resolution.provider is None and resolution.error is not None


def test_a_session_whose_keys_raise_is_a_failed_source_not_a_crash(simulator: Simulator) -> None:
    """A broken SDK attribute is one failed row; the chain goes on to the metadata service."""

    class Broken:
        @property
        def access_key(self) -> str:
            raise RuntimeError(f"agency expired for {SK}")

    env = {"JUPYTER_LEASE_METADATA_URL": simulator.url}
    resolution = try_resolve_credentials(environ=env, session_factory=Broken)
    (attempt,) = [a for a in resolution.attempts if a.source == "modelarts Session"]
    assert (attempt.outcome, attempt.detail) == ("failed", "RuntimeError: agency expired for ***")
    assert resolution.provider is not None
    assert resolution.provider.source == f"metadata service {simulator.url}"


def test_session_without_keys_is_recorded(fake_modelarts: Callable) -> None:
    fake_modelarts(session_module("", ""))
    resolution = try_resolve_credentials(environ={}, use_metadata=False)
    (attempt,) = [a for a in resolution.attempts if a.source == "modelarts Session"]
    assert attempt.outcome == "failed" and "access_key" in attempt.detail


def test_session_beats_metadata(simulator: Simulator, fake_modelarts: Callable) -> None:
    fake_modelarts(session_module(AK, SK))
    env = {"JUPYTER_LEASE_METADATA_URL": simulator.url}
    assert resolve_credentials(environ=env).source == "modelarts.session.Session()"
    assert simulator.count() == 0


# --- metadata service -----------------------------------------------------------------------------


def test_metadata_credentials_sign_a_real_lease_call(simulator: Simulator) -> None:
    provider = resolve({"JUPYTER_LEASE_METADATA_URL": simulator.url + "/"})
    assert provider.source == f"metadata service {simulator.url}"
    creds = provider.get(simulator.now())
    assert creds.kind == "temporary AK/SK"
    assert creds.expires_at == pytest.approx(simulator.now() + 3600, abs=5)
    assert simulator.count("PUT", "/meta-data/latest/api/token") == 1
    assert simulator.count("GET", "/openstack/latest/securitykey") == 1
    response = get_lease(simulator, creds)
    assert response.status_code == 200, response.text
    assert simulator.requests()[-1]["auth"] == "temporary"


def test_metadata_without_session_token_falls_back_to_plain_get(simulator: Simulator) -> None:
    simulator.inject("503", path="/meta-data/latest/api/token")
    provider = resolve({"JUPYTER_LEASE_METADATA_URL": simulator.url})
    assert get_lease(simulator, provider.get(simulator.now())).status_code == 200
    assert simulator.count("GET", "/openstack/latest/securitykey") == 1


def test_slow_session_token_endpoint_falls_back_to_plain_get(simulator: Simulator) -> None:
    simulator.inject("latency", path="/meta-data/latest/api/token", seconds=2.3)  # > read timeout
    provider = resolve({"JUPYTER_LEASE_METADATA_URL": simulator.url})
    assert get_lease(simulator, provider.get(simulator.now())).status_code == 200


def test_expired_metadata_session_token_is_replaced(simulator: Simulator) -> None:
    provider = resolve({"JUPYTER_LEASE_METADATA_URL": simulator.url})
    simulator.advance(6 * 3600 + 60)  # the 21600 s session token (and the credentials) expired
    creds = provider.get(simulator.now())
    assert simulator.count("PUT", "/meta-data/latest/api/token") == 2
    assert simulator.count("GET", "/openstack/latest/securitykey") == 3  # 1, then 401, then ok
    simulator.set_lease(remaining=7200, status="RUNNING")
    assert get_lease(simulator, creds).status_code == 200


def test_metadata_refreshes_before_expiry(simulator: Simulator) -> None:
    provider = resolve({"JUPYTER_LEASE_METADATA_URL": simulator.url})
    first = provider.get(simulator.now())
    # lifetime 1 h: the 40 min margin is capped at half of it, 30 min
    simulator.advance(29 * 60)
    assert provider.get(simulator.now()) is first
    assert simulator.count("GET", "/openstack/latest/securitykey") == 1
    simulator.advance(2 * 60)
    second = provider.get(simulator.now())
    assert second.ak != first.ak
    assert simulator.count("GET", "/openstack/latest/securitykey") == 2
    simulator.advance(31 * 60)  # first has expired on the server; second is still good
    assert get_lease(simulator, first).status_code == 401
    assert get_lease(simulator, second).status_code == 200


def test_long_lived_metadata_credentials_use_the_40_minute_margin() -> None:
    with Simulator(metadata_ttl=6 * 3600) as sim:
        provider = resolve({"JUPYTER_LEASE_METADATA_URL": sim.url})
        first = provider.get(sim.now())
        sim.advance(6 * 3600 - 41 * 60)
        assert provider.get(sim.now()) is first
        sim.advance(2 * 60)
        assert provider.get(sim.now()).ak != first.ak


def test_failed_refresh_keeps_old_credentials_until_they_expire(simulator: Simulator) -> None:
    keys = "/openstack/latest/securitykey"
    provider = resolve({"JUPYTER_LEASE_METADATA_URL": simulator.url})
    first = provider.get(simulator.now())
    simulator.inject("503", count=100, path=keys)
    simulator.advance(40 * 60)
    assert provider.get(simulator.now()) is first  # refresh failed, old ones still valid
    assert simulator.count("GET", keys) == 2
    assert provider.get(simulator.now() + 1) is first  # no hammering right after a failure
    assert simulator.count("GET", keys) == 2
    assert get_lease(simulator, first).status_code == 200
    simulator.advance(21 * 60)  # past expires_at, the service still failing
    with pytest.raises(CredentialsError) as info:
        provider.get(simulator.now())
    assert "expired and could not be refreshed" in str(info.value)
    assert "HTTP 503" in str(info.value)
    assert_no_secret(str(info.value), secrets=(first.sk, str(first.security_token), str(first.ak)))
    simulator.clear_faults()
    simulator.advance(RETRY_AFTER_FAILURE)
    assert get_lease(simulator, provider.get(simulator.now())).status_code == 200


def test_unreachable_metadata_service_fails_fast_and_is_listed() -> None:
    started = time.monotonic()
    with pytest.raises(CredentialsError) as info:
        resolve({"JUPYTER_LEASE_METADATA_URL": closed_port_url()})
    assert time.monotonic() - started < 2
    assert "metadata service (failed: metadata service http://127.0.0.1:" in str(info.value)


def test_bad_metadata_url_is_an_error() -> None:
    with pytest.raises(CredentialsError, match="JUPYTER_LEASE_METADATA_URL='ftp://x'"):
        resolve({"JUPYTER_LEASE_METADATA_URL": "ftp://x"})


def test_metadata_rule() -> None:
    assert metadata_enabled({})[0] is False
    assert "JUPYTER_LEASE_METADATA_URL" in metadata_enabled({})[1]
    assert metadata_enabled({"JUPYTER_LEASE_METADATA_URL": "http://x"})[0] is True
    assert metadata_enabled({"MA_APIGW_ENDPOINT": "https://x"}) == (
        True,
        "inside ModelArts (MA_APIGW_ENDPOINT is set)",
    )
    assert metadata_enabled({"JUPYTER_LEASE_METADATA_URL": "http://x"}, False)[0] is False
    assert metadata_enabled({}, True)[0] is True


def test_inside_modelarts_the_default_metadata_url_is_tried(simulator: Simulator) -> None:
    resolution = try_resolve_credentials(
        environ={"USER": "ma-user"},
        session_factory=no_session,
        session=_refusing_session_for("http://169.254.169.254"),
    )
    (meta,) = [a for a in resolution.attempts if a.source == "metadata service"]
    assert meta.outcome == "failed"
    assert "169.254.169.254" in meta.detail


def _refusing_session_for(prefix: str) -> requests.Session:
    """Sends whatever would go to ``prefix`` to a closed local port instead."""
    session = requests.Session()
    session.trust_env = False
    target = closed_port_url()

    class Redirect(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
            assert request.url is not None and request.url.startswith(prefix)
            request.url = target + request.url[len(prefix) :]
            return super().send(request, **kw)

    session.mount("http://", Redirect())
    return session


# --- nothing works --------------------------------------------------------------------------------


def test_no_credentials_is_one_line_listing_every_source() -> None:
    with pytest.raises(CredentialsError) as info:
        resolve({})
    message = str(info.value)
    assert message == (
        "no credentials: tried explicit arguments (not given), "
        "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK (not set), JUPYTER_LEASE_AUTH_TOKEN (not set), "
        "JUPYTER_LEASE_IAM_USER/JUPYTER_LEASE_IAM_PASSWORD (not set), "
        "modelarts Session (modelarts SDK not installed), "
        "metadata service (not inside ModelArts; set JUPYTER_LEASE_METADATA_URL to enable) "
        "— set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK"
    )
    assert len(info.value.tried) == 6


# --- masking and value objects --------------------------------------------------------------------


def test_credentials_never_show_secrets() -> None:
    creds = Credentials(ak=AK, sk=SK, security_token=SECURITY, expires_at=1.8e9, source="s")
    token = Credentials(auth_token=TOKEN, source="t")
    for text in (repr(creds), str(creds), creds.describe(), repr(token), str(token)):
        assert_no_secret(text, secrets=(AK, SK, SECURITY, TOKEN))
    assert "QTWA…UC" in repr(creds) and "QTWA…UC" in str(creds)
    assert "temporary" in str(creds) and "2027-01-15T08:00:00Z" in str(creds)
    assert repr(StaticProvider(creds)) == "StaticProvider(source='s')"


def test_attempts_and_errors_are_masked(simulator: Simulator) -> None:
    provider = resolve({**simulator.environ(), "JUPYTER_LEASE_AUTH_TOKEN": TOKEN})
    text = repr(provider) + repr(provider.attempts) + repr(provider.get(0))
    assert_no_secret(text, secrets=(simulator.sk, simulator.ak))
    assert mask(simulator.ak) in text


def test_mask() -> None:
    assert mask(AK) == "QTWA…UC"
    assert mask("short") == "***"
    assert mask(None) == "(none)"


def test_credentials_must_be_complete() -> None:
    with pytest.raises(CredentialsError):
        Credentials(ak=AK, source="x")
    with pytest.raises(AttributeError):
        Credentials(ak=AK, sk=SK).ak = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text, epoch",
    [
        ("2026-11-27T12:00:00.000000Z", 1795780800.0),
        ("2026-11-27T12:00:00Z", 1795780800.0),
        ("2026-11-27T20:00:00+08:00", 1795780800.0),
        ("2026-11-27T12:00:00.5", 1795780800.5),
    ],
)
def test_parse_expires_at(text: str, epoch: float) -> None:
    assert parse_expires_at(text) == epoch


def test_parse_expires_at_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_expires_at("tomorrow")


# --- refresh policy without a network -------------------------------------------------------------


class Issuer:
    """A fetch function issuing numbered credentials that live ``lifetime`` seconds."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self.calls: List[float] = []
        self.fail = False

    def __call__(self, now: float) -> Credentials:
        from jupyter_lease.modelarts.credential_providers import FetchFailed

        self.calls.append(now)
        if self.fail:
            raise FetchFailed("issuer down")
        return Credentials(
            ak=f"AK{len(self.calls):018d}", sk=SK, expires_at=now + self.lifetime, source="i"
        )


def test_margin_is_capped_at_half_the_lifetime() -> None:
    issuer = Issuer(lifetime=600)
    provider = RefreshingProvider(issuer, "i", refresh_margin=2400, clock=lambda: 0.0)
    provider.get(0)
    assert provider.refresh_due(0) == 300
    provider.get(299)
    assert len(issuer.calls) == 1
    provider.get(300)
    assert issuer.calls == [0, 300]


def test_clock_is_used_when_no_now_is_given() -> None:
    now = [1000.0]
    issuer = Issuer(lifetime=3600)
    provider = RefreshingProvider(issuer, "i", clock=lambda: now[0])
    provider.get()
    now[0] += 1801
    provider.get()
    assert issuer.calls == [1000.0, 2801.0]


def test_first_fetch_failure_raises() -> None:
    issuer = Issuer(lifetime=600)
    issuer.fail = True
    with pytest.raises(CredentialsError, match="issuer down"):
        RefreshingProvider(issuer, "i").get(0)


# --- the secrets in use never reach a message -----------------------------------------------------
# Four shapes the key-shape heuristic alone once let through. The server echoes the secret in
# its error message; the client, the CLI and doctor mask it because it is a secret in use.

ECHOED = {
    "AK of letters only": ("HUAWEICLOUD_SDK_AK", "QWERTYUIOPASDFGHJKLZ"),
    "SK in lower case": ("HUAWEICLOUD_SDK_SK", "m4yfvk41ba2giqm7uio6pznpdukgpownrzlmvmhc"),
    "token of 32 hex digits": ("JUPYTER_LEASE_AUTH_TOKEN", "5f0d8a2b1c3e4f5a6b7c8d9e0f1a2b3c"),
    "dotted token, short pieces": ("JUPYTER_LEASE_AUTH_TOKEN", "q7vb.x2nd.k9wm"),
}


def echoing_simulator(name: str, secret: str) -> Simulator:
    """A simulator that knows the secret (an AK/SK shape is its own key) and echoes it back."""
    keys = {"HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_SDK_SK": "sk"}
    sim = Simulator(**({keys[name]: secret} if name in keys else {})).start()
    sim.inject("403", count=5, message=f"no permission for {secret} in this project")
    return sim


def echo_env(sim: Simulator, name: str, secret: str) -> Dict[str, str]:
    env = {**sim.environ(), name: secret}
    if name == "JUPYTER_LEASE_AUTH_TOKEN":  # the token must be what signs, not the sim's AK/SK
        del env["HUAWEICLOUD_SDK_AK"], env["HUAWEICLOUD_SDK_SK"]
    return env


def run_cli(args: List[str], env: Dict[str, str]) -> Any:
    import os
    import subprocess
    import sys

    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_LEASE_", "HUAWEICLOUD_"))
    }
    base["JUPYTER_LEASE_CACHE_DIR"] = os.environ["JUPYTER_LEASE_CACHE_DIR"]
    return subprocess.run(
        [sys.executable, "-m", "jupyter_lease", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("shape", list(ECHOED))
def test_a_secret_echoed_by_the_server_never_reaches_a_message(shape: str) -> None:
    from jupyter_lease._errors import PermissionDeniedError
    from jupyter_lease.modelarts.client import LeaseClient
    from jupyter_lease.modelarts.discovery import discover

    name, secret = ECHOED[shape]
    with echoing_simulator(name, secret) as sim:
        env = echo_env(sim, name, secret)
        client = LeaseClient(discover(environ=env), resolve(env, use_metadata=False))
        with pytest.raises(PermissionDeniedError) as info:
            client.show()
        assert "no permission for *** in this project" in str(info.value)
        status = run_cli(["status"], env)
        doctor = run_cli(["doctor", "--check"], env)
    assert status.returncode == 1 and status.stderr.startswith("jupyter lease: error: ShowLease")
    assert "ShowLease failed" in doctor.stdout
    texts = [str(info.value), repr(info.value.args), status.stderr, status.stdout, doctor.stdout]
    assert_no_secret("\n".join(texts + [doctor.stderr]), secrets=[secret])


def test_network_errors_are_scrubbed_of_the_secrets_in_use() -> None:
    from jupyter_lease.modelarts.api_errors import network_error as _network_error

    secret = "q7vb.x2nd.k9wm"
    try:
        requests.get(closed_port_url(), timeout=5)
    except requests.RequestException as exc:
        error = _network_error(exc, "ShowLease", f"http://{secret}:8443", (secret,))
    assert str(error) == "ShowLease: connection refused by http://***:8443"


def test_a_failing_source_does_not_echo_a_secret_of_the_chain(
    simulator: Simulator, fake_modelarts: Callable
) -> None:
    """IAM refuses, then the ModelArts SDK fails with the IAM password in its message."""
    from jupyter_lease.doctor.report import DoctorOptions, run_doctor

    password = "5f0d8a2b1c3e4f5a6b7c8d9e0f1a2b3c"
    fake_modelarts(
        "class Session:\n    def __init__(self):\n"
        f"        raise RuntimeError('login refused: {password}')\n"
    )
    env = iam_env(simulator, password=password)
    resolution = try_resolve_credentials(
        environ=env, project_id=simulator.project_id, use_metadata=False
    )
    (attempt,) = [a for a in resolution.attempts if a.source == "modelarts Session"]
    assert attempt.detail == "Session() failed: RuntimeError: login refused: ***"
    report = run_doctor(DoctorOptions(environ=env, use_metadata=False))
    texts = [repr(resolution), str(resolution.error), report.to_text(), report.to_html()]
    assert_no_secret("\n".join(texts), secrets=[password])


def test_doctor_scrubs_the_secrets_in_use_from_every_cell(simulator: Simulator) -> None:
    from jupyter_lease.doctor.report import DoctorOptions, run_doctor

    name, token = ECHOED["token of 32 hex digits"]
    env = echo_env(simulator, name, token)
    report = run_doctor(
        DoctorOptions(environ=env, endpoint_check=f"ShowLease failed: server said {token}")
    )
    (row,) = report.section("Connectivity").rows
    assert row.value == "ShowLease failed: server said ***"
    assert_no_secret(report.to_text() + report.to_html() + repr(report.to_dict()), secrets=[token])

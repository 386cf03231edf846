"""LeaseClient against the simulator over real HTTP: calls, errors, retries, clock offset."""

from __future__ import annotations

import shutil
import socket
import subprocess
from datetime import timedelta

import pytest

from jupyter_lease._errors import (
    APIError,
    AuthenticationError,
    BadResponseError,
    DurationError,
    ExtendRefusedError,
    LeaseFormatError,
    NetworkError,
    NotFoundError,
    NotRunningError,
    PermissionDeniedError,
    RequestTimeout,
    ServerError,
    ThrottledError,
    UsageError,
)
from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.modelarts.lease import StopKind
from jupyter_lease.simulator.app import Simulator
from tests.support.factories import Sleeps, make_client


def api_calls(sim: Simulator, method: str | None = None) -> int:
    return sim.count(method=method, path_suffix="/lease")


def test_show_reads_the_simulated_lease(simulator):
    simulator.set_lease(remaining=1800)
    client = make_client(simulator)
    lease = client.show()
    left = lease.remaining(client.server_now())
    # server_now() comes from the Date header: 1 s resolution, so ±1 s is the accuracy promised.
    assert abs(left - timedelta(minutes=30)) < timedelta(seconds=1.5)
    assert client.last_request_id and len(client.last_request_id) >= 16


def test_renew_validates_then_reads_back(simulator):
    simulator.set_lease(remaining=600)
    client = make_client(simulator)
    lease = client.renew("2h")
    assert abs(lease.remaining(simulator.now()) - timedelta(hours=2)) < timedelta(seconds=5)
    methods = [r["method"] for r in simulator.requests() if r["path"].endswith("/lease")]
    # The kind of stop checked, renewed, then read again rather than computed.
    assert methods == ["GET", "PATCH", "GET"]


@pytest.mark.parametrize("duration", ["30m", "73h", "59m59s", "99999999999999h", 1e400])
def test_renew_out_of_bounds_never_reaches_the_server(simulator, duration):
    client = make_client(simulator)
    with pytest.raises(DurationError, match="between 1h and 72h|too long"):
        client.renew(duration)
    assert api_calls(simulator) == 0


@pytest.mark.parametrize(
    "lease, fragment",
    [
        ({"lease_type": "IDLE"}, "stops after 1 h 00 min idle, not at a fixed time"),
        ({"enabled": False}, "auto-stop is off"),
    ],
    ids=["idle", "auto-stop-off"],
)
def test_renew_keeps_the_kind_of_stop_unless_forced(simulator, lease, fragment):
    simulator.set_lease(duration_ms=3_600_000, **lease)
    client = make_client(simulator)
    with pytest.raises(ExtendRefusedError) as err:
        client.renew("2h")
    assert fragment in str(err.value) and "--force" in str(err.value)
    assert "\n" not in str(err.value) and isinstance(err.value, UsageError)
    assert api_calls(simulator, "PATCH") == 0  # read, never changed
    renewed = client.renew("2h", force=True)
    assert renewed.kind is StopKind.TIMED
    assert abs(renewed.remaining(simulator.now()) - timedelta(hours=2)) < timedelta(seconds=5)


def test_notebook_status_and_stop_at_deadline(simulator):
    simulator.set_lease(remaining=120)
    client = make_client(simulator)
    assert client.notebook().running
    simulator.advance(121)
    info = client.notebook()
    assert info.status == "STOPPED" and not info.running
    with pytest.raises(NotRunningError) as err:
        client.show()
    assert err.value.code == "ModelArts.6327" and err.value.request_id


def test_unknown_notebook_is_not_found(simulator):
    client = make_client(
        simulator, {"JUPYTER_LEASE_NOTEBOOK_ID": "00000000-0000-0000-0000-000000000000"}
    )
    with pytest.raises(NotFoundError) as err:
        client.show()
    assert err.value.status == 400 and err.value.code == "ModelArts.6309"
    assert "JUPYTER_LEASE_NOTEBOOK_ID" in str(err.value)


def test_not_found_on_404_too():
    with Simulator(not_found_status=404) as sim:
        client = make_client(
            sim, {"JUPYTER_LEASE_NOTEBOOK_ID": "00000000-0000-0000-0000-000000000001"}
        )
        with pytest.raises(NotFoundError) as err:
            client.show()
        assert err.value.status == 404


def test_wrong_project_is_forbidden_and_not_retried(simulator):
    client = make_client(simulator, {"JUPYTER_LEASE_PROJECT_ID": "0" * 32})
    with pytest.raises(PermissionDeniedError):
        client.show()
    assert api_calls(simulator) == 1


def test_wrong_sk_fails_once_never_retried(simulator):
    sleeps = Sleeps()
    client = make_client(simulator, {"HUAWEICLOUD_SDK_SK": "x" * 40}, sleep=sleeps)
    with pytest.raises(AuthenticationError) as err:
        client.show()
    assert err.value.status == 401 and err.value.code == "APIG.0301"
    assert api_calls(simulator) == 1 and sleeps == []
    assert "x" * 40 not in str(err.value)


def test_date_skew_rejected_then_corrected_by_the_measured_offset(simulator):
    local_clock_behind = lambda: simulator.now() - 16 * 60  # noqa: E731
    client = make_client(simulator, clock=local_clock_behind)
    with pytest.raises(AuthenticationError) as err:
        client.show()
    assert err.value.code == "APIG.0303" and "clock" in str(err.value)
    assert client.clock_offset == pytest.approx(16 * 60, abs=2)
    # The rejected answer carried the server's Date: the next request is signed correctly.
    client.show()
    assert api_calls(simulator) == 2


def test_clock_offset_follows_the_server(simulator):
    simulator.advance(600)
    client = make_client(simulator)
    client.show()
    assert client.clock_offset == pytest.approx(600, abs=1.5)


def test_retries_5xx_with_backoff_then_succeeds(simulator):
    simulator.inject("503", count=2)
    sleeps = Sleeps()
    client = make_client(simulator, sleep=sleeps, jitter=lambda: 1.0)
    client.show()
    assert api_calls(simulator) == 3
    assert sleeps == [0.5, 1.0]  # full jitter at its maximum: base, then doubled


def test_gives_up_after_the_policy_attempts(simulator):
    simulator.inject("500", count=10)
    client = make_client(simulator, retry=RetryPolicy(attempts=3))
    with pytest.raises(ServerError) as err:
        client.show()
    assert api_calls(simulator) == 3 and err.value.status == 500


def test_429_honours_retry_after(simulator):
    simulator.inject("429", count=1, retry_after=7)
    sleeps = Sleeps()
    make_client(simulator, sleep=sleeps).show()
    assert sleeps == [7]


def test_429_with_a_long_retry_after_is_left_to_the_caller(simulator):
    simulator.inject("429", count=1, retry_after=120)
    sleeps = Sleeps()
    with pytest.raises(ThrottledError) as err:
        make_client(simulator, sleep=sleeps).show()
    assert err.value.retry_after == 120 and sleeps == []


def test_read_timeout(simulator):
    simulator.inject("latency", count=1, seconds=1.5)
    client = make_client(simulator, timeout=(1.0, 0.3), retry=RetryPolicy(attempts=1))
    with pytest.raises(RequestTimeout, match="timed out reading"):
        client.show()


@pytest.mark.parametrize(
    "fault, params, error, fragment",
    [
        ("malformed_json", {}, BadResponseError, "malformed JSON"),
        ("missing_field", {"field": "create_at"}, LeaseFormatError, "'create_at' is missing"),
        ("ill_typed_field", {}, LeaseFormatError, "'duration' should be an integer"),
        ("negative_duration", {}, LeaseFormatError, "negative"),
    ],
)
def test_bad_bodies_become_clear_errors(simulator, fault, params, error, fragment):
    simulator.inject(fault, count=1, **params)
    with pytest.raises(error, match=fragment):
        make_client(simulator).show()


@pytest.mark.parametrize("fault", ["drop", "reset_mid_body"])
def test_broken_connections_are_network_errors_and_retried(simulator, fault):
    simulator.inject(fault, count=1)
    sleeps = Sleeps()
    make_client(simulator, sleep=sleeps).show()  # the retry succeeds
    assert len(sleeps) == 1


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        with Simulator() as sim:
            env = {"JUPYTER_LEASE_ENDPOINT": f"http://127.0.0.1:{port}"}
            client = make_client(sim, env, retry=RetryPolicy(attempts=1))
            with pytest.raises(NetworkError, match="refused"):
                client.show()


def test_every_api_error_names_the_call_and_hides_secrets(simulator):
    for fault in ("401", "403", "500", "not_found", "not_running"):
        simulator.inject(fault, count=5)
        client = make_client(simulator, retry=RetryPolicy(attempts=1))
        with pytest.raises(APIError) as err:
            client.show()
        text = str(err.value)
        assert text.startswith("ShowLease") and "\n" not in text
        for secret in (simulator.sk, simulator.ak):
            assert secret not in text and secret not in repr(client)
        simulator.clear_faults()


@pytest.fixture
def self_signed(tmp_path):
    """A certificate for 127.0.0.1 made with the openssl command (a test-only tool)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_tls_is_verified_and_honours_requests_ca_bundle(self_signed, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with Simulator(tls=self_signed) as sim:
        assert sim.url.startswith("https://")
        client = make_client(sim, retry=RetryPolicy(attempts=1))
        with pytest.raises(NetworkError, match="TLS verification failed"):
            client.show()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", self_signed[0])
        assert make_client(sim).show().enabled

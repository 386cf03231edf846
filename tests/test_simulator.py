"""The simulator over real HTTP: `requests` + `_signer.signed_headers`, no mocks."""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import socket
import threading
import time
import uuid
from typing import Any, Dict, Optional

import pytest
import requests

from jupyter_lease._errors import UsageError
from jupyter_lease.modelarts.signer import signed_headers
from jupyter_lease.simulator.app import (
    DEFAULT_AK,
    DEFAULT_NOTEBOOK_ID,
    DEFAULT_PROJECT_ID,
    DEFAULT_SK,
    FAULTS,
    Simulator,
    SimulatorControl,
)
from jupyter_lease.simulator.http import Request, is_loopback

HOUR_MS = 3_600_000
FROZEN = 1_800_000_000.0  # a fixed simulator clock for exact boundary tests


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False  # never through a proxy: the simulator is on loopback
    yield session
    session.close()


def api_url(sim: Simulator, tail: str = "/lease", *, project_id=None, notebook_id=None, query=""):
    url = f"{sim.url}/v1/{project_id or sim.project_id}/notebooks/{notebook_id or sim.notebook_id}"
    return url + tail + (f"?{query}" if query else "")


def call(
    sim: Simulator,
    http: requests.Session,
    method: str = "GET",
    tail: str = "/lease",
    *,
    body: Any = b"",
    query: str = "",
    project_id: Optional[str] = None,
    notebook_id: Optional[str] = None,
    ak: Optional[str] = None,
    sk: Optional[str] = None,
    now: Optional[float] = None,
    security_token: Optional[str] = None,
    timeout: float = 5.0,
) -> requests.Response:
    """A signed ModelArts call, exactly as a client would send it."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    url = api_url(sim, tail, project_id=project_id, notebook_id=notebook_id, query=query)
    headers = signed_headers(
        method,
        url,
        body,
        ak=ak or sim.ak,
        sk=sk or sim.sk,
        now=sim.now() if now is None else now,
        project_id=project_id or sim.project_id,
        security_token=security_token,
    )
    return http.request(method, url, headers=headers, data=body, timeout=timeout)


def error_code(response: requests.Response) -> str:
    return response.json()["error_code"]


def deadline(lease: Dict[str, Any]) -> int:
    return lease["create_at"] + lease["duration"]


# -- ShowLease / ShowNotebook ---------------------------------------------------------------


def test_show_lease_shape_and_response_headers(simulator, http):
    response = call(simulator, http)
    assert response.status_code == 200
    lease = response.json()
    assert set(lease) == {"create_at", "duration", "enable", "type", "update_at"}
    assert lease["duration"] == 7_200_000 and lease["type"] == "TIMING" and lease["enable"] is True
    assert all(isinstance(lease[k], int) for k in ("create_at", "duration", "update_at"))
    assert abs(lease["create_at"] - simulator.now() * 1000) < 5_000
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Request-Id"] == simulator.requests()[-1]["request_id"]


def test_date_header_comes_from_the_simulator_clock(simulator, http):
    simulator.advance(600)
    response = call(simulator, http)
    served = email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()
    assert abs(served - simulator.now()) < 2
    assert abs(served - time.time() - 600) < 2


def test_show_notebook(simulator, http):
    response = call(simulator, http, tail="")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "name", "status", "flavor", "url", "lease"}
    assert body["url"].endswith(f"/{simulator.notebook_id}/lab")  # the API's examples' shape
    assert body["id"] == simulator.notebook_id and body["status"] == "RUNNING"
    assert body["flavor"] == "modelarts.vm.cpu.2u"
    assert body["lease"] == call(simulator, http).json()


def test_several_notebooks_have_their_own_leases(simulator, http):
    simulator.add_notebook("nb-two", lease=30)
    simulator.advance(31)
    assert call(simulator, http, tail="", notebook_id="nb-two").json()["status"] == "STOPPED"
    assert call(simulator, http, tail="").json()["status"] == "RUNNING"


# -- RenewLease -----------------------------------------------------------------------------


def test_renew_counts_from_now_and_keeps_create_at(simulator, http):
    before = simulator.set_lease(remaining=600)
    simulator.advance(100)
    response = call(simulator, http, "PATCH", body={"duration": 2 * HOUR_MS, "type": "TIMING"})
    assert response.status_code == 200
    lease = response.json()
    assert lease["create_at"] == before["create_at"]
    assert deadline(lease) == lease["update_at"] + 2 * HOUR_MS
    assert abs(lease["update_at"] - simulator.now() * 1000) < 2_000
    assert lease["type"] == "TIMING" and lease["enable"] is True
    assert call(simulator, http).json() == lease


def test_renew_defaults_to_one_hour(simulator, http):
    lease = call(simulator, http, "PATCH").json()
    assert deadline(lease) == lease["update_at"] + HOUR_MS
    lease = call(simulator, http, "PATCH", body={"type": "TIMING"}).json()
    assert deadline(lease) == lease["update_at"] + HOUR_MS


def test_renew_query_overrides_body_and_forces_timing(simulator, http):
    simulator.set_lease(lease_type="IDLE", enabled=False)
    body = {"duration": 1, "type": "IDLE"}
    response = call(simulator, http, "PATCH", body=body, query=f"duration={3 * HOUR_MS}")
    assert response.status_code == 200
    lease = response.json()
    assert deadline(lease) == lease["update_at"] + 3 * HOUR_MS
    assert lease["type"] == "TIMING" and lease["enable"] is True


@pytest.mark.parametrize(
    ("duration", "status"),
    [
        (HOUR_MS - 1, 400),
        (HOUR_MS, 200),
        (72 * HOUR_MS, 200),
        (72 * HOUR_MS + 1, 400),
        (0, 400),
        (-HOUR_MS, 400),
    ],
)
@pytest.mark.parametrize("where", ["body", "query"])
def test_renew_bounds(simulator, http, duration, status, where):
    if where == "body":
        response = call(simulator, http, "PATCH", body={"duration": duration, "type": "TIMING"})
    else:
        response = call(simulator, http, "PATCH", query=f"duration={duration}")
    assert response.status_code == status
    if status == 400:
        assert error_code(response) == "ModelArts.6349"
        assert call(simulator, http).json()["duration"] == 7_200_000  # unchanged
    else:
        assert deadline(response.json()) == response.json()["update_at"] + duration


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ({"duration": "abc"}, ""),
        ({"duration": 3_600_000.5}, ""),
        ({"duration": True}, ""),
        ({"duration": None}, ""),
        (b"{not json", ""),
        (b"[3600000]", ""),
        (b"", "duration=abc"),
        (b"", "duration="),
        (b"", "duration=3600000.0"),
    ],
)
def test_renew_rejects_non_integers(simulator, http, body, query):
    response = call(simulator, http, "PATCH", body=body, query=query)
    assert response.status_code == 400 and error_code(response) == "ModelArts.6346"


# -- the deadline ---------------------------------------------------------------------------


def test_instance_stops_at_the_deadline(simulator, http):
    simulator.set_lease(remaining=60)
    simulator.advance(59)
    assert call(simulator, http).status_code == 200
    simulator.advance(1.5)
    for method in ("GET", "PATCH"):
        response = call(simulator, http, method)
        assert response.status_code == 400 and error_code(response) == "ModelArts.6327"
        assert "not running" in response.json()["error_msg"]
    notebook = call(simulator, http, tail="")
    assert notebook.status_code == 200 and notebook.json()["status"] == "STOPPED"


@pytest.mark.parametrize(("duration_ms", "status"), [(1000, "STOPPED"), (1001, "RUNNING")])
def test_deadline_inequality_is_now_at_or_after(http, duration_ms, status):
    with Simulator(clock=lambda: FROZEN) as sim:
        sim.set_lease(create_at_ms=int(FROZEN * 1000) - 1000, duration_ms=duration_ms)
        assert call(sim, http, tail="").json()["status"] == status


def test_disabled_and_idle_leases_never_stop_the_instance(simulator, http):
    simulator.add_notebook("idle-nb", lease=10, lease_type="IDLE")
    simulator.set_lease(remaining=10, enabled=False)
    simulator.advance(3600)
    assert call(simulator, http, tail="").json()["status"] == "RUNNING"
    assert call(simulator, http, tail="", notebook_id="idle-nb").json()["status"] == "RUNNING"


def test_set_lease_can_restart_a_stopped_instance(simulator, http):
    simulator.set_lease(remaining=-1)
    assert call(simulator, http).status_code == 400
    simulator.set_lease(remaining=600, status="RUNNING")
    assert call(simulator, http).status_code == 200


# -- not found, wrong project, unknown API ---------------------------------------------------


@pytest.mark.parametrize("tail", ["/lease", ""])
def test_unknown_notebook(simulator, http, tail):
    response = call(simulator, http, tail=tail, notebook_id=str(uuid.UUID(int=7)))
    assert response.status_code == 400 and error_code(response) == "ModelArts.6309"


def test_unknown_notebook_status_is_configurable(http):
    with Simulator(not_found_status=404) as sim:
        response = call(sim, http, notebook_id="missing")
        assert response.status_code == 404 and error_code(response) == "ModelArts.6309"
    with pytest.raises(UsageError):
        Simulator(not_found_status=500)


def test_wrong_project_is_forbidden(simulator, http):
    response = call(simulator, http, project_id="0" * 32)
    assert response.status_code == 403 and error_code(response) == "ModelArts.0210"


@pytest.mark.parametrize(("method", "tail"), [("DELETE", "/lease"), ("PATCH", ""), ("GET", "/x")])
def test_unknown_api(simulator, http, method, tail):
    response = call(simulator, http, method, tail=tail)
    assert response.status_code == 404 and error_code(response) == "APIG.0101"


# -- AK/SK authentication --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"sk": "x" * 40}, "APIG.0301", "signature"),
        ({"ak": "NOSUCHACCESSKEY00000"}, "APIG.0301", "does not exist"),
        ({"now_delta": -16 * 60}, "APIG.0303", "15 minutes"),
        ({"now_delta": +16 * 60}, "APIG.0303", "15 minutes"),
    ],
)
def test_aksk_rejections(simulator, http, change, code, fragment):
    now = simulator.now() + change.pop("now_delta", 0)
    response = call(simulator, http, now=now, **change)
    assert response.status_code == 401 and error_code(response) == code
    assert fragment in response.json()["error_msg"]
    assert simulator.requests()[-1]["auth"] == "aksk"


def test_fourteen_minutes_of_skew_is_tolerated(simulator, http):
    assert call(simulator, http, now=simulator.now() - 14 * 60).status_code == 200


def test_skew_check_can_be_disabled(http):
    with Simulator(max_date_skew=None) as sim:
        assert call(sim, http, now=sim.now() - 86_400).status_code == 200


def test_signature_covers_body_and_query(simulator, http):
    url = api_url(simulator)
    body = json.dumps({"duration": HOUR_MS}).encode()
    headers = signed_headers(
        "PATCH", url, body, ak=simulator.ak, sk=simulator.sk, now=simulator.now()
    )
    tampered = json.dumps({"duration": 72 * HOUR_MS}).encode()
    assert http.patch(url, headers=headers, data=tampered).status_code == 401
    assert http.patch(url + f"?duration={HOUR_MS}", headers=headers, data=body).status_code == 401
    assert http.patch(url, headers=headers, data=body).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "SDK-HMAC-SHA256 Access=X, Signature=abc"],
)
def test_missing_or_malformed_authorization(simulator, http, authorization):
    headers = {"X-Sdk-Date": "20200608T023900Z", "Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = http.get(api_url(simulator), headers=headers)
    assert response.status_code == 401 and error_code(response) == "APIG.0301"


def test_lockout_after_five_consecutive_failures(simulator, http):
    for _ in range(5):
        assert call(simulator, http, sk="x" * 40).status_code == 401
    assert simulator.auth_failures() == 5 and simulator.state()["locked"]
    locked = call(simulator, http)  # the right SK, but the AK is locked now
    assert locked.status_code == 401 and "locked" in locked.json()["error_msg"]
    assert simulator.count(path_suffix="/lease") == 6
    simulator.advance(301)  # 5 minutes of sim time later
    assert call(simulator, http).status_code == 200
    assert simulator.auth_failures() == 0 and not simulator.state()["locked"]


def test_a_success_resets_the_failure_count(simulator, http):
    for _ in range(2):
        for _ in range(4):
            assert call(simulator, http, sk="x" * 40).status_code == 401
        assert simulator.auth_failures() == 4
        assert call(simulator, http).status_code == 200
        assert simulator.auth_failures() == 0


# -- metadata service: temporary credentials -------------------------------------------------


def fetch_temporary(sim: Simulator, http: requests.Session, *, with_token=True) -> Dict[str, str]:
    headers = {}
    if with_token:
        put = http.put(
            f"{sim.url}/meta-data/latest/api/token",
            headers={"X-Metadata-Token-Ttl-Seconds": "21600"},
        )
        assert put.status_code == 200 and put.text
        headers["X-Metadata-Token"] = put.text
    response = http.get(f"{sim.url}/openstack/latest/securitykey", headers=headers)
    assert response.status_code == 200
    return response.json()["credential"]


def test_metadata_credentials_work_then_expire(http):
    with Simulator(metadata_ttl=1200) as sim:
        cred = fetch_temporary(sim, http)
        assert set(cred) == {"access", "secret", "securitytoken", "expires_at"}
        assert re.fullmatch(r"[A-Z0-9]{20}", cred["access"]) and len(cred["secret"]) == 40
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", cred["expires_at"])
        expires = cred["expires_at"][:19] + "Z"
        expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sim.now() + 1200))
        assert abs(_iso_seconds(expires) - _iso_seconds(expected)) <= 2
        temp = {"ak": cred["access"], "sk": cred["secret"], "security_token": cred["securitytoken"]}
        assert call(sim, http, **temp).status_code == 200
        assert sim.requests()[-1]["auth"] == "temporary"
        sim.advance(1201)
        expired = call(sim, http, **temp)
        assert expired.status_code == 401 and error_code(expired) == "APIG.0301"
        assert "security token expired" in expired.json()["error_msg"]
        fresh = fetch_temporary(sim, http, with_token=False)  # every fetch: new credentials
        assert fresh["access"] != cred["access"]
        fresh_call = {"ak": fresh["access"], "sk": fresh["secret"]}
        assert call(sim, http, security_token=fresh["securitytoken"], **fresh_call).ok


def _iso_seconds(value: str) -> float:
    return time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))


def test_temporary_credentials_need_their_security_token(simulator, http):
    cred = fetch_temporary(simulator, http)
    temp = {"ak": cred["access"], "sk": cred["secret"]}
    for token in (None, "someone-elses-token"):
        response = call(simulator, http, security_token=token, **temp)
        assert response.status_code == 401 and "security token" in response.json()["error_msg"]


def test_metadata_token_is_checked_when_given(simulator, http):
    bad = http.get(
        f"{simulator.url}/openstack/latest/securitykey", headers={"X-Metadata-Token": "forged"}
    )
    assert bad.status_code == 401
    put = http.put(
        f"{simulator.url}/meta-data/latest/api/token",
        headers={"X-Metadata-Token-Ttl-Seconds": "0"},
    )
    assert put.status_code == 400


# -- IAM tokens -----------------------------------------------------------------------------


def iam_body(password="sim-password", *, project_id=None, project_name=None) -> Dict[str, Any]:
    user = {"name": "sim-user", "password": password, "domain": {"name": "sim-domain"}}
    scope = {"id": project_id} if project_id else {"name": project_name}
    return {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": scope},
        }
    }


def token_call(sim: Simulator, http: requests.Session, token: str, **kw) -> requests.Response:
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    return http.get(api_url(sim, **kw), headers=headers)


def test_iam_token_issue_and_use(simulator, http):
    response = http.post(
        f"{simulator.url}/v3/auth/tokens", json=iam_body(project_id=simulator.project_id)
    )
    assert response.status_code == 201
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert body["methods"] == ["password"]
    assert body["project"]["id"] == simulator.project_id
    assert body["project"]["name"] == simulator.region
    issued = time.strptime(body["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")
    assert abs(time.mktime(issued) - time.mktime(time.gmtime(simulator.now())) - 86_400) <= 2
    ok = token_call(simulator, http, token)
    assert ok.status_code == 200 and simulator.requests()[-1]["auth"] == "token"
    simulator.advance(86_401)
    expired = token_call(simulator, http, token)
    assert expired.status_code == 401 and error_code(expired) == "APIG.0301"


def test_iam_token_scoped_by_project_name(simulator, http):
    response = http.post(
        f"{simulator.url}/v3/auth/tokens", json=iam_body(project_name=simulator.region)
    )
    assert response.status_code == 201
    assert token_call(simulator, http, response.headers["X-Subject-Token"]).status_code == 200


def test_iam_wrong_password(simulator, http):
    response = http.post(
        f"{simulator.url}/v3/auth/tokens", json=iam_body("nope", project_id=simulator.project_id)
    )
    assert response.status_code == 401 and "X-Subject-Token" not in response.headers
    assert response.json() == {
        "error": {
            "code": 401,
            "message": "The username or password is wrong.",
            "title": "Unauthorized",
        }
    }


def test_token_for_another_project_is_forbidden(simulator, http):
    other = "1" * 32
    response = http.post(f"{simulator.url}/v3/auth/tokens", json=iam_body(project_id=other))
    token = response.headers["X-Subject-Token"]
    forbidden = token_call(simulator, http, token)
    assert forbidden.status_code == 403 and error_code(forbidden) == "ModelArts.0210"
    # Its own project does not exist in this simulator either, but the scope check comes first.
    assert token_call(simulator, http, token, project_id=other).status_code == 403


def test_unknown_token_is_rejected(simulator, http):
    response = token_call(simulator, http, "MIIforged")
    assert response.status_code == 401 and error_code(response) == "APIG.0301"


# -- faults ---------------------------------------------------------------------------------


def test_faults_are_documented_one_line_each():
    assert set(FAULTS) == {
        "latency", "500", "502", "503", "429", "malformed_json", "missing_field",
        "ill_typed_field", "negative_duration", "drop", "reset_mid_body", "401", "403",
        "not_found", "not_running",
    }  # fmt: skip
    assert all(isinstance(v, str) and v and "\n" not in v for v in FAULTS.values())


_covered_faults = set()


def covers(*names):
    def mark(func):
        _covered_faults.update(names)
        return func

    return mark


@covers("latency")
def test_fault_latency(simulator, http):
    simulator.inject("latency", seconds=0.4)
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(simulator, http, timeout=0.1)
    simulator.inject("latency", seconds=0.2)
    started = time.monotonic()
    response = call(simulator, http)
    assert response.status_code == 200 and time.monotonic() - started >= 0.2
    assert call(simulator, http).status_code == 200  # used up


@covers("500", "502", "503", "403", "not_running")
@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("500", 500, "ModelArts.6102"),
        ("502", 502, "APIG.0202"),
        ("503", 503, "APIG.0201"),
        ("403", 403, "ModelArts.0108"),
        ("not_running", 400, "ModelArts.6327"),
    ],
)
def test_status_faults_answer_without_processing(simulator, http, fault, status, code):
    before = call(simulator, http).json()
    simulator.inject(fault)
    response = call(simulator, http, "PATCH", body={"duration": 5 * HOUR_MS, "type": "TIMING"})
    assert response.status_code == status and error_code(response) == code
    assert response.headers["X-Request-Id"]
    assert call(simulator, http).json() == before  # the renewal did not happen
    assert simulator.requests()[-2]["fault"] == fault


@covers("not_found")
def test_fault_not_found_uses_the_configured_status(http):
    for status in (400, 404):
        with Simulator(not_found_status=status) as sim:
            sim.inject("not_found")
            response = call(sim, http)
            assert response.status_code == status and error_code(response) == "ModelArts.6309"


@covers("401")
def test_fault_401_does_not_count_towards_the_lockout(simulator, http):
    simulator.inject("401", count=6)
    for _ in range(6):
        response = call(simulator, http)
        assert response.status_code == 401 and error_code(response) == "APIG.0301"
    assert simulator.auth_failures() == 0
    assert call(simulator, http).status_code == 200


@covers("429")
def test_fault_429_retry_after(simulator, http):
    simulator.inject("429", retry_after=7)
    response = call(simulator, http)
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    simulator.inject("429", retry_after=None)
    response = call(simulator, http)
    assert response.status_code == 429 and "Retry-After" not in response.headers


@covers("malformed_json")
def test_fault_malformed_json(simulator, http):
    good = call(simulator, http).text
    simulator.inject("malformed_json")
    response = call(simulator, http)
    assert response.status_code == 200
    assert good.startswith(response.text) and len(response.text) < len(good)
    with pytest.raises(ValueError):
        json.loads(response.text)


@covers("missing_field", "ill_typed_field", "negative_duration")
@pytest.mark.parametrize(
    ("fault", "params", "check"),
    [
        ("missing_field", {}, lambda lease: "duration" not in lease and "create_at" in lease),
        ("missing_field", {"field": "create_at"}, lambda lease: "create_at" not in lease),
        ("ill_typed_field", {}, lambda lease: lease["duration"] == "abc"),
        ("ill_typed_field", {"field": "enable", "value": "yes"}, lambda le: le["enable"] == "yes"),
        ("negative_duration", {}, lambda lease: lease["duration"] < 0),
    ],
)
@pytest.mark.parametrize("tail", ["/lease", ""])
def test_body_faults_damage_the_lease(simulator, http, fault, params, check, tail):
    simulator.inject(fault, **params)
    response = call(simulator, http, tail=tail)
    assert response.status_code == 200
    body = response.json()
    assert check(body["lease"] if tail == "" else body)
    follow = call(simulator, http, tail=tail).json()  # only one answer was damaged
    assert not check(follow["lease"] if tail == "" else follow)


@covers("drop")
def test_fault_drop_closes_without_answer_or_processing(simulator, http):
    before = call(simulator, http).json()
    simulator.inject("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        call(simulator, http, "PATCH", body={"duration": 5 * HOUR_MS})
    assert call(simulator, http).json() == before
    assert (
        simulator.requests()[-2]["fault"] == "drop" and simulator.requests()[-2]["status"] is None
    )


@covers("reset_mid_body")
def test_fault_reset_mid_body_processes_then_cuts_the_answer(simulator, http):
    simulator.inject("reset_mid_body")
    with pytest.raises(requests.exceptions.RequestException):
        call(simulator, http, "PATCH", body={"duration": 5 * HOUR_MS}).json()
    lease = call(simulator, http).json()
    assert deadline(lease) == lease["update_at"] + 5 * HOUR_MS  # the renewal happened


def test_every_fault_has_a_test():
    assert set(FAULTS) == _covered_faults


def test_fault_count_and_matching(simulator, http):
    simulator.inject("503", count=2)
    assert [call(simulator, http).status_code for _ in range(3)] == [503, 503, 200]
    simulator.inject("503", method="PATCH")
    assert call(simulator, http).status_code == 200
    assert call(simulator, http, "PATCH").status_code == 503
    simulator.inject("500", path="/securitykey")
    assert call(simulator, http).status_code == 200
    assert http.get(f"{simulator.url}/openstack/latest/securitykey").status_code == 500
    simulator.inject("500", count=3)
    simulator.clear_faults()
    assert call(simulator, http).status_code == 200


def test_faults_never_hit_the_control_api(simulator):
    simulator.inject("drop", count=5, path="/")
    control = SimulatorControl(simulator.url)
    assert control.state()["faults"][0]["remaining"] == 5


def test_bad_fault_requests_are_usage_errors(simulator):
    with pytest.raises(UsageError):
        simulator.inject("explode")
    with pytest.raises(UsageError):
        simulator.inject("500", count=0)
    with pytest.raises(UsageError):
        simulator.inject("latency", secs=1)


# -- the request log ------------------------------------------------------------------------


def test_request_log_records_and_counts(simulator, http):
    call(simulator, http)
    call(simulator, http, "PATCH", query=f"duration={HOUR_MS}")
    call(simulator, http, tail="")
    call(simulator, http, sk="x" * 40)
    entries = simulator.requests()
    assert [e["method"] for e in entries] == ["GET", "PATCH", "GET", "GET"]
    assert entries[1]["query"] == f"duration={HOUR_MS}"
    assert [e["status"] for e in entries] == [200, 200, 200, 401]
    assert entries[3]["code"] == "APIG.0301"
    assert {e["auth"] for e in entries} == {"aksk"}
    assert all(abs(e["time"] - simulator.now()) < 5 for e in entries)
    assert simulator.count() == 4
    assert simulator.count(path_suffix="/lease") == 3
    assert simulator.count(method="patch", path_suffix="/lease") == 1
    simulator.clear_log()
    assert simulator.count() == 0


def test_request_log_never_holds_secrets(simulator, http):
    cred = fetch_temporary(simulator, http)
    temp = {"ak": cred["access"], "sk": cred["secret"], "security_token": cred["securitytoken"]}
    call(simulator, http, **temp)
    issued = http.post(
        f"{simulator.url}/v3/auth/tokens", json=iam_body(project_id=simulator.project_id)
    )
    token = issued.headers["X-Subject-Token"]
    token_call(simulator, http, token)
    call(simulator, http, "PATCH", body={"duration": HOUR_MS})
    call(simulator, http, sk="y" * 40)
    # A secret pasted where it does not belong (the query) is masked too.
    call(simulator, http, query=f"leak={simulator.sk}&ak={simulator.ak}")
    secrets = [simulator.sk, simulator.ak, cred["secret"], cred["securitytoken"], cred["access"],
               token, "sim-password"]  # fmt: skip
    control = SimulatorControl(simulator.url)
    dumps = [json.dumps(simulator.requests()), json.dumps(control.requests()),
             json.dumps(simulator.state())]  # fmt: skip
    assert len(simulator.requests()) == 8
    assert simulator.requests()[-1]["query"] == "leak=***&ak=***"
    for dump in dumps:
        for secret in secrets:
            assert secret not in dump


# -- control API ----------------------------------------------------------------------------


def test_control_api_from_the_same_process(simulator, http):
    control = SimulatorControl(simulator.url)
    state = control.state()
    assert state["project_id"] == simulator.project_id
    assert state["notebooks"][simulator.notebook_id]["status"] == "RUNNING"
    lease = control.set_lease(remaining=120)
    assert call(simulator, http).json() == lease
    before = control.now()
    assert control.advance(121) == pytest.approx(before + 121, abs=1)
    assert call(simulator, http, tail="").json()["status"] == "STOPPED"
    control.set_lease(remaining=600, status="RUNNING")
    control.add_notebook("second", lease=60)
    assert call(simulator, http, notebook_id="second").status_code == 200
    control.inject("429", count=1, retry_after=3)
    assert control.state()["faults"][0]["params"] == {"retry_after": 3}
    assert call(simulator, http).status_code == 429
    control.inject("500", count=2)
    control.clear_faults()
    assert call(simulator, http).status_code == 200
    assert control.count(path_suffix="/lease") == simulator.count(path_suffix="/lease") == 4
    assert control.requests() == simulator.requests()
    control.clear_log()
    assert control.count() == 0


def test_control_api_errors(simulator):
    control = SimulatorControl(simulator.url)
    with pytest.raises(UsageError, match="unknown fault"):
        control.inject("explode")
    with pytest.raises(UsageError, match="no notebook"):
        control.set_lease("missing", remaining=10)
    with pytest.raises(UsageError, match="404"):
        control._call("GET", "/_sim/nothing")
    with pytest.raises(UsageError, match="cannot reach"):
        SimulatorControl("http://127.0.0.1:9", timeout=1).state()


def test_control_api_answers_loopback_clients_only(simulator):
    def control_from(client: str) -> int:
        request = Request("GET", "/_sim/state", "/_sim/state", "", {}, b"", client)
        return simulator._control(request).status

    assert control_from("127.0.0.1") == 200 and control_from("::1") == 200
    assert control_from("::ffff:127.0.0.1") == 200
    assert control_from("192.0.2.10") == 403 and control_from("10.0.0.1") == 403


# A body that every test below sends in some form: valid JSON that would move the clock.
_ADVANCE_HOUR = json.dumps({"advance": 3600})


def _control_post(sim: Simulator, http: requests.Session, path: str, raw: Any, **headers: str):
    return http.post(sim.url + path, data=raw, headers=headers, timeout=5)


def _assert_untouched(sim: Simulator, http: requests.Session, lease: Dict[str, Any]) -> None:
    """Nothing moved, and the simulator still answers ModelArts calls with a sane Date."""
    state = sim.state()
    assert state["shift"] == 0 and state["faults"] == []
    assert set(state["notebooks"]) == {sim.notebook_id}
    response = call(sim, http)
    assert response.status_code == 200 and response.json() == lease
    date = email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()
    assert abs(date - time.time()) < 5


def test_control_api_refuses_what_a_web_page_can_send(simulator, http):
    lease = call(simulator, http).json()
    json_type, plain = {"Content-Type": "application/json"}, {"Content-Type": "text/plain"}
    refused = [
        # "Simple" cross-origin requests, sent by any page without a preflight:
        _control_post(simulator, http, "/_sim/clock", _ADVANCE_HOUR, **plain),
        _control_post(simulator, http, "/_sim/clock", _ADVANCE_HOUR.encode()),  # no type at all
        _control_post(
            simulator, http, "/_sim/faults", "fault=drop",
            **{"Content-Type": "application/x-www-form-urlencoded"},
        ),
        # A browser names the page's origin on every POST, JSON or not:
        _control_post(
            simulator, http, "/_sim/clock", _ADVANCE_HOUR, Origin="https://a.example", **json_type
        ),
        # DNS rebinding: the page's own host name resolving to 127.0.0.1.
        _control_post(
            simulator, http, "/_sim/clock", _ADVANCE_HOUR, Host="evil.example:80", **json_type
        ),
        # A cross-site GET (an <img>, a no-cors fetch) carries no Origin, but Sec-Fetch-Site.
        http.get(simulator.url + "/_sim/log", headers={"Sec-Fetch-Site": "cross-site"}, timeout=5),
        http.delete(simulator.url + "/_sim/faults", headers={"Origin": "null"}, timeout=5),
    ]  # fmt: skip
    assert [r.status_code for r in refused] == [415, 415, 415, 403, 403, 403, 403]
    for response in refused:
        assert response.headers["Content-Type"] == "application/json"
        error = response.json()["error"]
        assert list(response.json()) == ["error"] and error and "\n" not in error
    _assert_untouched(simulator, http, lease)
    # What tests and the demo send still works: JSON, from a program, to 127.0.0.1.
    ok = _control_post(simulator, http, "/_sim/clock", _ADVANCE_HOUR, **json_type)
    assert ok.status_code == 200
    typed = {"Content-Type": "Application/JSON; charset=utf-8"}
    assert _control_post(simulator, http, "/_sim/clock", _ADVANCE_HOUR, **typed).status_code == 200
    assert http.get(simulator.url + "/_sim/state", timeout=5).json()["shift"] == 7200
    assert SimulatorControl(simulator.url).advance(-7200) == pytest.approx(time.time(), abs=5)


@pytest.mark.parametrize(
    "path, raw",
    [
        ("/_sim/clock", '{"advance": 1e308}'),
        ("/_sim/clock", '{"advance": -1e308}'),
        ("/_sim/clock", '{"advance": 1e400}'),  # Python's json reads this as infinity
        ("/_sim/clock", '{"advance": NaN}'),
        ("/_sim/clock", '{"advance": -Infinity}'),
        ("/_sim/clock", '{"advance": 1' + "0" * 400 + "}"),  # an int no float can hold
        ("/_sim/clock", '{"advance": 400000000}'),  # 12.7 years
        ("/_sim/clock", '{"advance": true}'),
        ("/_sim/clock", '{"advance": "60"}'),
        ("/_sim/lease", '{"remaining": 1e308}'),
        ("/_sim/lease", '{"remaining": NaN}'),
        ("/_sim/lease", '{"duration_ms": 1e300}'),
        ("/_sim/lease", '{"duration_ms": -Infinity}'),
        ("/_sim/lease", '{"create_at_ms": -1}'),
        ("/_sim/lease", '{"create_at_ms": 1e20}'),
        ("/_sim/notebooks", '{"notebook_id": "second", "lease": 1e308}'),
        ("/_sim/faults", '{"fault": "latency", "seconds": 1e308}'),
        ("/_sim/faults", '{"fault": "latency", "seconds": NaN}'),
        ("/_sim/faults", '{"fault": "500", "count": 1e308}'),
        ("/_sim/faults", '{"fault": "500", "status": 1e308}'),
        ("/_sim/faults", '{"fault": "500", "status": 99}'),
        ("/_sim/faults", '{"fault": "429", "retry_after": 1e308}'),
        ("/_sim/faults", '{"fault": "ill_typed_field", "value": Infinity}'),
    ],
)
def test_control_api_takes_only_finite_sane_numbers(simulator, http, path, raw):
    lease = call(simulator, http).json()
    response = _control_post(simulator, http, path, raw, **{"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error and "\n" not in error and len(error) < 200
    _assert_untouched(simulator, http, lease)


@pytest.mark.parametrize(
    "raw",
    [
        '{"fault": "missing_field", "field": {"x": 1}}',
        '{"fault": "ill_typed_field", "field": ["duration"]}',
        '{"fault": "500", "code": {"a": 1}}',
        '{"fault": "403", "message": ["no"]}',
        '{"fault": "429", "retry_after": "1\\r\\nX-Injected: yes"}',
    ],
    ids=["field-dict", "field-list", "code-dict", "message-list", "retry-after-crlf"],
)
def test_control_api_refuses_fault_params_of_the_wrong_type(simulator, http, raw):
    # Taken at injection, these used to break the next request instead: a traceback in the
    # simulator's log (an unhashable field) or a header of the attacker's choosing.
    lease = call(simulator, http).json()
    response = _control_post(
        simulator, http, "/_sim/faults", raw, **{"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "\n" not in response.json()["error"]
    _assert_untouched(simulator, http, lease)


def test_control_api_bounds_leave_room_for_real_tests(simulator, http):
    control = SimulatorControl(simulator.url)
    control.advance(9 * 365 * 86400)  # nine years: fine ...
    with pytest.raises(UsageError, match="total clock shift"):
        control.advance(9 * 365 * 86400)  # ... eighteen in all: not
    control.advance(-9 * 365 * 86400)
    control.set_lease(remaining=3600, status="RUNNING")  # it ran out in those nine years
    # Out-of-range lease fields are what ill_typed_field is for (a client must survive them).
    control.inject("ill_typed_field", field="duration", value=1e17)
    assert call(simulator, http).json()["duration"] == 1e17
    control.inject("429", retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    assert call(simulator, http).headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"


# -- configuration and lifecycle --------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_host_is_refused(host):
    with pytest.raises(UsageError, match="allow_remote"):
        Simulator(host)
    Simulator(host, allow_remote=True)  # allowed when asked for (not started here)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host):
    assert is_loopback(host)


def test_ipv6_loopback_serves(http):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        sim = Simulator("::1").start()
    except OSError:
        pytest.skip("IPv6 loopback not available")
    with sim:
        assert sim.url.startswith("http://[::1]:")
        assert call(sim, http).status_code == 200


def test_defaults_and_environ(simulator):
    assert re.fullmatch(r"[0-9a-f]{32}", DEFAULT_PROJECT_ID)
    assert str(uuid.UUID(DEFAULT_NOTEBOOK_ID)) == DEFAULT_NOTEBOOK_ID
    assert re.fullmatch(r"[A-Z0-9]{20}", DEFAULT_AK) and len(DEFAULT_SK) == 40
    env = simulator.environ()
    assert env == {
        "JUPYTER_LEASE_ENDPOINT": simulator.url,
        "JUPYTER_LEASE_NOTEBOOK_ID": DEFAULT_NOTEBOOK_ID,
        "JUPYTER_LEASE_PROJECT_ID": DEFAULT_PROJECT_ID,
        "JUPYTER_LEASE_REGION": "sim-local-1",
        "HUAWEICLOUD_SDK_AK": DEFAULT_AK,
        "HUAWEICLOUD_SDK_SK": DEFAULT_SK,
        "JUPYTER_LEASE_SIMULATOR": simulator.url,
    }
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", simulator.url)


def test_sim_env_fixture_points_at_the_simulator(simulator, sim_env):
    assert sim_env == simulator.environ()


def test_export_lines_are_shell_quoted():
    import shlex

    with Simulator(notebook_id="it's a notebook; rm -rf /") as sim:
        lines = sim.export_lines()
        assert len(lines) == len(sim.environ())
        parsed = dict(shlex.split(line)[1].split("=", 1) for line in lines)
        assert parsed == sim.environ()
        assert all(line.startswith("export ") for line in lines)


def test_lifecycle(http):
    sim = Simulator()
    with pytest.raises(UsageError):
        sim.url  # noqa: B018 - not started yet
    assert sim.start() is sim and sim.start() is sim
    url = sim.url
    assert call(sim, http).status_code == 200  # leaves a keep-alive connection open
    sim.inject("latency", seconds=30)
    pending = threading.Thread(target=lambda: _swallow(lambda: call(sim, http, timeout=10)))
    pending.start()
    time.sleep(0.1)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.0
    pending.join(2)
    assert not pending.is_alive()
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(url + "/_sim/state", timeout=1)
    sim.stop()  # idempotent
    with pytest.raises(UsageError):
        sim.start()


def _swallow(func) -> None:
    with contextlib.suppress(requests.exceptions.RequestException):
        func()


def test_wait_returns_when_stopped_elsewhere():
    sim = Simulator().start()
    threading.Timer(0.1, sim.stop).start()
    started = time.monotonic()
    sim.wait()
    assert time.monotonic() - started < 2


def test_disconnects_never_reach_stderr(capfd, http):
    with Simulator() as sim:
        with socket.create_connection((sim.host, sim.port)) as raw:  # half a request, then gone
            raw.sendall(b"PATCH /v1/x/notebooks/y/lease HTTP/1.1\r\nContent-Length: 100\r\n\r\nab")
        with socket.create_connection((sim.host, sim.port)) as raw:  # garbage
            raw.sendall(b"\x00\x01 nonsense\r\n\r\n")
            raw.recv(1024)
        sim.inject("latency", seconds=0.3)  # answered after the client gave up
        with pytest.raises(requests.exceptions.ReadTimeout):
            call(sim, http, timeout=0.05)
        time.sleep(0.4)
        assert sim.count(path_suffix="/y/lease") == 0  # a half-sent request is not processed
        assert sim.count(path_suffix="/lease") == 1
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""

"""SDK-HMAC-SHA256: the published vectors, the official SDK on random requests, verify()."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import List, Tuple
from urllib.parse import quote

import pytest

from jupyter_lease.modelarts import signer as _signer
from jupyter_lease.modelarts.signer import (
    ParsedAuthorization,
    canonical_request,
    format_sdk_date,
    parse_authorization,
    parse_sdk_date,
    sign,
    signed_header_names,
    signed_headers,
    string_to_sign,
    verify,
)

V12_URL = "https://service.endpoint.myhuaweicloud.com/resources?size=1"
V12_HEADERS = {"X-Sdk-Date": "20200608T023900Z", "TEST_UNDERSCORE": "TEST_VALUE"}
V3_URL = (
    "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
    "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
)
V3_HEADERS = {"Content-Type": "application/json", "X-Sdk-Date": "20191115T033655Z"}
V3_AK = "QTWAOYTTINDUT2QVKYUC"
V3_SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"

AK = "ABCDEFGHIJ0123456789"
SK = "s3cr3t-" + "k" * 33
URL = "http://127.0.0.1:8123/v1/0123456789abcdef0123456789abcdef/notebooks/nb-1/lease"
NOW = 1_700_000_000.0


# -- published vectors ---------------------------------------------------------------------


def test_vector_1_get():
    expected = (
        "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
        "Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
    )
    assert sign("GET", V12_URL, V12_HEADERS, b"", ak="AccessKey", sk="SecretKey") == expected


def test_vector_2_post_with_body():
    body = b'{"name":"test","id":1}'
    expected = (
        "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
        "Signature=436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f"
    )
    assert sign("POST", V12_URL, V12_HEADERS, body, ak="AccessKey", sk="SecretKey") == expected


def test_vector_3_canonical_request_hash_and_signature():
    headers = dict(V3_HEADERS, Host="service.region.example.com")
    names = signed_header_names(headers)
    assert names == ["content-type", "host", "x-sdk-date"]
    canonical = canonical_request("GET", V3_URL, headers, b"", names)
    assert (
        hashlib.sha256(canonical.encode()).hexdigest()
        == "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )
    authorization = sign("GET", V3_URL, V3_HEADERS, b"", ak=V3_AK, sk=V3_SK)
    assert authorization == (
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
        "SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )


def test_vector_3_string_to_sign_layout():
    canonical = canonical_request(
        "GET", V3_URL, dict(V3_HEADERS, Host="service.region.example.com"), b"",
        ["content-type", "host", "x-sdk-date"],
    )  # fmt: skip
    assert canonical.split("\n")[:3] == [
        "GET",
        "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/",
        "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
    ]
    assert string_to_sign(canonical, "20191115T033655Z") == (
        "SDK-HMAC-SHA256\n20191115T033655Z\n"
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )


# -- pieces --------------------------------------------------------------------------------


def test_sdk_date_round_trip_and_strictness():
    assert format_sdk_date(1591583940.9) == "20200608T023900Z"
    assert parse_sdk_date("20200608T023900Z") == 1591583940.0
    for bad in ("", "2020-06-08T02:39:00Z", "20200608T023900", "20200608t023900z", "x" * 16):
        with pytest.raises(ValueError):
            parse_sdk_date(bad)


def test_signed_header_names_skip_underscores_and_sort():
    headers = {"X-Sdk-Date": "d", "Host": "h", "TEST_UNDERSCORE": "v", "Content-Type": "c"}
    assert signed_header_names(headers) == ["content-type", "host", "x-sdk-date"]


def test_canonical_uri_and_query_rules():
    canonical = canonical_request(
        "get", "http://h/a b/%7Ex+y/?b=2&a=z&a=1&+k=v w&flag&=skipped", {"Host": "h"}, b"",
        ["host"],
    )  # fmt: skip
    method, uri, query = canonical.split("\n")[:3]
    assert method == "GET"
    assert uri == "/a%20b/~x%2By/"  # one trailing slash, never two
    assert query == "%2Bk=v%20w&a=1&a=z&b=2&flag="


def test_signed_headers_has_every_wire_header():
    headers = signed_headers(
        "PATCH", URL, b"{}", ak=AK, sk=SK, now=NOW, project_id="p" * 32, security_token="tok"
    )
    assert list(headers) == [
        "X-Sdk-Date",
        "Host",
        "X-Project-Id",
        "X-Security-Token",
        "Content-Type",
        "Authorization",
    ]
    assert headers["Host"] == "127.0.0.1:8123"
    assert headers["Content-Type"] == "application/json"
    parsed = parse_authorization(headers["Authorization"])
    assert parsed.signed_headers == (
        "content-type",
        "host",
        "x-project-id",
        "x-sdk-date",
        "x-security-token",
    )


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://example.com:443/x", "example.com"),
        ("http://example.com:80/x", "example.com"),
        ("https://example.com:80/x", "example.com:80"),
        ("http://[::1]:8080/x", "[::1]:8080"),
        ("http://[::1]/x", "[::1]"),
        ("https://user@example.com?x=1", "example.com"),
    ],
)
def test_host_port_only_if_non_default(url, host):
    assert signed_headers("GET", url, b"", ak=AK, sk=SK, now=NOW)["Host"] == host


def test_extra_headers_override_and_are_signed():
    headers = signed_headers(
        "GET", URL, b"", ak=AK, sk=SK, now=NOW, extra={"content-type": "text/plain", "X-A": "1"}
    )
    assert "Content-Type" not in headers and headers["content-type"] == "text/plain"
    assert "x-a" in parse_authorization(headers["Authorization"]).signed_headers


def test_sign_needs_date_and_keys():
    with pytest.raises(ValueError):
        sign("GET", URL, {"Host": "h"}, b"", ak=AK, sk=SK)
    with pytest.raises(ValueError):
        sign("GET", URL, {"X-Sdk-Date": "20200608T023900Z"}, b"", ak="", sk=SK)


# -- parse / verify ------------------------------------------------------------------------


def test_parse_authorization_round_trip():
    value = signed_headers("GET", URL, b"", ak=AK, sk=SK, now=NOW)["Authorization"]
    parsed = parse_authorization(value)
    assert parsed == ParsedAuthorization(
        access=AK, signed_headers=("content-type", "host", "x-sdk-date"), signature=parsed.signature
    )
    assert len(parsed.signature) == 64
    assert value.endswith(parsed.signature)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Bearer abc",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=zz",
        "SDK-HMAC-SHA256 Access=AK, Signature=" + "a" * 64,
        "SDK-HMAC-SHA256 SignedHeaders=host, Access=AK, Signature=" + "a" * 64,
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;x, Signature=" + "a" * 64,
        "SDK-HMAC-SM3 Access=AK, SignedHeaders=host, Signature=" + "a" * 64,
    ],
)
def test_parse_authorization_rejects_malformed(value):
    with pytest.raises(ValueError):
        parse_authorization(value)


def _signed(method="PATCH", url=URL, body=b'{"duration": 3600000}'):
    return signed_headers(method, url, body, ak=AK, sk=SK, now=NOW, project_id="p" * 32)


def test_verify_accepts_absolute_url_and_request_target():
    body = b'{"duration": 3600000}'
    headers = _signed(body=body)
    assert verify("PATCH", URL, headers, body, sk=SK)
    target = URL.split("8123", 1)[1]
    assert verify("PATCH", target, headers, body, sk=SK)
    # Header names arrive in any case; extra unsigned headers do not matter.
    received = {k.lower(): v for k, v in headers.items()}
    received.update({"user-agent": "python-requests", "content-length": str(len(body))})
    assert verify("patch", target, received, body, sk=SK)


def test_verify_is_invariant_under_transport_reencoding():
    url = "http://127.0.0.1:8123/v1/a b/ü~?q=x y&q=a+b&z"
    headers = signed_headers("GET", url, b"", ak=AK, sk=SK, now=NOW)
    assert verify("GET", "/v1/a%20b/%C3%BC%7E?z=&q=a+b&q=x%20y", headers, b"", sk=SK)


@pytest.mark.parametrize(
    "tamper", ["body", "header", "path", "query", "method", "sk", "date", "signature"]
)
def test_verify_rejects_tampering(tamper):
    body = b'{"duration": 3600000}'
    headers, url, method, sk = dict(_signed(body=body)), URL, "PATCH", SK
    assert verify(method, url, headers, body, sk=sk)  # the untouched request passes
    if tamper == "body":
        body = b'{"duration": 3600001}'
    elif tamper == "header":
        headers["X-Project-Id"] = "q" * 32
    elif tamper == "path":
        url = URL.replace("nb-1", "nb-2")
    elif tamper == "query":
        url = URL + "?duration=7200000"
    elif tamper == "method":
        method = "GET"
    elif tamper == "sk":
        sk = SK + "x"
    elif tamper == "date":
        headers["X-Sdk-Date"] = format_sdk_date(NOW + 1)
    elif tamper == "signature":
        auth = headers["Authorization"]
        headers["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    assert not verify(method, url, headers, body, sk=sk)


def test_verify_requires_host_to_be_signed():
    headers = {"X-Sdk-Date": format_sdk_date(NOW), "Host": "127.0.0.1:8123"}
    names = ["x-sdk-date"]
    canonical = canonical_request("GET", URL, headers, b"", names)
    signature = hmac.new(
        SK.encode(), string_to_sign(canonical, headers["X-Sdk-Date"]).encode(), hashlib.sha256
    ).hexdigest()
    headers["Authorization"] = (
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=x-sdk-date, Signature={signature}"
    )
    assert not verify("GET", URL, headers, b"", sk=SK)
    # The same construction with host included is accepted: the refusal is about Host.
    headers["Authorization"] = sign("GET", URL, headers, b"", ak=AK, sk=SK)
    assert verify("GET", URL, headers, b"", sk=SK)


def test_verify_rejects_missing_or_malformed_pieces():
    headers = _signed()
    body = b'{"duration": 3600000}'
    no_auth = {k: v for k, v in headers.items() if k != "Authorization"}
    assert not verify("PATCH", URL, no_auth, body, sk=SK)
    no_date = {k: v for k, v in headers.items() if k != "X-Sdk-Date"}
    assert not verify("PATCH", URL, no_date, body, sk=SK)
    bad_date = dict(headers, **{"X-Sdk-Date": "yesterday"})
    assert not verify("PATCH", URL, bad_date, body, sk=SK)
    missing_signed = {k: v for k, v in headers.items() if k != "X-Project-Id"}
    assert not verify("PATCH", URL, missing_signed, body, sk=SK)


# -- the official SDK on random requests ---------------------------------------------------

_SEGMENT_ALPHABET = "abzAZ09-._~ +%!$&'()*,;=:@?#/éü中\u00a0"
_QUERY_ALPHABET = "abkXY09-._~ +%!$'()*,;:@/?=&#éü中"
_SAFE_SETS = ["~", "", "~!$'()*,;:@", "~+ "]


def _rand_text(rng: random.Random, alphabet: str, lo: int, hi: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _wire_segment(rng: random.Random, raw: str) -> str:
    """One path segment as a client might send it: raw, encoded, partly or twice encoded."""
    options = [quote(raw, safe="~"), quote(raw, safe="~!$&'()*+,;=:@"), quote(quote(raw))]
    if not set(raw) & set("?#/% "):
        options.append(raw)
    return rng.choice(options)


def _wire_query(rng: random.Random, pairs: List[Tuple[str, str]]) -> str:
    parts = []
    for key, value in pairs:
        safe = rng.choice(_SAFE_SETS).replace(" ", "")
        k, v = quote(key, safe=safe), quote(value, safe=safe)
        parts.append(k if not value and rng.random() < 0.5 else f"{k}={v}")
    return "&".join(parts)


def _random_request(rng: random.Random) -> dict:
    scheme = rng.choice(["http", "https"])
    host = rng.choice(["modelarts.cn-north-4.myhuaweicloud.com", "127.0.0.1", "example.eu"])
    port = rng.choice([None, "default", rng.randint(1, 65535)])
    default = "443" if scheme == "https" else "80"
    authority = host + ("" if port is None else f":{default if port == 'default' else port}")
    sdk_host = host if port in (None, "default") or str(port) == default else f"{host}:{port}"
    segments = [_rand_text(rng, _SEGMENT_ALPHABET, 1, 8) for _ in range(rng.randint(0, 5))]
    path = "/" + "/".join(_wire_segment(rng, s) for s in segments)
    if rng.random() < 0.3:
        path += "/"
    keys = [_rand_text(rng, _QUERY_ALPHABET, 1, 6) for _ in range(rng.randint(1, 3))]
    pairs = [
        (rng.choice(keys), _rand_text(rng, _QUERY_ALPHABET, 0, 6))
        for _ in range(rng.choice([0, 0, 1, 2, 4, 6]))
    ]
    query = _wire_query(rng, pairs)
    body = b""
    if rng.random() < 0.6:
        doc = {_rand_text(rng, "abcé", 1, 4): rng.choice([1, "x y", None, [1.5, "中"]])}
        body = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8")
    extra = {}
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(["X-Trace", "x-lower", "X_Under_Score", "User-Agent", "X-Num"])
        extra[name] = rng.choice(["  padded  ", "v", "a,b;c", "1"])
    return {
        "method": rng.choice(["GET", "POST", "PATCH", "PUT", "DELETE"]),
        "scheme": scheme,
        "sdk_host": sdk_host,
        "url": f"{scheme}://{authority}{path}" + (f"?{query}" if query else ""),
        "path": path,
        "pairs": pairs,
        "body": body,
        "ak": _rand_text(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20, 20),
        "sk": _rand_text(rng, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789", 40, 40),
        "now": rng.randint(946684800, 4102444800),
        "project_id": rng.choice([None, f"{rng.getrandbits(128):032x}"]),
        "token": rng.choice([None, _rand_text(rng, "abcXYZ0189+/=-_", 50, 400)]),
        "extra": extra,
    }


def _sdk_authorization(req: dict) -> str:
    sdk_signer = pytest.importorskip("huaweicloudsdkcore.signer.signer")
    sdk_request = pytest.importorskip("huaweicloudsdkcore.sdk_request")
    stamp = datetime.fromtimestamp(req["now"], tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {"X-Sdk-Date": stamp}
    if req["project_id"]:
        headers["X-Project-Id"] = req["project_id"]
    if req["token"]:
        headers["X-Security-Token"] = req["token"]
    headers["Content-Type"] = "application/json"
    headers.update(req["extra"])
    request = sdk_request.SdkRequest(
        method=req["method"],
        schema=req["scheme"],
        host=req["sdk_host"],
        resource_path=req["path"],
        query_params=list(req["pairs"]),
        header_params=headers,
        body=req["body"],
    )
    credentials = SimpleNamespace(ak=req["ak"], sk=req["sk"])
    signed = sdk_signer.Signer(credentials).sign(request)
    return signed.header_params["Authorization"]


def test_matches_official_sdk_on_random_requests():
    pytest.importorskip("huaweicloudsdkcore")
    rng = random.Random(20240607)
    mismatches = []
    for i in range(300):
        req = _random_request(rng)
        ours = signed_headers(
            req["method"],
            req["url"],
            req["body"],
            ak=req["ak"],
            sk=req["sk"],
            now=req["now"],
            project_id=req["project_id"],
            security_token=req["token"],
            extra=req["extra"],
        )
        if ours["Host"] != req["sdk_host"]:
            mismatches.append((i, "host", req["url"], ours["Host"]))
        expected = _sdk_authorization(req)
        if ours["Authorization"] != expected:
            mismatches.append((i, req["method"], req["url"], ours["Authorization"], expected))
        # And what we signed verifies, from the request target alone.
        target = req["url"].split("://", 1)[1]
        target = target[
            min(i for i in (target.find("/"), target.find("?"), len(target)) if i >= 0) :
        ]
        assert verify(req["method"], target, ours, req["body"], sk=req["sk"]), req["url"]
    assert not mismatches, mismatches[:3]


def test_random_requests_cover_the_odd_cases():
    """Guard the generator itself: the comparison above must really see the odd inputs."""
    rng = random.Random(20240607)
    reqs = [_random_request(rng) for _ in range(300)]
    urls = " ".join(r["url"] for r in reqs)
    for needle in ("%25", "%2B", "+", "~", "%20", "%C3%A9", "%252", "é"):
        assert needle in urls, needle
    assert any(len({k for k, _ in r["pairs"]}) < len(r["pairs"]) for r in reqs)  # repeated keys
    assert any(r["token"] for r in reqs) and any(r["project_id"] for r in reqs)
    assert any(r["body"] for r in reqs) and any(not r["body"] for r in reqs)
    assert {r["method"] for r in reqs} == {"GET", "POST", "PATCH", "PUT", "DELETE"}
    assert any(":" in r["sdk_host"] for r in reqs) and any(":" not in r["sdk_host"] for r in reqs)
    assert any(r["url"].endswith(":443" + r["path"]) for r in reqs if r["path"] != "/")


def test_module_exports_the_documented_api():
    for name in _signer.__all__:
        assert hasattr(_signer, name)
    assert _signer.ALGORITHM == "SDK-HMAC-SHA256"

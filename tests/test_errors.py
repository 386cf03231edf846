import pytest

import jupyter_lease
from jupyter_lease._errors import APIError, CredentialsError, LeaseError, ThrottledError, scrub


def test_messages_are_one_line():
    assert str(LeaseError("first\nsecond   third")) == "first second third"


def test_api_error_carries_code_status_and_request_id():
    err = ThrottledError(
        "ShowLease: too many", status=429, code="APIGW.0308", request_id="abc123", retry_after=3
    )
    assert str(err) == "ShowLease: too many (APIGW.0308, HTTP 429, request id abc123)"
    assert err.retry_after == 3 and isinstance(err, APIError)


def test_credentials_error_lists_what_was_tried():
    err = CredentialsError("no credentials", tried=["env", "metadata"])
    assert err.tried == ["env", "metadata"]


@pytest.mark.parametrize(
    "text, secret",
    [
        ("signature for {} rejected", "UJZDE8GXD6NCF10EPF91"),  # AK shape
        ("signature for {} rejected", "d0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJT"),  # SK shape
        ("token {} rejected", "MIIEhwYJKoZIhvcNAQcCoIIEeDCCBHQCAQExDTALBglghkgBZQMEAgEw"),
        ("access key {} has no permission", "QWERTYUIOPASDFGHJKLZ"),  # an AK without a digit
        ("secret {} is wrong", "m4yfvk41ba2giqm7uio6pznpdukgpownrzlmvmhc"),  # SK in lower case
        ("invalid token {}", "5f0d8a2b1c3e4f5a6b7c8d9e0f1a2b3c"),  # 32 hex digits, named
        ('{{"X-Auth-Token": "{}"}}', "5f0d8a2b1c3e4f5a6b7c8d9e0f1a2b3c"),
        ("JUPYTER_LEASE_AUTH_TOKEN={} is not accepted", "5f0d8a2b1c3e4f5a6b7c8d9e0f1a2b3c"),
        ("bad jwt {}.", "aB3x.Yz9Q.k2Lm"),  # dotted, short pieces
        ("bad jwt {}", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"),
    ],
)
def test_scrub_masks_key_shaped_runs(text, secret):
    scrubbed = scrub(text.format(secret))
    assert "***" in scrubbed
    for piece in secret.split("."):
        assert piece not in scrubbed  # not even the short pieces of a dotted token


@pytest.mark.parametrize(
    "kept",
    [
        "JUPYTER_LEASE_NOTEBOOK_ID",
        "HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4",
        "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK",
        "362bc9914d1341fcb282a5c1c670603f",
        "request id 362bc9914d1341fcb282a5c1c670603f",
        "881ed162-ae2e-4154-bf15-052434b9b5df",
        "https://modelarts.cn-north-4.myhuaweicloud.com",
        "ModelArts.6309",
        "requests.exceptions.ConnectionError from urllib3.connection.HTTPConnection",
        "jupyter_lease 1.2.3",
        "the security token expired.",
        "Incorrect IAM authentication information: signature mismatch.",
        "IAM token (token, expires 2026-05-29T20:26:40Z)",
    ],
)
def test_scrub_keeps_what_people_need(kept):
    assert kept in scrub(f"check {kept} please")


def test_scrub_removes_known_secrets_of_any_shape():
    assert "hunter2" not in scrub("password hunter2 wrong", secrets=["hunter2", None])
    # What no shape tells from a request id or a host name, the secrets in use do.
    for secret in ("5f0d8a2b1c3e4f5a6b7c8d9e0f1a2b3c", "q7vb.x2nd.k9wm"):
        assert secret in scrub(f"refused {secret}")
        assert scrub(f"refused {secret}", secrets=[secret]) == "refused ***"
    echoed = "path /auth/ab%2Bcd%2Fef%3D%3Dgh/x"  # a token with + / = echoed URL-encoded
    assert scrub(echoed, secrets=["ab+cd/ef==gh"]) == "path /auth/***/x"


def test_public_api_is_small_and_importable():
    from jupyter_lease import _errors

    for name in jupyter_lease.__all__:
        assert getattr(jupyter_lease, name) is not None
    # The package re-exports the whole exception tree, lazily: no name left behind.
    assert set(_errors.__all__) <= set(jupyter_lease.__all__)
    assert len(jupyter_lease.__all__) < 40  # small: the rest stays private
    assert issubclass(jupyter_lease.LeaseFormatError, jupyter_lease.BadResponseError)


def test_extend_refused_is_a_usage_error_in_the_tree_and_exported():
    from jupyter_lease import _errors

    assert issubclass(jupyter_lease.ExtendRefusedError, jupyter_lease.UsageError)
    assert "ExtendRefusedError" in jupyter_lease.__all__ and "ExtendRefusedError" in _errors.__all__
    assert "ExtendRefusedError" in _errors.__doc__

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
    "secret",
    [
        "UJZDE8GXD6NCF10EPF91",  # AK shape
        "d0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJT",  # SK shape
        "MIIEhwYJKoZIhvcNAQcCoIIEeDCCBHQCAQExDTALBglghkgBZQMEAgEw",  # token shape
    ],
)
def test_scrub_masks_key_shaped_runs(secret):
    assert secret not in scrub(f"signature for {secret} rejected")


@pytest.mark.parametrize(
    "kept",
    [
        "JUPYTER_LEASE_NOTEBOOK_ID",
        "HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4",
        "362bc9914d1341fcb282a5c1c670603f",
        "881ed162-ae2e-4154-bf15-052434b9b5df",
        "https://modelarts.cn-north-4.myhuaweicloud.com",
    ],
)
def test_scrub_keeps_what_people_need(kept):
    assert kept in scrub(f"check {kept} please")


def test_scrub_removes_known_secrets_of_any_shape():
    assert "hunter2" not in scrub("password hunter2 wrong", secrets=["hunter2", None])


def test_public_api_is_small_and_importable():
    for name in jupyter_lease.__all__:
        assert getattr(jupyter_lease, name) is not None
    assert issubclass(jupyter_lease.LeaseFormatError, jupyter_lease.BadResponseError)


def test_extend_refused_is_a_usage_error_in_the_tree_and_exported():
    from jupyter_lease import _errors

    assert issubclass(jupyter_lease.ExtendRefusedError, jupyter_lease.UsageError)
    assert "ExtendRefusedError" in jupyter_lease.__all__ and "ExtendRefusedError" in _errors.__all__
    assert "ExtendRefusedError" in _errors.__doc__

"""The doctor report: rows for every source, masking, renderings, never raising."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from jupyter_lease.core.chain import Record
from jupyter_lease.doctor.report import STATUSES, DoctorOptions, Report, doctor_report, run_doctor
from jupyter_lease.modelarts.credentials import try_resolve_credentials
from jupyter_lease.modelarts.discovery import discover
from jupyter_lease.simulator.app import Simulator

NB = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
PROJECT = "0123456789abcdef0123456789abcdef"
AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
TOKEN = "MIIxyzSECRETtokenVALUE0123456789abcdefABCDEF+/=="
PASSWORD = "hunter2-Very-Secret"
# Nothing key-shaped may be shown: AKs are 20 upper-case alphanumerics, SKs and tokens longer
# and mixed case (ids are lower-case hex, so they do not match).
KEYLIKE = re.compile(r"(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/=]*[A-Z])[A-Za-z0-9+/=]{20,}")


def no_session() -> None:
    return None


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    path = tmp_path / "runtime"
    path.mkdir()
    return path


def doctor(env: Dict[str, str], runtime: Path, **kw: Any) -> Report:
    """run_doctor isolated from this machine (runtime dir, host name, ModelArts SDK)."""
    kw.setdefault("hostname", "laptop")
    kw.setdefault("session_factory", no_session)
    return run_doctor(DoctorOptions(env, runtime_dir=str(runtime), **kw))


def renderings(report: Report) -> List[str]:
    return [report.to_text(), report.to_html(), json.dumps(report.to_dict()), str(report)]


def rows(report: Report, section: str) -> Dict[str, Any]:
    return {r.setting: r for r in report.section(section).rows}


def assert_masked(report: Report, *secrets: str) -> None:
    for text in renderings(report):
        for secret in secrets:
            assert secret not in text
        assert not KEYLIKE.search(text.replace("&#x27;", "'")), KEYLIKE.search(text)


# --- a healthy setup ------------------------------------------------------------------------------


def test_simulator_setup_is_ready(simulator: Simulator, runtime: Path) -> None:
    report = doctor(simulator.environ(), runtime)
    assert report.ok
    summary = rows(report, "Summary")
    assert summary["notebook id"].value == simulator.notebook_id
    assert summary["notebook id"].source == "JUPYTER_LEASE_NOTEBOOK_ID"
    assert summary["endpoint"].value == simulator.url
    assert summary["credentials"].value == "AK/SK (AK UJZD…91)"
    assert summary["credentials"].source == "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK"
    assert {r.status for r in report.section("Summary").rows} == {"ok"}
    assert report.unconfirmed == ()
    assert "Unconfirmed" not in report.to_text()
    assert report.to_text().startswith("jupyter_lease doctor: ready")
    assert_masked(report, simulator.sk, simulator.ak)


def test_every_source_tried_is_a_row(runtime: Path) -> None:
    report = doctor({}, runtime)
    tried = report.section("Discovery sources tried").rows
    assert [r.source for r in tried if r.setting == "endpoint"] == [
        "argument endpoint",
        "JUPYTER_LEASE_ENDPOINT",
        "HUAWEICLOUD_SDK_REGION_MODELARTS_<REGION>",
        "MA_APIGW_ENDPOINT (unconfirmed)",
        "default for the region",
    ]
    assert len(tried) == 5 + 4 + 5 + 5  # the notebook id: also "this Jupyter server's base_url"
    creds = report.section("Credential sources tried").rows
    assert [(r.source, r.status) for r in creds][-2:] == [
        ("modelarts Session (unconfirmed)", "missing"),
        ("metadata service (unconfirmed)", "skipped"),
    ]
    assert creds[-1].hint == "not inside ModelArts; set JUPYTER_LEASE_METADATA_URL to enable"
    assert all(r.status in STATUSES for s in report.sections for r in s.rows)


def test_nothing_configured_says_what_to_set(runtime: Path) -> None:
    report = doctor({}, runtime)
    assert not report.ok
    summary = rows(report, "Summary")
    assert summary["notebook id"].hint == "set JUPYTER_LEASE_NOTEBOOK_ID"
    assert summary["project id"].status == "missing"
    assert summary["credentials"].hint.startswith("no credentials: tried explicit arguments")
    errors = [r.hint for r in report.section("Errors").rows]
    assert errors[0].startswith("notebook id and project id and endpoint not found — set ")
    text = report.to_text()
    assert "NOT READY" in text and "set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK" in text


# --- unconfirmed facts ----------------------------------------------------------------------------


def test_unconfirmed_sources_are_flagged_and_footnoted(runtime: Path) -> None:
    (runtime / "jpserver-1.json").write_text(
        json.dumps({"pid": os.getpid(), "base_url": f"/{NB}/"})
    )
    env = {"JUPYTER_LEASE_PROJECT_ID": PROJECT, "JUPYTER_LEASE_REGION": "eu-west-101"}
    report = doctor(env, runtime, auth_token=TOKEN)
    summary = rows(report, "Summary")
    assert summary["notebook id"].status == "unconfirmed"
    assert summary["notebook id"].source == "base_url of jpserver-1.json (unconfirmed)"
    assert summary["endpoint"].status == "unconfirmed"  # the EU site's host
    assert len(report.unconfirmed) == 2
    assert "base_url" in report.unconfirmed[0] and ".eu" in report.unconfirmed[1]
    text = report.to_text()
    assert "Unconfirmed (verify" in text and "myhuaweicloud.eu" in text
    assert report.ok  # unconfirmed is not failure
    assert_masked(report, TOKEN)


def test_region_is_optional_when_the_endpoint_is_known(runtime: Path) -> None:
    env = {
        "JUPYTER_LEASE_NOTEBOOK_ID": NB,
        "JUPYTER_LEASE_PROJECT_ID": "my_project",
        "JUPYTER_LEASE_ENDPOINT": "http://127.0.0.1:1",
    }
    summary = rows(doctor(env, runtime, ak=AK, sk=SK), "Summary")
    assert (summary["region"].status, summary["region"].hint) == (
        "skipped",
        "optional: the endpoint is known",
    )
    assert summary["project id"].status == "warning"
    assert "32 lower-case hex" in summary["project id"].hint


# --- problems become rows, never exceptions -------------------------------------------------------


def test_bad_values_and_half_configuration_become_rows(runtime: Path) -> None:
    env = {"JUPYTER_LEASE_ENDPOINT": "ftp://x", "HUAWEICLOUD_SDK_AK": AK}
    report = doctor(env, runtime)
    bad = [r for r in report.section("Discovery sources tried").rows if r.status == "failed"]
    assert [(r.setting, r.source) for r in bad] == [("endpoint", "JUPYTER_LEASE_ENDPOINT")]
    assert bad[0].hint.startswith("JUPYTER_LEASE_ENDPOINT='ftp://x' is not an endpoint")
    errors = [r.hint for r in report.section("Errors").rows]
    assert "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not — set both or neither" in (
        errors
    )
    assert not report.ok
    assert_masked(report, AK)


def test_a_broken_session_is_built_once_and_reported(runtime: Path) -> None:
    calls: List[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError(f"cannot read {SK}")

    report = doctor({}, runtime, session_factory=broken)
    assert calls == [1]  # shared by discovery and credentials
    failed = [
        r
        for name in ("Discovery sources tried", "Credential sources tried")
        for r in report.section(name).rows
        if r.status == "failed"
    ]
    assert len(failed) == 3  # project id, region, credentials
    assert all("RuntimeError: cannot read ***" in r.hint for r in failed)
    assert_masked(report, SK)


def test_wrong_iam_password_is_a_failed_row(simulator: Simulator, runtime: Path) -> None:
    env = {
        "JUPYTER_LEASE_NOTEBOOK_ID": NB,
        "JUPYTER_LEASE_PROJECT_ID": PROJECT,
        "JUPYTER_LEASE_ENDPOINT": simulator.url,
        "JUPYTER_LEASE_IAM_USER": "sim-user",
        "JUPYTER_LEASE_IAM_PASSWORD": PASSWORD,
        "JUPYTER_LEASE_IAM_DOMAIN": "sim-domain",
        "JUPYTER_LEASE_IAM_ENDPOINT": simulator.url,
    }
    report = doctor(env, runtime)
    (iam,) = [r for r in report.section("Credential sources tried").rows if "IAM" in r.source]
    assert iam.status == "failed" and "HTTP 401" in iam.hint
    assert_masked(report, PASSWORD)


def test_metadata_credentials_are_masked(simulator: Simulator, runtime: Path) -> None:
    env = {**simulator.environ(), "JUPYTER_LEASE_METADATA_URL": simulator.url}
    del env["HUAWEICLOUD_SDK_AK"], env["HUAWEICLOUD_SDK_SK"]
    report = doctor(env, runtime)
    summary = rows(report, "Summary")
    assert summary["credentials"].status == "unconfirmed"
    assert summary["credentials"].value.startswith("temporary AK/SK (AK ")
    assert any("metadata service" in fact for fact in report.unconfirmed)
    assert_masked(report)  # the issued SK and security token are long and key-shaped


def test_explicit_secrets_never_appear(runtime: Path) -> None:
    report = doctor({}, runtime, ak=AK, sk=SK, security_token=TOKEN)
    assert rows(report, "Summary")["credentials"].value == "temporary AK/SK (AK QTWA…UC)"
    assert_masked(report, AK, SK, TOKEN)


# --- connectivity check ---------------------------------------------------------------------------


def test_connectivity_check_row(simulator: Simulator, runtime: Path) -> None:
    report = doctor(simulator.environ(), runtime, endpoint_check="ShowLease OK: 2:00:00 left")
    assert rows(report, "Connectivity")["ShowLease"].status == "ok" and report.ok
    report = doctor(simulator.environ(), runtime, endpoint_check="ShowLease failed: HTTP 401")
    assert rows(report, "Connectivity")["ShowLease"].status == "failed" and not report.ok


# --- renderings -----------------------------------------------------------------------------------


def test_text_columns_are_aligned(simulator: Simulator, runtime: Path) -> None:
    text = doctor(simulator.environ(), runtime).to_text()
    blocks = text.split("\n\n")[1:]
    for block in blocks:
        lines = block.splitlines()[1:]  # the title, then the header row
        column = lines[0].index("status")
        for line in lines[1:]:
            assert line[column:].split()[0] in STATUSES, line


def test_html_is_escaped(simulator: Simulator, runtime: Path) -> None:
    report = doctor(simulator.environ(), runtime, endpoint_check="<script>alert(1)</script>")
    html = report.to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.startswith('<div class="jupyter-lease-doctor">') and html.count("<table>") == 5
    assert report._repr_html_() == html


def test_dict_is_json_safe(simulator: Simulator, runtime: Path) -> None:
    data = doctor(simulator.environ(), runtime).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["ok"] is True
    assert [s["title"] for s in data["sections"]] == [
        "Summary",
        "Discovery sources tried",
        "Credential sources tried",
        "Versions",
    ]
    assert set(data["sections"][0]["rows"][0]) == {"setting", "value", "source", "status", "hint"}


def test_doctor_report_from_parts(simulator: Simulator, runtime: Path) -> None:
    env = simulator.environ()
    location = discover(environ=env, runtime_dir=str(runtime), hostname="h")
    resolution = try_resolve_credentials(environ=env, session_factory=no_session)
    from_resolution = doctor_report(location, resolution)
    from_list = doctor_report(location, list(resolution.attempts))
    assert from_resolution == from_list and from_list.ok
    no_creds = doctor_report(location, [Record("x", "not set")])
    assert not no_creds.ok


def test_report_scrubs_what_a_source_forgot_to_mask_but_keeps_variable_names(
    simulator: Simulator, runtime: Path
) -> None:
    location = discover(environ=simulator.environ(), runtime_dir=str(runtime), hostname="h")
    leaky = Record("custom source", "failed", f"boom {SK}: set JUPYTER_LEASE_AUTH_TOKEN")
    report = doctor_report(location, [leaky], errors=[f"token {TOKEN} rejected"])
    assert_masked(report, SK, TOKEN)
    (row,) = report.section("Credential sources tried").rows
    assert row.hint == "boom ***: set JUPYTER_LEASE_AUTH_TOKEN"

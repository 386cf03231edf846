"""Where-am-I discovery: every source, the precedence order, validation, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from jupyter_lease._errors import ConfigurationError
from jupyter_lease.modelarts.discovery import ENDPOINT_SOURCES, Location, discover
from jupyter_lease.modelarts.env import (
    default_endpoint,
    memoize_session_factory,
    modelarts_hint,
    normalize_endpoint,
)

NB = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
NB2 = "99999999-8888-4777-8666-555555555555"
NB3 = "33333333-3333-4333-8333-333333333333"
PROJECT = "0123456789abcdef0123456789abcdef"
PROJECT2 = "fedcba9876543210fedcba9876543210"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"


def no_session() -> None:
    return None


@pytest.fixture
def empty_runtime(tmp_path: Path) -> str:
    path = tmp_path / "runtime"
    path.mkdir()
    return str(path)


def run(env: Dict[str, str], runtime_dir: str, **kw: Any) -> Location:
    """discover() isolated from this machine: no real runtime dir, host name or ModelArts SDK."""
    kw.setdefault("hostname", "laptop")
    kw.setdefault("session_factory", no_session)
    return discover(environ=env, runtime_dir=runtime_dir, **kw)


def write_server(runtime: Path, name: str, pid: int, base_url: str, mtime: float = 0) -> Path:
    path = runtime / name
    path.write_text(json.dumps({"pid": pid, "base_url": base_url, "url": "http://x:8888/"}))
    if mtime:
        os.utime(path, (mtime, mtime))
    return path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


SESSION_OK = """
CALLS = 0

class Session:
    def __init__(self):
        global CALLS
        CALLS += 1
        self.project_id = "fedcba9876543210fedcba9876543210"
        self.region_name = "cn-east-3"
"""

SESSION_RAISES = """
class Session:
    def __init__(self):
        raise RuntimeError("Session needs an agency")
"""


# --- precedence, one table per setting ----------------------------------------------------------

FULL_ENV = {
    "JUPYTER_LEASE_NOTEBOOK_ID": NB,
    "JUPYTER_LEASE_PROJECT_ID": PROJECT,
    "JUPYTER_LEASE_REGION": "cn-north-4",
    "JUPYTER_LEASE_ENDPOINT": "https://lease.example.com:8443/",
}


def test_env_sources(empty_runtime: str) -> None:
    loc = run(FULL_ENV, empty_runtime).require()
    assert loc.notebook_id.value == NB
    assert loc.project_id.value == PROJECT
    assert loc.region.value == "cn-north-4"
    assert loc.endpoint.value == "https://lease.example.com:8443"  # trailing / stripped
    assert loc.endpoint.source == "JUPYTER_LEASE_ENDPOINT"
    assert [a.source for a in loc.notebook_id.tried] == [
        "argument notebook_id",
        "JUPYTER_LEASE_NOTEBOOK_ID",
    ]
    assert [a.outcome for a in loc.notebook_id.tried] == ["not set", "found"]


def test_explicit_arguments_beat_everything(empty_runtime: str) -> None:
    loc = run(
        FULL_ENV,
        empty_runtime,
        notebook_id=NB2,
        project_id=PROJECT2,
        region="ap-southeast-3",
        endpoint="http://127.0.0.1:9999",
    )
    assert loc.notebook_id.value == NB2 and loc.notebook_id.source == "argument notebook_id"
    assert loc.project_id.value == PROJECT2
    assert loc.region.value == "ap-southeast-3"
    assert loc.endpoint.value == "http://127.0.0.1:9999"
    assert all(len(f.tried) == 1 for f in loc.fields())


def test_project_id_chain_order(empty_runtime: str, fake_modelarts: Any) -> None:
    fake_modelarts(SESSION_OK)
    env = {"JUPYTER_LEASE_PROJECT_ID": PROJECT, "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT2}
    assert run(env, empty_runtime, session_factory=None).project_id.source == (
        "JUPYTER_LEASE_PROJECT_ID"
    )
    del env["JUPYTER_LEASE_PROJECT_ID"]
    found = run(env, empty_runtime, session_factory=None).project_id
    assert (found.value, found.source) == (PROJECT2, "HUAWEICLOUD_SDK_PROJECT_ID")
    found = run({}, empty_runtime, session_factory=None).project_id
    assert found.value == PROJECT2
    assert found.source == "modelarts.session.Session().project_id"
    assert "unconfirmed" in found.unconfirmed


def test_region_chain_order(empty_runtime: str, fake_modelarts: Any) -> None:
    fake_modelarts(SESSION_OK)
    env = {"JUPYTER_LEASE_REGION": "cn-north-4", "HUAWEICLOUD_SDK_REGION": "cn-south-1"}
    assert run(env, empty_runtime, session_factory=None).region.value == "cn-north-4"
    del env["JUPYTER_LEASE_REGION"]
    found = run(env, empty_runtime, session_factory=None).region
    assert (found.value, found.source) == ("cn-south-1", "HUAWEICLOUD_SDK_REGION")
    found = run({}, empty_runtime, session_factory=None).region
    assert (found.value, found.source) == ("cn-east-3", "modelarts.session.Session().region_name")


def test_region_from_endpoint_host(empty_runtime: str) -> None:
    env = {"JUPYTER_LEASE_ENDPOINT": "https://modelarts.cn-east-3.myhuaweicloud.com"}
    found = run(env, empty_runtime).region
    assert (found.value, found.source) == ("cn-east-3", "host of JUPYTER_LEASE_ENDPOINT")
    env = {"MA_APIGW_ENDPOINT": "https://modelarts.la-south-2.myhuaweicloud.com"}
    found = run(env, empty_runtime).region
    assert found.value == "la-south-2" and found.unconfirmed  # MA_APIGW_ENDPOINT is a guess
    assert run({"JUPYTER_LEASE_ENDPOINT": "http://127.0.0.1:1"}, empty_runtime).region.value is None


def test_region_from_the_single_sdk_endpoint_variable(empty_runtime: str) -> None:
    env = {"HUAWEICLOUD_SDK_REGION_MODELARTS_AP_SOUTHEAST_3": "https://ma.internal:443"}
    loc = run(env, empty_runtime)
    assert loc.region.value == "ap-southeast-3"
    assert loc.endpoint.value == "https://ma.internal:443"
    assert loc.endpoint.source == "HUAWEICLOUD_SDK_REGION_MODELARTS_AP_SOUTHEAST_3"
    # Two of them: which region is meant is ambiguous, so neither is guessed.
    env["HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4"] = "https://other:443"
    assert run(env, empty_runtime).region.value is None


def test_endpoint_chain_order(empty_runtime: str) -> None:
    env = {
        "JUPYTER_LEASE_REGION": "cn-north-4",
        "JUPYTER_LEASE_ENDPOINT": "https://one.example.com",
        "HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4": "https://two.example.com,https://x.y",
        "MA_APIGW_ENDPOINT": "three.example.com",
    }
    expected = [
        ("https://one.example.com", "JUPYTER_LEASE_ENDPOINT", ""),
        ("https://two.example.com", "HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4", ""),
        ("https://three.example.com", "MA_APIGW_ENDPOINT", "unconfirmed"),
        ("https://modelarts.cn-north-4.myhuaweicloud.com", "default for region cn-north-4", ""),
    ]
    for key, (value, source, unconfirmed) in zip(
        [
            "JUPYTER_LEASE_ENDPOINT",
            "HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4",
            "MA_APIGW_ENDPOINT",
            None,
        ],
        expected,
    ):
        found = run(env, empty_runtime).endpoint
        assert (found.value, found.source) == (value, source)
        assert (unconfirmed in found.unconfirmed) if unconfirmed else not found.unconfirmed
        if key:
            del env[key]
    assert len(ENDPOINT_SOURCES) == 5  # a new source must be added to this table too


def test_sdk_endpoint_variable_needs_the_matching_region(empty_runtime: str) -> None:
    env = {
        "JUPYTER_LEASE_REGION": "cn-east-3",
        "HUAWEICLOUD_SDK_REGION_MODELARTS_CN_NORTH_4": "https://two.example.com",
    }
    assert run(env, empty_runtime).endpoint.value == (
        "https://modelarts.cn-east-3.myhuaweicloud.com"
    )


@pytest.mark.parametrize(
    "region, url, unconfirmed",
    [
        ("cn-north-4", "https://modelarts.cn-north-4.myhuaweicloud.com", False),
        ("ap-southeast-1", "https://modelarts.ap-southeast-1.myhuaweicloud.cn", False),
        ("eu-west-101", "https://modelarts.eu-west-101.myhuaweicloud.eu", True),
        ("eu-west-0", "https://modelarts.eu-west-0.myhuaweicloud.com", False),
    ],
)
def test_default_endpoint(region: str, url: str, unconfirmed: bool, empty_runtime: str) -> None:
    assert default_endpoint(region)[0] == url
    found = run({"JUPYTER_LEASE_REGION": region}, empty_runtime).endpoint
    assert found.value == url
    assert bool(found.unconfirmed) is unconfirmed


def test_nothing_found_records_every_source(empty_runtime: str) -> None:
    loc = run({}, empty_runtime)
    assert [f.value for f in loc.fields()] == [None] * 4
    assert [a.source for a in loc.endpoint.tried] == [s.label for s in ENDPOINT_SOURCES]
    assert {a.outcome for f in loc.fields() for a in f.tried} == {"not set"}
    assert [a.source for a in loc.notebook_id.tried][2:] == [
        "this Jupyter server's base_url",  # only the server extension has one
        "Jupyter server base_url",
        "hostname",
    ]
    assert all(a.unconfirmed for a in loc.notebook_id.tried[2:])


# --- Jupyter runtime files ----------------------------------------------------------------------


def test_notebook_id_from_server_base_url(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    runtime.mkdir()
    write_server(runtime, "jpserver-1.json", os.getpid(), f"/{NB}/")
    found = run({}, str(runtime)).notebook_id
    assert found.value == NB
    assert found.source == "base_url of jpserver-1.json"
    assert "base_url" in found.unconfirmed


def test_parent_process_server_wins_over_newer_live_one(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    runtime.mkdir()
    write_server(runtime, "jpserver-parent.json", os.getppid(), f"/{NB}/lab", mtime=1000)
    write_server(runtime, "jpserver-other.json", os.getpid(), f"/{NB2}/", mtime=2000)
    assert run({}, str(runtime)).notebook_id.value == NB


def test_newest_live_server_wins_and_dead_ones_are_ignored(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    runtime.mkdir()
    write_server(runtime, "jpserver-old.json", os.getpid(), f"/{NB2}/", mtime=1000)
    write_server(runtime, "jpserver-new.json", os.getpid(), f"/{NB}/", mtime=2000)
    write_server(runtime, "jpserver-dead.json", dead_pid(), f"/{NB3}/", mtime=3000)
    assert run({}, str(runtime)).notebook_id.value == NB
    (runtime / "jpserver-new.json").unlink()
    (runtime / "jpserver-old.json").unlink()
    assert run({}, str(runtime)).notebook_id.value is None  # only the dead server is left


def test_classic_notebook_server_and_junk_files(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    runtime.mkdir()
    (runtime / "jpserver-9.json").write_text("{not json")
    write_server(runtime, "jpserver-8.json", os.getpid(), "/user/lab/")  # no UUID
    write_server(runtime, "nbserver-7.json", os.getpid(), f"/{NB.upper()}/")
    found = run({}, str(runtime)).notebook_id
    assert (found.value, found.source) == (NB, "base_url of nbserver-7.json")


def test_runtime_dir_from_environment(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    runtime.mkdir()
    write_server(runtime, "jpserver-1.json", os.getpid(), f"/{NB}/")
    found = discover(
        environ={"JUPYTER_RUNTIME_DIR": str(runtime)}, hostname="x", session_factory=no_session
    ).notebook_id
    assert found.value == NB


# --- hostname ------------------------------------------------------------------------------------


def test_notebook_id_from_hostname(empty_runtime: str) -> None:
    found = run({}, empty_runtime, hostname=f"notebook-{NB}-7d9f8b-x2kq").notebook_id
    assert (found.value, found.source) == (NB, f"hostname notebook-{NB}-7d9f8b-x2kq")
    assert "hostname" in found.unconfirmed
    # A UUID in some other host name says nothing about ModelArts.
    assert run({}, empty_runtime, hostname=f"build-{NB}").notebook_id.value is None


def test_runtime_file_beats_hostname(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    runtime.mkdir()
    write_server(runtime, "jpserver-1.json", os.getpid(), f"/{NB}/")
    found = run({}, str(runtime), hostname=f"notebook-{NB2}-0").notebook_id
    assert found.value == NB


# --- ModelArts Session ---------------------------------------------------------------------------


def test_session_is_built_once_for_both_settings(empty_runtime: str, fake_modelarts: Any) -> None:
    fake_modelarts(SESSION_OK)
    loc = run({}, empty_runtime, session_factory=None)
    assert loc.project_id.value == PROJECT2 and loc.region.value == "cn-east-3"
    assert loc.endpoint.value == "https://modelarts.cn-east-3.myhuaweicloud.com"
    assert sys.modules["modelarts.session"].CALLS == 1


def test_failing_session_is_recorded_and_chain_continues(
    empty_runtime: str, fake_modelarts: Any
) -> None:
    fake_modelarts(SESSION_RAISES)
    env = {"JUPYTER_LEASE_ENDPOINT": "https://modelarts.cn-north-4.myhuaweicloud.com"}
    loc = run(env, empty_runtime, session_factory=None)
    (attempt,) = [a for a in loc.project_id.tried if "Session" in a.source]
    assert attempt.outcome == "failed"
    assert "RuntimeError: Session needs an agency" in attempt.detail
    assert loc.region.value == "cn-north-4"  # the next source still ran


def test_session_without_attributes_fails_cleanly(empty_runtime: str) -> None:
    class Bare:
        project_id = None

    loc = run({}, empty_runtime, session_factory=lambda: Bare())
    outcomes = {a.source: a.outcome for a in loc.project_id.tried}
    assert outcomes["modelarts Session.project_id"] == "failed"


def test_no_modelarts_installed_means_not_set(empty_runtime: str, fake_modelarts: Any) -> None:
    # fake_modelarts fixture cleared sys.modules but nothing was installed
    loc = run({}, empty_runtime, session_factory=None)
    outcomes = {a.source: a.outcome for a in loc.project_id.tried}
    assert outcomes["modelarts Session.project_id"] == "not set"


def test_memoized_factory_remembers_failure() -> None:
    calls = []

    def factory() -> None:
        calls.append(1)
        raise OSError("boom")

    memo = memoize_session_factory(factory)
    for _ in range(3):
        with pytest.raises(OSError):
            memo()
    assert calls == [1]


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "var, value, phrase",
    [
        ("JUPYTER_LEASE_ENDPOINT", "ftp://host", "expected http(s)://host[:port]"),
        ("JUPYTER_LEASE_ENDPOINT", "https://host/v1/path", "has a path"),
        ("JUPYTER_LEASE_ENDPOINT", "modelarts.cn-north-4.myhuaweicloud.com", "not an endpoint"),
        ("JUPYTER_LEASE_ENDPOINT", "https://host:99999", "not a URL"),
        ("JUPYTER_LEASE_NOTEBOOK_ID", "my-notebook", "not a notebook instance id"),
        ("JUPYTER_LEASE_PROJECT_ID", "abc/../def", "not a project id"),
        ("HUAWEICLOUD_SDK_PROJECT_ID", "has space", "not a project id"),
        ("JUPYTER_LEASE_REGION", "North 4", "not a region id"),
    ],
)
def test_bad_values_are_one_line_errors(
    var: str, value: str, phrase: str, empty_runtime: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        run({var: value}, empty_runtime)
    message = str(info.value)
    assert message.startswith(f"{var}={value!r} ")
    assert phrase in message
    assert "\n" not in message


def test_bad_explicit_argument_names_the_argument(empty_runtime: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^argument endpoint='nope' "):
        run({}, empty_runtime, endpoint="nope")


def test_bad_value_that_looks_like_a_secret_is_scrubbed(empty_runtime: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        run({"JUPYTER_LEASE_PROJECT_ID": SK + "/x"}, empty_runtime)
    assert SK not in str(info.value)
    assert "JUPYTER_LEASE_PROJECT_ID" in str(info.value)


def test_odd_project_id_warns_but_is_used(empty_runtime: str) -> None:
    found = run({"JUPYTER_LEASE_PROJECT_ID": "my-project_1"}, empty_runtime).project_id
    assert found.value == "my-project_1"
    assert "32" in found.warning
    assert run({"JUPYTER_LEASE_PROJECT_ID": PROJECT}, empty_runtime).project_id.warning == ""


def test_notebook_id_without_dashes_is_accepted(empty_runtime: str) -> None:
    value = NB.replace("-", "")
    assert run({"JUPYTER_LEASE_NOTEBOOK_ID": value}, empty_runtime).notebook_id.value == value


def test_values_are_stripped_and_empty_means_unset(empty_runtime: str) -> None:
    env = {"JUPYTER_LEASE_NOTEBOOK_ID": f"  {NB}\n", "JUPYTER_LEASE_PROJECT_ID": "  "}
    loc = run(env, empty_runtime)
    assert loc.notebook_id.value == NB
    assert loc.project_id.value is None


def test_non_strict_records_bad_values_and_moves_on(empty_runtime: str) -> None:
    env = {"JUPYTER_LEASE_ENDPOINT": "ftp://x", "JUPYTER_LEASE_REGION": "cn-north-4"}
    found = run(env, empty_runtime, strict=False).endpoint
    assert found.value == "https://modelarts.cn-north-4.myhuaweicloud.com"
    bad = [a for a in found.tried if a.outcome == "invalid"]
    assert len(bad) == 1 and bad[0].detail.startswith("JUPYTER_LEASE_ENDPOINT='ftp://x' ")


def test_bad_hint_is_skipped_not_fatal(empty_runtime: str) -> None:
    env = {"MA_APIGW_ENDPOINT": "https://gw/with/path", "JUPYTER_LEASE_REGION": "cn-north-4"}
    found = run(env, empty_runtime).endpoint  # strict mode: still no error for a guess
    assert found.value == "https://modelarts.cn-north-4.myhuaweicloud.com"
    assert [a.outcome for a in found.tried if a.source == "MA_APIGW_ENDPOINT"] == ["invalid"]


@pytest.mark.parametrize(
    "raw, normal",
    [
        ("https://a.example.com/", "https://a.example.com"),
        ("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://[::1]:9443", "https://[::1]:9443"),
    ],
)
def test_normalize_endpoint(raw: str, normal: str) -> None:
    assert normalize_endpoint(raw) == normal


@pytest.mark.parametrize("raw", ["https://user@host", "https://", "https://h:0", "https://h?x=1"])
def test_normalize_endpoint_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_endpoint(raw)


# --- require() -----------------------------------------------------------------------------------


def test_require_names_what_is_missing(empty_runtime: str) -> None:
    env = dict(FULL_ENV)
    del env["JUPYTER_LEASE_NOTEBOOK_ID"]
    with pytest.raises(ConfigurationError) as info:
        run(env, empty_runtime).require()
    assert str(info.value).startswith("notebook id not found — set JUPYTER_LEASE_NOTEBOOK_ID")
    assert "\n" not in str(info.value)


def test_require_suggests_region_when_the_endpoint_cannot_be_derived(empty_runtime: str) -> None:
    env = {"JUPYTER_LEASE_NOTEBOOK_ID": NB}
    with pytest.raises(ConfigurationError) as info:
        run(env, empty_runtime).require()
    message = str(info.value)
    assert message.startswith("project id and endpoint not found")
    assert "set JUPYTER_LEASE_PROJECT_ID and JUPYTER_LEASE_REGION (or JUPYTER_LEASE_ENDPOINT)" in (
        message
    )


def test_require_does_not_need_a_region_when_the_endpoint_is_known(empty_runtime: str) -> None:
    env = dict(FULL_ENV)
    del env["JUPYTER_LEASE_REGION"]
    loc = run(env, empty_runtime)
    assert loc.require() is loc
    assert loc.region.value is None and not loc.region


# --- the ModelArts rule and import cost ----------------------------------------------------------


def test_modelarts_hint() -> None:
    assert modelarts_hint({}) is None
    assert modelarts_hint({"MA_APIGW_ENDPOINT": "https://x"}) == "MA_APIGW_ENDPOINT is set"
    assert modelarts_hint({"HOME": "/home/ma-user"}) == "running as ma-user"
    assert modelarts_hint({}, hostname=f"notebook-{NB}-0") is not None
    assert modelarts_hint({}, hostname="laptop") is None


def test_importing_the_shell_modules_does_not_import_requests() -> None:
    code = (
        "import sys, jupyter_lease, jupyter_lease.modelarts.discovery, "
        "jupyter_lease.modelarts.credentials, "
        "jupyter_lease.doctor.report; print('requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_bad_endpoint_never_echoes_its_password():
    for endpoint in ("http://user:s3cretpass@", "http://user:s3cretpass@host:notaport"):
        with pytest.raises(ConfigurationError) as info:
            discover(endpoint=endpoint, environ={})
        assert "s3cretpass" not in str(info.value) and "***@" in str(info.value)

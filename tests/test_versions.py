"""doctor's Versions section: this Python's packages, a real running server's, and the one-line
verdict on combinations known not to work."""

from __future__ import annotations

import importlib.util
import json
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from jupyter_lease.doctor.report import DoctorOptions, run_doctor
from jupyter_lease.doctor.versions import (
    ServerVersions,
    compatibility,
    kernel_versions,
    probe_server,
)
from jupyter_lease.simulator.app import Simulator
from tests.support.jupyter import TOKEN, JupyterServer, clean_env

MODEL_NOT_FOUND = "Error displaying widget: model not found"


def kernel(ipywidgets: Optional[str] = "7.8.5") -> Dict[str, Optional[str]]:
    return {
        "Python": "3.7.10",
        "IPython": "7.34.0",
        "ipywidgets": ipywidgets,
        "anywidget": "0.9.13",
    }


def server(manager: Optional[str], lease: bool = True) -> ServerVersions:
    return ServerVersions("http://127.0.0.1:1/", "1.24.0", "JupyterLab 3.6.8", manager, lease)


# --- the verdict ----------------------------------------------------------------------------------


def test_ipywidgets_8_in_the_kernel_on_a_widgets_7_front_end_is_one_failed_line() -> None:
    problems = compatibility(kernel("8.1.5"), server("3.1.11"))
    assert len(problems) == 1
    status, line = problems[0]
    assert status == "failed"
    assert "\n" not in line
    assert MODEL_NOT_FOUND.lower() in line.lower()
    assert 'pip install "ipywidgets>=7.6,<8"' in line


@pytest.mark.parametrize(
    "widgets, manager",
    [("7.8.5", "3.1.11"), ("7.8.5", "5.0.13"), ("8.1.5", "5.0.13"), ("8.1.5", None)],
)
def test_the_combinations_that_work_have_no_problem(widgets: str, manager: Optional[str]) -> None:
    assert compatibility(kernel(widgets), server(manager)) == []
    assert compatibility(kernel(widgets), None) == []


def test_missing_or_too_old_widgets_and_a_server_without_the_extension_say_what_to_do() -> None:
    assert compatibility(kernel(None), None) == [
        ("missing", 'no ipywidgets here: pip install "ipywidgets>=7.6,<9"')
    ]
    [(status, line)] = compatibility(kernel("7.5.1"), None)
    assert status == "failed" and "7.5.1" in line and "ipywidgets>=7.6,<8" in line
    [(status, line)] = compatibility(kernel(), server("3.1.11", lease=False))
    assert status == "warning" and "pip install jupyter_lease in the server's" in line


def test_kernel_versions_are_this_pythons() -> None:
    import IPython
    import ipywidgets

    found = kernel_versions()
    assert found["Python"] == platform.python_version()
    assert found["IPython"] == IPython.__version__
    assert found["ipywidgets"] == ipywidgets.__version__


# --- a real server --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A jupyter_server (2.x here; 1.24 in the Python 3.7 job) behind a token, non-root base_url,
    with the lease extension but no ModelArts configuration."""
    srv = JupyterServer(tmp_path_factory.mktemp("doctor"), clean_env(), token=TOKEN, base_url="/b/")
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


def runtime_dir(srv: JupyterServer) -> str:
    return srv.env["JUPYTER_RUNTIME_DIR"]


def test_doctor_asks_the_running_server_without_leaking_its_token(
    token_server: JupyterServer, simulator: Simulator, tmp_path: Path
) -> None:
    import jupyter_server

    report = run_doctor(
        DoctorOptions(
            simulator.environ(),
            runtime_dir=runtime_dir(token_server),
            hostname="laptop",
            session_factory=lambda: None,
        )
    )
    rows = {r.setting: r for r in report.section("Versions").rows}
    assert rows["jupyter_server"].value == jupyter_server.__version__
    assert rows["jupyter_server"].source == f"http://127.0.0.1:{token_server.port}/b/"
    assert rows["lease server extension"].value == "enabled"
    # JupyterLab, where installed, is a server extension this jupyter_server loads too.
    lab = importlib.util.find_spec("jupyterlab") is not None
    assert rows["server app"].value == (f"JupyterLab {_lab_version()}" if lab else "")
    for text in (report.to_text(), report.to_html(), json.dumps(report.to_dict())):
        assert TOKEN not in text


def _lab_version() -> str:
    import jupyterlab

    return str(jupyterlab.__version__)


def _runtime_file(srv: JupyterServer, tmp_path: Path, **changes: object) -> str:
    """A copy of the server's runtime file with ``changes``, in a directory of its own."""
    [info_file] = Path(runtime_dir(srv)).glob("jpserver-*.json")
    info = json.loads(info_file.read_text())
    (tmp_path / info_file.name).write_text(json.dumps({**info, **changes}))
    return str(tmp_path)


def test_a_wrong_token_learns_only_what_is_public(token_server: JupyterServer, tmp_path: Path):
    wrong = probe_server(_runtime_file(token_server, tmp_path, token="wrong-" + TOKEN))
    assert wrong is not None and wrong.error == ""
    assert wrong.jupyter_server  # GET {base_url}api needs no login
    assert wrong.app is None and wrong.lease_extension is None  # 403: not "not enabled"


def test_a_server_that_does_not_answer_is_one_row(token_server: JupyterServer, tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    gone = probe_server(_runtime_file(token_server, tmp_path, port=closed))
    assert gone is not None and gone.jupyter_server is None
    assert "ConnectionError" in gone.error and "\n" not in gone.error and TOKEN not in gone.error
    assert probe_server(str(tmp_path / "nothing-here")) is None


def test_the_cli_doctor_json_has_the_versions_section(token_server: JupyterServer) -> None:
    env = {**clean_env(), "JUPYTER_RUNTIME_DIR": runtime_dir(token_server)}
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_lease", "doctor", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert TOKEN not in out.stdout + out.stderr
    sections = {s["title"]: s["rows"] for s in json.loads(out.stdout)["sections"]}
    settings = {r["setting"]: r for r in sections["Versions"]}
    assert settings["compatibility"]["status"] in ("ok", "missing", "failed", "warning")
    assert settings["lease server extension"]["value"] == "enabled"

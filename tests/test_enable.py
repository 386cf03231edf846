"""``jupyter lease enable --user | --sys-prefix``, and doctor telling whether the running server
loaded the extension — against a real ``jupyter_server`` that runs from an environment which
does not enable it (as ModelArts' server under the read-only ``/modelarts`` tree).

That environment is a throwaway venv (no pip) whose site-packages point at this one's through a
``.pth``: it imports jupyter_server and jupyter_lease, but its ``{sys.prefix}/etc/jupyter`` is
empty, so the config file this checkout's install put into ``.venv/etc/jupyter`` is not on its
path. ``JUPYTER_CONFIG_DIR`` is an empty directory of the test's.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from tests.support.jupyter import TOKEN, JupyterServer, clean_env

pytestmark = pytest.mark.timeout(180)

ROW = "lease server extension"
ENTRY = {"ServerApp": {"jpserver_extensions": {"jupyter_lease": True}}}


@pytest.fixture(scope="module")
def server_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Python of an environment with our packages but none of our Jupyter config."""
    venv = tmp_path_factory.mktemp("server-env") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = str(venv / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]  # addsitedir: its .pth files (the editable) too
    (Path(site) / "outer_env.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def outside_server(root: Path, env: Dict[str, str], python: str) -> JupyterServer:
    """jupyter_server from ``python``, its extensions from its config path only."""
    return JupyterServer(
        root, env, token=TOKEN, base_url="/b/", python=python, lease_extension=None
    )


def _run(python: str, env: Dict[str, str], *args: str) -> Tuple[int, str, str]:
    out = subprocess.run(
        [python, "-m", "jupyter_lease", *args], env=env, capture_output=True, text=True, timeout=90
    )
    return out.returncode, out.stdout, out.stderr


def _doctor_row(python: str, env: Dict[str, str]) -> Dict[str, str]:
    code, out, err = _run(python, env, "doctor", "--json")
    assert code == 0, err
    assert TOKEN not in out + err
    sections = {s["title"]: s["rows"] for s in json.loads(out)["sections"]}
    return {r["setting"]: r for r in sections["Versions"]}[ROW]


@pytest.fixture
def started(tmp_path: Path, server_python: str) -> Iterator[List[JupyterServer]]:
    servers: List[JupyterServer] = []
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_enable_user_makes_the_restarted_server_load_the_extension(
    tmp_path: Path, server_python: str, started: List[JupyterServer]
) -> None:
    first = outside_server(tmp_path, clean_env(), server_python)
    started.append(first)
    first.start()
    env = first.env
    assert first.get("jupyter-lease/api/lease").status_code == 404  # really not loaded
    row = _doctor_row(server_python, env)
    assert row["value"] == "not loaded" and row["status"] == "warning", row
    assert "jupyter lease enable --user" in row["hint"] and "restart" in row["hint"], row

    code, out, err = _run(server_python, env, "enable", "--user")
    written = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.d" / "jupyter_lease.json"
    assert code == 0 and err == "", err
    assert json.loads(written.read_text()) == ENTRY
    assert out.splitlines()[0] == f"Wrote {written}: {json.dumps(ENTRY)}"
    assert "Restart the Jupyter server" in out
    code, again, err = _run(server_python, env, "enable")  # --user is the default; idempotent
    assert code == 0 and again.startswith(f"Already enabled in {written}; nothing written."), err
    assert json.loads(written.read_text()) == ENTRY

    first.stop()
    second = outside_server(tmp_path, clean_env(), server_python)  # same dirs, new port
    started.append(second)
    second.start()
    assert second.get("jupyter-lease/api/lease").status_code == 503  # loaded, not configured
    row = _doctor_row(server_python, env)
    assert row["value"] == "enabled" and row["status"] == "ok" and row["hint"] == "", row


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not JSON: fix or remove it"),
        (json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_lease": False}}}), "off"),
        (json.dumps({"ServerApp": []}), "is not a ServerApp.jpserver_extensions file"),
    ],
)
def test_enable_refuses_a_file_it_must_not_change_in_one_line(
    tmp_path: Path, content: str, says: str
) -> None:
    env = {**clean_env(), "JUPYTER_CONFIG_DIR": str(tmp_path), "HOME": str(tmp_path)}
    path = tmp_path / "jupyter_server_config.d" / "jupyter_lease.json"
    path.parent.mkdir()
    path.write_text(content)
    code, out, err = _run(sys.executable, env, "enable", "--user")
    assert code == 2 and out == "", out
    assert len(err.splitlines()) == 1 and says in err and str(path) in err, err
    assert "Traceback" not in err
    assert path.read_text() == content  # left as it was


def test_enable_merges_into_a_file_with_other_extensions(tmp_path: Path) -> None:
    env = {**clean_env(), "JUPYTER_CONFIG_DIR": str(tmp_path), "HOME": str(tmp_path)}
    path = tmp_path / "jupyter_server_config.d" / "jupyter_lease.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"other": True}}}))
    code, _out, err = _run(sys.executable, env, "enable", "--user")
    assert code == 0, err
    extensions = json.loads(path.read_text())["ServerApp"]["jpserver_extensions"]
    assert extensions == {"other": True, "jupyter_lease": True}


def test_enable_sys_prefix_writes_where_that_python_looks(
    tmp_path: Path, server_python: str
) -> None:
    env = {**clean_env(), "JUPYTER_CONFIG_DIR": str(tmp_path / "empty"), "HOME": str(tmp_path)}
    prefix = Path(server_python).parent.parent
    code, out, err = _run(server_python, env, "enable", "--sys-prefix")
    path = prefix / "etc" / "jupyter" / "jupyter_server_config.d" / "jupyter_lease.json"
    try:
        assert code == 0 and out.startswith(f"Wrote {path}"), err
        listed = subprocess.run(
            [server_python, "-m", "jupyter_server", "extension", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # its colours
        # Listed under that prefix's config dir (and under no other), and it imports.
        assert f"Config dir: {prefix / 'etc' / 'jupyter'}\n    jupyter_lease enabled" in text, text
        assert re.search(r"jupyter_lease \S+ OK", text), text
    finally:
        with contextlib.suppress(FileNotFoundError):  # the other tests run that env without it
            path.unlink()

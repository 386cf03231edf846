"""Both ways jupyter_lease gets installed, each into a truly fresh venv: a wheel built with
``python -m build`` (sdist, then the wheel from it) and ``pip install -e`` of this checkout. Each
must enable the server extension and run ``jupyter lease demo --execute`` from elsewhere.

Slow (it builds and installs; pip's cache keeps it to a couple of minutes): run by ``make test``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, NamedTuple

import pytest

from tests.support.demo import (
    DEMO_TIMEOUT,
    assert_demo_ran_clean,
    assert_saved_clean,
    demo_env,
    side_by_side,
)

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "etc/jupyter/jupyter_server_config.d/jupyter_lease.json"
NOTEBOOKS = [
    "jupyter_lease/notebooks/demo.ipynb",
    "jupyter_lease/notebooks/checkpoint_before_stop.ipynb",
]
BUILD_TIMEOUT, PIP_TIMEOUT = 180, 420  # s
PROBE = """import json, pathlib, jupyter_lease
from jupyter_lease.cli.demo import find_demo_notebook
from jupyter_lease.kernel.widget import CountdownWidget
esm = CountdownWidget._esm  # anywidget makes the path a FileContents (str: the text)
path = getattr(esm, "_path", None)
print(json.dumps({"module": jupyter_lease.__file__, "notebook": str(find_demo_notebook()),
                  "esm": str(path), "esm_kb": len(str(esm)) // 1024}))
"""


class Install(NamedTuple):
    venv: Path
    extensions: str  # `jupyter server extension list`, colours removed
    labextensions: str  # `jupyter labextension list`, colours removed
    probe: Dict[str, object]  # what PROBE printed
    demo: subprocess.CompletedProcess


def clean_env(tmpdir: Path) -> Dict[str, str]:
    """``demo_env``, without anything that would let a venv import this checkout or read the
    developer's Jupyter config."""
    env = demo_env(tmpdir)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmpdir / "user-config"), JUPYTER_DATA_DIR=str(tmpdir / "user-data")
    )
    return env


def run(args: List[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, f"{args}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], BUILD_TIMEOUT)
    (found,) = dist.glob("jupyter_lease-*.whl")
    return found


@pytest.fixture(scope="module")
def installs(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Install]:
    """Two fresh venvs, installed side by side; then in each, from an empty folder: the
    extension list, a probe of where the package and its data are, and the demo."""
    root = tmp_path_factory.mktemp("installs")
    env = clean_env(root)
    requirements = {"wheel": [f"{wheel}[demo]"], "editable": ["-e", f"{ROOT}[demo]"]}
    venvs = {kind: root / kind for kind in requirements}
    for venv in venvs.values():  # a current pip, as make has: older resolvers can backtrack
        run([sys.executable, "-m", "venv", "--upgrade-deps", str(venv)], 180, env=env)
    pip = ["-m", "pip", "install", "-q", "--no-compile"]  # byte-compiling JupyterLab: ~20 s
    commands = {
        kind: ([str(venvs[kind] / "bin" / "python"), *pip, *requirement], root)
        for kind, requirement in requirements.items()
    }
    for kind, done in side_by_side(commands, PIP_TIMEOUT, env).items():
        assert done.returncode == 0, f"pip install ({kind}):\n{done.stdout}\n{done.stderr}"
    found = {}
    for kind, venv in venvs.items():
        bin_ = venv / "bin"
        listed = run([str(bin_ / "jupyter"), "server", "extension", "list"], 60, env=env, cwd=root)
        listing = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # colours
        lab = run([str(bin_ / "jupyter"), "labextension", "list"], 60, env=env, cwd=root)
        lab_listing = re.sub(r"\x1b\[[0-9;]*m", "", lab.stdout + lab.stderr)
        found[kind] = (listing, lab_listing, probe(bin_ / "python", env, root))
    elsewhere = root / "elsewhere"  # the demos write nothing here (see test_demo)
    elsewhere.mkdir()
    demo = ["lease", "demo", "--execute"]
    commands = {  # --output: the executed notebook is kept (a run's own folder is removed)
        kind: ([str(venv / "bin" / "jupyter"), *demo, "--output", str(root / f"{kind}.ipynb")],
               elsewhere)
        for kind, venv in venvs.items()
    }  # fmt: skip
    demos = side_by_side(commands, DEMO_TIMEOUT, env)
    return {kind: Install(venvs[kind], *found[kind], demos[kind]) for kind in venvs}


def probe(python: Path, env: Dict[str, str], cwd: Path) -> Dict[str, object]:
    """What PROBE prints, or ``{"error": ...}``: each test then says what it found wrong."""
    proc = subprocess.run(
        [str(python), "-c", PROBE], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def enabled_in(listing: str, config_dir: Path) -> List[str]:
    """The extensions `jupyter server extension list` shows enabled, and valid, in config_dir."""
    for section in re.split(r"^Config dir: ", listing, flags=re.MULTILINE):
        head, _, body = section.partition("\n")
        if head.strip() == str(config_dir):
            enabled = re.findall(r"^\s+(\S+) enabled$", body, re.MULTILINE)
            valid = re.findall(r"^\s+(\S+) .*OK$", body, re.MULTILINE)
            return [name for name in enabled if name in valid]
    return []


def test_the_wheel_holds_the_config_file_and_the_notebooks(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    data = [n for n in names if n.endswith(f".data/data/{CONFIG}")]
    assert len(data) == 1, names
    assert json.loads(zipfile.ZipFile(wheel).read(data[0])) == json.loads(
        (ROOT / "jupyter-config/jupyter_server_config.d/jupyter_lease.json").read_text()
    )
    for name in [*NOTEBOOKS, "jupyter_lease/static/countdown.css", "jupyter_lease/py.typed"]:
        assert name in names


def test_the_wheel_holds_the_chinese_catalogue_and_its_entry_point(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    folder = "jupyter_lease/locale/zh_CN/LC_MESSAGES/jupyter_lease"
    assert {f"{folder}.po", f"{folder}.mo", f"{folder}.json"} <= set(names), names
    points = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(points[0]).decode()
    assert "[jupyterlab.locale]\njupyter_lease = jupyter_lease" in text, text


@pytest.mark.parametrize("kind", ["wheel", "editable"])
def test_install_enables_the_server_extension(installs, kind):
    install = installs[kind]
    assert "jupyter_lease" in enabled_in(install.extensions, install.venv / "etc" / "jupyter"), (
        install.extensions
    )


def test_the_wheel_holds_the_built_jupyterlab_extension(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    share = ".data/data/share/jupyter/labextensions/jupyter-lease/"
    built = [n.split(share, 1)[1] for n in names if share in n]
    assert {"package.json", "install.json", "static/style.js"} <= set(built), built
    assert any(re.match(r"static/remoteEntry\.[0-9a-f]+\.js$", n) for n in built), built
    assert not [n for n in names if n.endswith(".ts") or "node_modules" in n]
    # The cell widget's bundle, git-ignored like the extension: built, and in the package.
    assert "jupyter_lease/static/widget.js" in names


@pytest.mark.parametrize("kind", ["wheel", "editable"])
def test_install_enables_the_jupyterlab_extension(installs, kind):
    listing = installs[kind].labextensions
    assert re.search(r"jupyter-lease v\S+ enabled OK \(python, jupyter_lease\)", listing), listing


@pytest.mark.parametrize("kind", ["wheel", "editable"])
def test_install_runs_the_demo_from_another_directory(installs, kind):
    assert_demo_ran_clean(installs[kind].demo)
    assert_saved_clean(installs[kind].demo)


def test_the_wheel_install_uses_its_own_files(installs):
    found, venv = installs["wheel"].probe, installs["wheel"].venv
    assert "error" not in found, found
    assert venv in Path(found["module"]).parents, found  # not this checkout
    assert venv in Path(found["notebook"]).parents, found
    # The widget's bundle, built into the wheel (git-ignored: pyproject's artifacts).
    assert venv in Path(found["esm"]).parents and found["esm_kb"] > 10, found


def test_the_editable_install_serves_the_checkout(installs):
    found = installs["editable"].probe
    assert "error" not in found, found
    assert Path(found["module"]) == ROOT / "jupyter_lease" / "__init__.py", found
    assert Path(found["notebook"]) == ROOT / "jupyter_lease" / "notebooks" / "demo.ipynb"
    # static/widget.js of the checkout, as `npm run build` made it from src/widget/.
    assert Path(found["esm"]) == ROOT / "jupyter_lease" / "static" / "widget.js", found
    assert found["esm_kb"] > 10, found

"""``jupyter lease demo``: the simulator with a short lease, and the demo notebook against it.

Interactive: JupyterLab opens ``demo.ipynb`` (a copy, so the packaged notebook stays clean).
``--execute``: the same notebook runs headless in a real kernel; a summary of what happened is
printed, and the executed copy saved where ``--output`` says.

Every run lives in a temporary folder of its own, removed when it ends (Ctrl-C and SIGTERM
included): the notebook's copy and the Jupyter runtime, IPython and lease-cache dirs of the
demo's JupyterLab and kernel. So a demo on a real ModelArts instance leaves no lease cache or
keep-alive state of the simulated instance in the user's own dirs. SIGTERM stops JupyterLab
(which shuts its kernels down) or the headless kernel, as Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, TextIO

from .._errors import UsageError
from ..core.duration import format_duration

__all__ = ["find_demo_notebook", "run_demo"]

DEMO_NAME = "demo.ipynb"
# The interactive demo reaches every moment (a toast at 2 min, the checkpoint at 1 min) within
# its first two minutes; the notebook's first cells say so and use the same thresholds.
DEMO_LEASE = "2m30s"
DEMO_WARN_AT = "2m,1m,30s"
# Package data next to this module (not importlib.resources.files: Python 3.9+). Editable
# installs import the checkout, so this is the checkout's jupyter_lease/notebooks/ there.
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def find_demo_notebook() -> Path:
    """The ``demo.ipynb`` shipped in the package."""
    path = NOTEBOOKS / DEMO_NAME
    if not path.is_file():
        raise UsageError(f"{path} is missing: reinstall jupyter_lease")
    return path


# The demo's own dirs under its temporary folder: never the user's (item: a demo on a real
# instance must leave no lease cache or keep-alive state behind).
_PRIVATE_DIRS = {
    "JUPYTER_RUNTIME_DIR": "runtime",
    "JUPYTER_LEASE_CACHE_DIR": "lease-cache",
    "IPYTHONDIR": "ipython",
    "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
}
LAB_STOP_TIMEOUT = 20.0  # s for JupyterLab to shut its kernels down after SIGTERM


@contextlib.contextmanager
def _demo_folder() -> Iterator[Path]:
    """A private temporary folder for one run, with the dirs of :data:`_PRIVATE_DIRS`;
    removed when the run ends, however it ends."""
    root = Path(tempfile.mkdtemp(prefix="jupyter-lease-demo-"))
    try:
        for name in _PRIVATE_DIRS.values():
            (root / name).mkdir(mode=0o700)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _private_environ(root: Path) -> Iterator[None]:
    """:data:`_PRIVATE_DIRS` in this process' environment while the demo runs (the kernel
    spec lookup here would create ``~/.ipython`` otherwise), and so in its children's."""
    wanted = {variable: str(root / name) for variable, name in _PRIVATE_DIRS.items()}
    before = {variable: os.environ.get(variable) for variable in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for variable, value in before.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo as Ctrl-C does (its children stopped, its folder removed); a
    second SIGTERM while stopping is left to the default (end now)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(
    *,
    execute: bool,
    lease_seconds: float,
    output: Optional[str] = None,
    port: int = 0,
    open_browser: bool = True,
    out: TextIO = sys.stdout,
) -> int:
    from ..simulator.app import Simulator

    source = find_demo_notebook()
    if execute:
        _require_headless()  # before anything starts
    with _sigterm_as_interrupt(), _demo_folder() as root, _private_environ(root):
        notebook = Path(output).resolve() if output else root / DEMO_NAME
        notebook.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, notebook)
        with Simulator(lease=lease_seconds) as sim:
            env = {**os.environ, **sim.environ()}
            lease = format_duration(timedelta(seconds=lease_seconds))
            print(f"Simulator: {sim.url} (the instance stops after {lease})", file=out)
            if execute:
                return _execute(notebook, env, sim, out, keep=bool(output))
            return _lab(notebook, env, port, open_browser, out)


def _lab(notebook: Path, env: Dict[str, str], port: int, open_browser: bool, out: TextIO) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        raise UsageError(
            "the interactive demo needs JupyterLab: pip install 'jupyter_lease[demo]' "
            "(or run `jupyter lease demo --execute`)"
        )
    print(f"Opening {notebook} in JupyterLab; Ctrl-C stops the demo.", file=out, flush=True)
    # A session of its own: Ctrl-C reaches the demo only, which stops JupyterLab with SIGTERM
    # (JupyterLab then shuts its kernels down) instead of its interactive "Shutdown?" prompt.
    process = subprocess.Popen(_lab_args(notebook, port, open_browser), env=env,
                               start_new_session=True)  # fmt: skip
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(process)


def _lab_args(notebook: Path, port: int, open_browser: bool) -> List[str]:
    args = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={notebook.parent}",
        f"--LabApp.default_url=/lab/tree/{notebook.name}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",  # 0: a free port the system picks
        # Also when the install's jupyter_server_config.d file is not on Jupyter's config path.
        "--ServerApp.jpserver_extensions={'jupyter_lease': True}",
        # The status bar warns at the notebook's thresholds, sized for the short demo lease.
        f"--JupyterLease.warn_at={DEMO_WARN_AT}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers and CI machines often run as root
    if not open_browser:
        args.append("--no-browser")
    return args


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if JupyterLab has not ended within :data:`LAB_STOP_TIMEOUT`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(LAB_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _require_headless() -> None:
    try:  # the [demo] extra; ipykernel provides the python3 kernel
        import ipykernel  # noqa: F401
        import jupyter_client  # noqa: F401
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"the headless demo needs {exc.name}: pip install 'jupyter_lease[demo]'"
        ) from None


def _execute(notebook: Path, env: Dict[str, str], sim: Any, out: TextIO, keep: bool) -> int:
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    print(f"Executing {notebook.name} in a real kernel…", file=out, flush=True)
    failure = _run(nb, notebook.parent, env)
    if failure:
        print(failure, file=out)
    nbformat.write(nb, notebook)
    for line in summarize(nb):
        print(line, file=out)
    print(
        f"The simulator saw {sim.count(method='GET', path_suffix='/lease')} ShowLease and "
        f"{sim.count(method='PATCH', path_suffix='/lease')} RenewLease calls.",
        file=out,
    )
    if keep:
        print(f"Executed notebook saved to {notebook}", file=out)
    else:
        print("The executed notebook is not kept: --output PATH saves it.", file=out)
    return 1 if failure else 0


def _run(nb: Any, folder: Path, env: Dict[str, str]) -> Optional[str]:
    """Runs ``nb`` in a new kernel whose cwd is ``folder``: None, or one line saying what failed."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    # ipc, not TCP: no port open to other users, no port race, no "running over TCP without
    # encryption" warning. Absolute socket paths in a folder private to this run (0700): the
    # kernel runs in ``folder``, where a relative name would be, but not for this process.
    with tempfile.TemporaryDirectory(prefix="jupyter-lease-kernel-") as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k"))
        km.start_kernel(cwd=str(folder), env=env)
        kc = km.client()
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            # Started and ready before nbclient sees it: nbclient leaves an atexit hook that
            # raises when the kernel it starts dies before answering.
            client = NotebookClient(nb, km=km, timeout=180, store_widget_state=True)
            client.kc = kc
            client.execute()
            return None
        except CellExecutionError as exc:
            return f"a cell failed: {_first_line(exc)}"
        except (RuntimeError, TimeoutError) as exc:  # the kernel died, or never answered
            return f"the kernel failed: {_first_line(exc)}"
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=not km.is_alive())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def summarize(nb: Any, width: int = 100) -> List[str]:
    """One block per code cell: its first source line, then the first lines of its output."""
    lines: List[str] = []
    for index, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        code = [
            x
            for x in cell.source.splitlines()
            if x.strip() and not x.startswith(("#", "import", "from"))
        ]
        first = code[0] if code else ""
        lines.append(f"[{index}] {first[:width]}")
        for text in _output_texts(cell.get("outputs", [])):
            for line in text.strip().splitlines()[:6]:
                lines.append(f"     {line[:width]}")
    return lines


def _output_texts(outputs: List[Any]) -> List[str]:
    texts = []
    for output in outputs:
        if output.get("output_type") == "stream":
            texts.append(output.get("text", ""))
        elif output.get("output_type") in ("display_data", "execute_result"):
            texts.append(output.get("data", {}).get("text/plain", ""))
        elif output.get("output_type") == "error":
            texts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return texts

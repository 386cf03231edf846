"""``jupyter lease demo``: the simulator with a short lease, and the demo notebook against it.

Interactive: JupyterLab opens ``demo.ipynb`` (a copy, so the checked-in notebook stays clean).
``--execute``: the same notebook runs headless in a real kernel; the executed copy is saved and
a summary of what happened is printed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional, TextIO

from ._duration import format_duration
from ._errors import UsageError

__all__ = ["find_demo_notebook", "run_demo"]

DEMO_NAME = "demo.ipynb"


def find_demo_notebook() -> Path:
    """``notebooks/demo.ipynb`` from the current directory or the source checkout."""
    candidates = [
        Path.cwd() / "notebooks" / DEMO_NAME,
        Path(__file__).resolve().parent.parent / "notebooks" / DEMO_NAME,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise UsageError(
        "cannot find notebooks/demo.ipynb: run `jupyter lease demo` from a jupyter_lease checkout"
    )


def _workdir(output: Optional[str]) -> Path:
    if output:
        path = Path(output).resolve().parent
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix="jupyter-lease-demo-"))


def run_demo(
    *,
    execute: bool,
    lease_seconds: float,
    output: Optional[str] = None,
    port: int = 0,
    open_browser: bool = True,
    out: TextIO = sys.stdout,
) -> int:
    from ._simulator import Simulator

    source = find_demo_notebook()
    workdir = _workdir(output)
    notebook = workdir / (Path(output).name if output else DEMO_NAME)
    shutil.copyfile(source, notebook)
    with Simulator(lease=lease_seconds) as sim:
        env = {**os.environ, **sim.environ()}
        lease = format_duration(timedelta(seconds=lease_seconds))
        print(f"Simulator: {sim.url} (the instance stops after {lease})", file=out)
        if execute:
            return _execute(notebook, env, sim, out)
        return _lab(notebook, env, port, open_browser, out)


def _lab(notebook: Path, env: Dict[str, str], port: int, open_browser: bool, out: TextIO) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        raise UsageError(
            "the interactive demo needs JupyterLab: pip install 'jupyter_lease[demo]' "
            "(or run `jupyter lease demo --execute`)"
        )
    args = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={notebook.parent}",
        f"--LabApp.default_url=/lab/tree/{notebook.name}",
        "--ServerApp.ip=127.0.0.1",
        # An editable install has no jupyter_server_config.d file: enable the extension here.
        "--ServerApp.jpserver_extensions={'jupyter_lease': True}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers and CI machines often run as root
    if port:
        args.append(f"--ServerApp.port={port}")
    if not open_browser:
        args.append("--no-browser")
    print(f"Opening {notebook} in JupyterLab; Ctrl-C stops the demo.", file=out, flush=True)
    process = subprocess.Popen(args, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(10)
        return 0


def _execute(notebook: Path, env: Dict[str, str], sim: Any, out: TextIO) -> int:
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        km=KernelManager(kernel_name="python3", transport="ipc"),  # no TCP, no TCP warning
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
        store_widget_state=True,
    )
    print(f"Executing {notebook.name} in a real kernel…", file=out, flush=True)
    saved_env = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
        status = 0
    except CellExecutionError as exc:
        print(f"a cell failed: {str(exc).splitlines()[0] if str(exc) else exc}", file=out)
        status = 1
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    nbformat.write(nb, notebook)
    for line in summarize(nb):
        print(line, file=out)
    print(
        f"The simulator saw {sim.count(method='GET', path_suffix='/lease')} ShowLease and "
        f"{sim.count(method='PATCH', path_suffix='/lease')} RenewLease calls.",
        file=out,
    )
    print(f"Executed notebook saved to {notebook}", file=out)
    return status


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

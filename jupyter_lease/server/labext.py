"""Is the JupyterLab extension (the status item) installed where this server looks?

It is built by npm when the package is built (hatch-jupyter-builder); an editable install made
without node still installs, without it (``optional-editable-build``), and pip shows no build
output on success. So the server says it once, in its log, with what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

__all__ = ["NPM_NAME", "find_labextension", "missing_labextension_line"]

NPM_NAME = "jupyter-lease"  # package.json's name: share/jupyter/labextensions/<this>


def _default_paths() -> Iterable[str]:
    from jupyter_core.paths import jupyter_path

    return jupyter_path("labextensions")


def find_labextension(paths: Optional[Iterable[str]] = None) -> Optional[Path]:
    """The first installed copy's folder (one with a built ``package.json``), or None."""
    for folder in _default_paths() if paths is None else paths:
        candidate = Path(folder) / NPM_NAME
        if (candidate / "package.json").is_file():
            return candidate
    return None


def missing_labextension_line(paths: Optional[Iterable[str]] = None) -> Optional[str]:
    """One line for the server log when the status item is not installed, else None."""
    if find_labextension(paths) is not None:
        return None
    return (
        "jupyter_lease: the JupyterLab extension (the lease's status item) is not installed: "
        "it is built with node when jupyter_lease is installed; in a checkout run "
        "`npm ci && npm run build` and `pip install -e .` again"
    )

"""Am I in a notebook or a terminal? Decided here, and only here (rich's pattern)."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["Frontend", "frontend_of"]


class Frontend(enum.Enum):
    NOTEBOOK = "notebook"  # a Jupyter kernel: widgets and rich output reach a front end
    TERMINAL = "terminal"  # terminal IPython: text only, print at the start of a cell
    NONE = "none"  # plain Python: nothing to display to


def frontend_of(shell: Any) -> Frontend:
    """Classify an IPython shell by what it can show.

    A kernel's shell has a ``kernel`` attribute (ipykernel's ZMQInteractiveShell); terminal
    IPython has none. Checking the attribute rather than the class name keeps subclasses
    (e.g. xeus, custom kernels built on ipykernel) in the right bucket.
    """
    if shell is None:
        return Frontend.NONE
    if getattr(shell, "kernel", None) is not None:
        return Frontend.NOTEBOOK
    return Frontend.TERMINAL

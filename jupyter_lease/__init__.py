"""jupyter_lease: never lose a notebook's work to a ModelArts auto-stop."""

from __future__ import annotations

import importlib
from typing import Any, Dict, List

from .kernel.extension import load_ipython_extension as load_ipython_extension
from .kernel.extension import unload_ipython_extension as unload_ipython_extension

__version__ = "0.1.0"

_ERRORS = (
    "APIError",
    "AuthenticationError",
    "BadResponseError",
    "ConfigurationError",
    "CredentialsError",
    "DurationError",
    "ExtendNotAllowedError",
    "ExtendRefusedError",
    "InvalidRenewalError",
    "LeaseError",
    "LeaseFormatError",
    "NetworkError",
    "NotFoundError",
    "NotRunningError",
    "PermissionDeniedError",
    "RequestTimeout",
    "ServerError",
    "ThrottledError",
    "UsageError",
)
# Every public name but the extension hooks loads on first use: `%load_ext jupyter_lease`
# imports this package, and its budget (≤ 5 ms, benchmarks/) has no room for the watcher,
# the errors' module or the HTTP stack.
_LAZY: Dict[str, str] = {
    **{name: "_errors" for name in _ERRORS},
    **{name: "_api" for name in ("deadline", "keep_alive", "on_warning", "remaining")},
    "LeaseClient": "modelarts.client",
    "Simulator": "simulator.app",
    "Lease": "modelarts.lease",
    "StopKind": "modelarts.lease",
    "parse_duration": "core.duration",
    "format_remaining": "core.duration",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_lease' has no attribute {name!r}")
    found = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = found  # the next lookup is a plain attribute
    return found


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))


# What the package exports: every lazy name, the version and the extension hooks.
__all__ = sorted([*_LAZY, "__version__", "load_ipython_extension", "unload_ipython_extension"])


def _jupyter_server_extension_points() -> list:
    """jupyter_server's entry point: the extension lives in ``jupyter_lease.server.loader``
    (an extension app with a stop hook where jupyter_server has one, else the plain hook)."""
    from .server.loader import extension_points

    return extension_points()

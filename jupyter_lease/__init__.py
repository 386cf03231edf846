"""jupyter_lease: never lose a notebook's work to a ModelArts auto-stop."""

from __future__ import annotations

from ._api import deadline, keep_alive, on_warning, remaining
from ._errors import (
    APIError,
    AuthenticationError,
    BadResponseError,
    ConfigurationError,
    CredentialsError,
    DurationError,
    ExtendRefusedError,
    InvalidRenewalError,
    LeaseError,
    LeaseFormatError,
    NetworkError,
    NotFoundError,
    NotRunningError,
    PermissionDeniedError,
    RequestTimeout,
    ServerError,
    ThrottledError,
    UsageError,
)
from ._extension import load_ipython_extension, unload_ipython_extension

__version__ = "0.1.0"


def __getattr__(name: str):
    # The heavier pieces load on first use, so `import jupyter_lease` stays cheap.
    if name == "LeaseClient":
        from ._client import LeaseClient

        return LeaseClient
    if name == "Simulator":
        from ._simulator import Simulator

        return Simulator
    if name in ("Lease", "StopKind"):
        from . import _lease

        return getattr(_lease, name)
    if name in ("parse_duration", "format_remaining"):
        from . import _duration

        return getattr(_duration, name)
    raise AttributeError(f"module 'jupyter_lease' has no attribute {name!r}")


__all__ = [
    "APIError",
    "AuthenticationError",
    "BadResponseError",
    "ConfigurationError",
    "CredentialsError",
    "DurationError",
    "ExtendRefusedError",
    "InvalidRenewalError",
    "Lease",
    "LeaseClient",
    "LeaseError",
    "LeaseFormatError",
    "NetworkError",
    "NotFoundError",
    "NotRunningError",
    "PermissionDeniedError",
    "RequestTimeout",
    "Simulator",
    "StopKind",
    "ServerError",
    "ThrottledError",
    "UsageError",
    "__version__",
    "deadline",
    "format_remaining",
    "keep_alive",
    "load_ipython_extension",
    "on_warning",
    "parse_duration",
    "remaining",
    "unload_ipython_extension",
]


def _jupyter_server_extension_points() -> list:
    """jupyter_server's entry point: the extension lives in ``jupyter_lease._server``."""
    return [{"module": "jupyter_lease._server"}]

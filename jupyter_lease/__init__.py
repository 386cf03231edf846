"""jupyter_lease: never lose a notebook's work to a ModelArts auto-stop."""

from __future__ import annotations

from ._errors import (
    APIError,
    AuthenticationError,
    BadResponseError,
    ConfigurationError,
    CredentialsError,
    DurationError,
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

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadResponseError",
    "ConfigurationError",
    "CredentialsError",
    "DurationError",
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
    "__version__",
]

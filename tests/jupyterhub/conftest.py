"""The real-hub tests (each module is marked ``hub``): skipped with the reason when jupyterhub,
the idle culler or the Python configurable-http-proxy is not installed; in CI such a skip is a
failure (tests/conftest.py)."""

from __future__ import annotations

import pytest

from .hub import missing_hub


def require_hub() -> None:
    missing = missing_hub()
    if missing:
        pytest.skip(f"the real-hub tests need {missing}")

"""Debian's Chromium through Playwright, for the browser tests, the Slurm browser test, the
benchmark smoke test and the status-bar benchmark; and the skips when something is missing
(in CI, tests/conftest.py makes a skipped browser test a failure)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from typing import Any, Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1180, "height": 760}


def missing_browser() -> str:
    """What is missing to drive Chromium ("" when nothing is)."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python (pip install playwright; no `playwright install`)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} (apt-get install chromium)"
    return ""


def require(missing: str) -> None:
    """Skip for a clear reason (in CI, tests/conftest.py makes that skip a failure)."""
    if missing:
        pytest.skip(f"browser tests need {missing}")


def require_module(name: str) -> None:
    if importlib.util.find_spec(name) is None:
        require(f"{name} (pip install {name})")


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright, headless, stopped on the way out."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()

"""Checks more than one test module makes."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from jupyter_lease.simulator.app import Simulator

# Parts of a signed request: never in what a user or a log sees.
SIGNING = ("SDK-HMAC", "Signature=")


def assert_no_secret(
    *texts: str, sim: Optional[Simulator] = None, secrets: Iterable[str] = ()
) -> None:
    """None of ``texts`` holds any of ``secrets``, nor (given ``sim``) its AK, its SK or a
    request signature. The failure names the secret by its first characters only."""
    needles = [s for s in secrets if s]
    if sim is not None:
        needles += [sim.ak, sim.sk, *SIGNING]
    for number, text in enumerate(texts):
        for secret in needles:
            assert secret not in text, f"text {number} holds a secret starting {secret[:4]}…"


def assert_one_line_error(response: Any, status: int) -> Dict[str, Any]:
    """An API error: ``status``, JSON, one line in ``error``, no traceback; the body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "\n" not in body["error"] and "Traceback" not in response.text
    return body


def our_tracebacks(log: str) -> List[str]:
    """The tracebacks in a server log that pass through jupyter_lease. Others are not ours to
    judge: on Python 3.9, jupyter_server logs one now and then when a server stops right after
    it started (an executor future of another extension finishing after the loop closed)."""
    blocks = log.split("Traceback (most recent call last):")[1:]
    return [block for block in blocks if "jupyter_lease" in block]

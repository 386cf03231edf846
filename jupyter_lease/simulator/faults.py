"""The faults the simulator can inject, and the limits on what a test may ask for.

A fault is armed for the next ``count`` matching requests.  By default only the lease and
notebook API calls match (``/v1/.../notebooks/...``); a ``path`` substring widens or narrows
that (to reach the metadata or IAM endpoints, say), and a ``method`` param narrows it to
one HTTP method.  The control API (``/_sim/``) is never faulted: tests must always be able
to reach it.

Three kinds of fault:

* short-circuit: answer at once with an error, the request is not processed;
* body faults: the request is processed normally (a renewal does happen), then the 2xx
  JSON answer is damaged — exactly the case a client must survive by reading again;
* connection faults: ``drop`` (not processed, no answer) and ``reset_mid_body``
  (processed, answer cut off after half the body).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .._errors import UsageError

__all__ = [
    "BODY_FAULTS",
    "FAULTS",
    "MAX_SECONDS",
    "SHORT_CIRCUIT",
    "Fault",
    "FaultQueue",
    "bounded",
    "damage_body",
    "fault_error",
]
#: Ten years: the most any time a test gives the simulator (a clock shift, a lease) may span.
#: Far beyond any lease, and far from where the simulator's clock stops being a date.
MAX_SECONDS = 10 * 366 * 86400.0
_MAX_LATENCY = 3600.0
_MAX_COUNT = 1_000_000

FAULTS: Dict[str, str] = {
    "latency": "sleep `seconds` (default 1.0, real time) then answer normally",
    "500": "500 ModelArts.6102 without processing the request",
    "502": "502 APIG.0202 (bad gateway) without processing the request",
    "503": "503 APIG.0201 (service unavailable) without processing the request",
    "429": "429 APIGW.0308 with `Retry-After: retry_after` seconds (default 1; None: no header)",
    "malformed_json": "process normally, then answer 200 with the JSON body cut in half",
    "missing_field": "process normally, then drop `field` (default duration) from the answer",
    "ill_typed_field": "process normally, then set `field` (default duration) to `value` ('abc')",
    "negative_duration": "process normally, then answer with a negative lease duration",
    "drop": "close the connection without processing the request or answering",
    "reset_mid_body": "process normally, send the headers and half the body, then close",
    "401": "401 APIG.0301 as for a bad signature (does not count towards the AK lockout)",
    "403": "403 ModelArts.0108 (no permission)",
    "not_found": "ModelArts.6309 with the simulator's not_found_status (400 unless configured)",
    "not_running": "400 ModelArts.6327 notebook is not running",
}

# Short-circuit errors: fault name -> (HTTP status, error_code, error_msg).
_ERRORS: Dict[str, Tuple[int, str, str]] = {
    "500": (500, "ModelArts.6102", "Internal server error."),
    "502": (502, "APIG.0202", "Backend unavailable."),
    "503": (503, "APIG.0201", "Service unavailable, please try again later."),
    "429": (429, "APIGW.0308", "The throttling threshold has been reached."),
    "401": (401, "APIG.0301", "Incorrect IAM authentication information: signature mismatch."),
    "403": (403, "ModelArts.0108", "No permission to perform this operation."),
    "not_found": (400, "ModelArts.6309", "The notebook instance does not exist."),
    "not_running": (400, "ModelArts.6327", "The notebook is not running."),
}
SHORT_CIRCUIT = frozenset(_ERRORS) | {"drop"}
BODY_FAULTS = frozenset({"malformed_json", "missing_field", "ill_typed_field", "negative_duration"})

_ERROR_PARAMS = {"code", "message", "status"}
_PARAMS: Dict[str, set] = {
    "latency": {"seconds"},
    "429": _ERROR_PARAMS | {"retry_after"},
    "missing_field": {"field"},
    "ill_typed_field": {"field", "value"},
    "negative_duration": {"value"},
    **{name: _ERROR_PARAMS for name in _ERRORS if name != "429"},
}


@dataclass
class Fault:
    """One armed fault: its name, how many more requests it hits, what it matches."""

    name: str
    remaining: int
    path: Optional[str] = None
    method: Optional[str] = None
    params: Dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is hit: never /_sim/, by default only the notebook API."""
        if path.startswith("/_sim"):
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path is not None:
            return self.path in path
        return path.startswith("/v1/") and "/notebooks" in path

    def describe(self) -> Dict[str, Any]:
        """JSON-able description for ``state()`` and the control API."""
        return {
            "fault": self.name,
            "remaining": self.remaining,
            "path": self.path,
            "method": self.method,
            "params": dict(self.params),
        }


class FaultQueue:
    """Armed faults in the order they were injected; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: List[Fault] = []

    def add(self, name: str, count: int = 1, path: Optional[str] = None, **params: Any) -> Fault:
        """Arm ``name`` for ``count`` requests; ``UsageError`` for unknown names or params."""
        fault = _validated(name, count, path, params)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Optional[Fault]:
        """The first armed fault matching this request (consuming one of its uses), if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return Fault(
                        fault.name, fault.remaining, fault.path, fault.method, dict(fault.params)
                    )
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]


def _validated(name: str, count: int, path: Optional[str], params: Dict[str, Any]) -> Fault:
    if name not in FAULTS:
        raise UsageError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= _MAX_COUNT:
        raise UsageError(f"fault count must be an integer from 1 to {_MAX_COUNT}, not {count!r}")
    if path is not None and not isinstance(path, str):
        raise UsageError("fault path must be a string (a substring of the request path)")
    params = dict(params)
    method = params.pop("method", None)
    unknown = set(params) - _PARAMS.get(name, set())
    if unknown:
        raise UsageError(f"fault {name!r} takes no parameter(s) {', '.join(sorted(unknown))}")
    if "seconds" in params:
        bounded("latency seconds", params["seconds"], 0, _MAX_LATENCY)
    if "status" in params:
        bounded("fault status", params["status"], 100, 599, integer=True)
    _check_texts(params)
    if isinstance(params.get("retry_after"), (int, float)):  # a string is an HTTP-date
        bounded("retry_after", params["retry_after"], -MAX_SECONDS, MAX_SECONDS)
    value = params.get("value")
    if isinstance(value, float) and not math.isfinite(value):
        # Out-of-range numbers are what ill_typed_field is for; NaN and infinity are not JSON.
        raise UsageError(f"fault value must be a finite number, not {value!r}")
    return Fault(name, count, path, method, params)


def _check_texts(params: Dict[str, Any]) -> None:
    """Text parameters are one-line strings: a dict as ``field`` broke the next request (a
    traceback), a CR/LF in ``retry_after`` wrote a header of the caller's choosing."""
    for name in ("field", "code", "message", "retry_after"):
        value = params.get(name)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is None or (name == "retry_after" and number):
            continue  # retry_after: None (no header) or a number, checked by the caller
        if not isinstance(value, str) or not value.isprintable():
            raise UsageError(f"fault parameter {name} must be a one-line string")


def bounded(name: str, value: Any, low: float, high: float, *, integer: bool = False) -> float:
    """``value`` as a number in ``[low, high]``; ``UsageError`` for anything else.

    The control API reads JSON, whose numbers may be ``1e308``, ``NaN``, ``Infinity`` or a
    400-digit integer: any of those would reach the simulator's clock and break every later
    answer. Booleans are not numbers here.
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    try:
        number = float(value) if ok else math.nan
    except OverflowError:  # an int too large for a float
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        kind = "an integer" if integer else "a finite number"
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise UsageError(f"{name} must be {kind} from {low:g} to {high:g}, not {shown}")
    return number


def fault_error(fault: Fault, not_found_status: int) -> Tuple[int, Dict[str, str], Dict[str, str]]:
    """(status, extra headers, error body) for a short-circuit error fault."""
    status, code, message = _ERRORS[fault.name]
    if fault.name == "not_found":
        status = not_found_status
    status = int(fault.params.get("status", status))
    body = {
        "error_code": str(fault.params.get("code", code)),
        "error_msg": str(fault.params.get("message", message)),
    }
    headers: Dict[str, str] = {}
    if fault.name == "429":
        retry_after = fault.params.get("retry_after", 1)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
    return status, headers, body


def damage_body(fault: Fault, body: bytes) -> bytes:
    """The body of a processed 2xx answer, damaged as ``fault`` says."""
    if fault.name == "malformed_json":
        return body[: max(1, len(body) // 2)]
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, dict):
        return body
    name = fault.params.get("field", "duration")
    if fault.name == "negative_duration":
        name = "duration"
    target = _holder(doc, name)
    if fault.name == "missing_field":
        target.pop(name, None)
    elif fault.name == "ill_typed_field":
        target[name] = fault.params.get("value", "abc")
    elif fault.name == "negative_duration":
        target[name] = fault.params.get("value", -abs(int(target.get(name) or 3_600_000)))
    return json.dumps(doc).encode("utf-8")


def _holder(doc: Dict[str, Any], name: str) -> Dict[str, Any]:
    """The dict that has (or should have) field ``name``: top level, else a nested object.

    So ``duration`` reaches the nested ``lease`` of ShowNotebook, ``status`` its top level,
    and ``securitytoken`` the ``credential`` of the metadata service.
    """
    if name in doc:
        return doc
    nested = [v for v in doc.values() if isinstance(v, dict)]
    for value in nested:
        if name in value:
            return value
    return doc.get("lease") if isinstance(doc.get("lease"), dict) else doc

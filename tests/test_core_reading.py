"""``core.reading``: the one value every view gets, its one JSON shape, and which read wins."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

import jupyter_lease.core as core
from jupyter_lease._errors import AuthenticationError, BadResponseError
from jupyter_lease.core import LeaseSource, Reading, newer
from jupyter_lease.core.reading import failure
from jupyter_lease.core.reading_status import ReadingStatus

NOW = 1_780_000_000.0
AK = "ABCDEFGHIJ1234567890"  # shaped like an access key

FULL = Reading(
    "timed",
    deadline=NOW + 3600,
    clock_offset=12.5,
    read_at=NOW,
    started_at=NOW - 3600,
    stale=True,
    error="ShowLease: timed out",
    source="ModelArts notebook 881ed162…",
    source_id="881ed162-ae2e-4154-bf15-052434b9b5df",
    can_extend=True,
    extend_range=(3600.0, 259200.0),
    extend_choices=("1h", "2h"),
)


@pytest.mark.parametrize(
    "reading",
    [
        FULL,
        Reading(),
        Reading("idle", idle_after=3600.0, read_at=NOW),
        Reading("off", read_at=NOW, clock_offset=-0.25),
        Reading("stopped", error="the instance is not running", read_at=NOW),
    ],
)
def test_json_round_trip(reading: Reading) -> None:
    data = json.loads(json.dumps(reading.to_json(), allow_nan=False))
    assert Reading.from_json(data) == reading


def test_the_json_shape_is_versioned_and_in_whole_ms() -> None:
    assert FULL.to_json() == {
        "v": 1,
        "kind": "timed",
        "deadline_ms": 1_780_003_600_000,
        "clock_offset_ms": 12_500,
        "read_at_ms": 1_780_000_000_000,
        "started_at_ms": 1_779_996_400_000,
        "idle_after_ms": None,
        "stale": True,
        "error": "ShowLease: timed out",
        "source": "ModelArts notebook 881ed162…",
        "source_id": "881ed162-ae2e-4154-bf15-052434b9b5df",
        "can_extend": True,
        "extend_range_ms": [3_600_000, 259_200_000],
        "extend_choices": ["1h", "2h"],
        "off_label": "",
        "subject": "",
        "lower_bound": False,
        "stop_reason": "",
    }


def test_numbers_json_cannot_hold_become_null() -> None:
    odd = Reading("timed", deadline=math.nan, clock_offset=math.inf, read_at=1e300)
    data = odd.to_json()
    json.dumps(data, allow_nan=False)  # a browser's JSON.parse takes it
    assert (data["deadline_ms"], data["clock_offset_ms"], data["read_at_ms"]) == (None, 0, None)


@pytest.mark.parametrize(
    "data, says",
    [
        ([], "is a list, not a JSON object"),
        ({"kind": "timed"}, "has version None"),
        ({"v": 2, "kind": "timed"}, "has version 2"),
        ({"v": 1, "kind": "disabled"}, "has kind 'disabled'"),
        ({"v": 1, "kind": "timed", "deadline_ms": "soon"}, "'deadline_ms' should be a number"),
        ({"v": 1, "kind": "timed", "deadline_ms": True}, "'deadline_ms' should be a number"),
        ({"v": 1, "kind": "timed", "deadline_ms": 1e300}, "'deadline_ms' is out of range"),
        ({"v": 1, "kind": "timed", "stale": "yes"}, "'stale' should be bool"),
        ({"v": 1, "kind": "timed", "error": 5}, "'error' should be str"),
        ({"v": 1, "kind": "timed", "extend_range_ms": [5]}, "should be [min, max]"),
        ({"v": 1, "kind": "timed", "extend_range_ms": [9, 5]}, "should be [min, max]"),
        ({"v": 1, "kind": "timed", "extend_choices": "2h"}, "should be a list of durations"),
    ],
)
def test_bad_json_is_one_line(data: Any, says: str) -> None:
    with pytest.raises(BadResponseError) as caught:
        Reading.from_json(data)
    message = str(caught.value)
    assert message.startswith("the lease reading ") and says in message
    assert "\n" not in message


def test_the_error_is_one_scrubbed_line_whoever_builds_it() -> None:
    reading = Reading(error=f"signature with {AK} refused\n  by the gateway")
    assert reading.error is not None and AK not in reading.error
    assert reading.error.endswith("refused by the gateway")
    long = Reading(error="x " * 400).error
    assert long is not None and len(long) == 300 and long.endswith("…")
    assert Reading(error="  \n ").error is None
    hostile = {"v": 1, "kind": "unknown", "error": f"token {AK}"}
    assert AK not in (Reading.from_json(hostile).error or "")


def test_a_failed_read_keeps_the_last_known_reading() -> None:
    fresh = Reading("timed", deadline=NOW + 60, read_at=NOW)
    failed = fresh.with_error(f"ShowLease: HTTP 503 ({AK})")
    assert failed.stale and failed.deadline == fresh.deadline and failed.read_at == NOW
    assert failed.error is not None and AK not in failed.error


def test_a_reading_has_one_of_five_kinds() -> None:
    assert core.KINDS == ("timed", "idle", "off", "stopped", "unknown")
    with pytest.raises(ValueError, match="not 'disabled'"):
        Reading("disabled")


def test_the_newest_read_wins() -> None:
    old = Reading("timed", deadline=NOW + 60, read_at=NOW - 10)
    new = Reading("timed", deadline=NOW + 7200, read_at=NOW)
    assert newer(old, new) is new and newer(new, old) is new
    assert newer(Reading(), old) is old and newer(old, Reading()) is old
    # At the same read time: a fresh reading beats a stale one, in either order.
    stale = new.with_error("ShowLease: timed out")
    assert newer(stale, new) is new and newer(new, stale) is new
    # The same read arriving again: the one that arrived last.
    again = Reading("timed", deadline=NOW + 7200, read_at=NOW)
    assert newer(new, again) is again
    # Reads on this host's clock: a kernel's read 0.3 s before an Extend, with its offset to
    # ModelArts over-measured by 0.8 s, is still the older one (on ModelArts' clock it is not).
    kernel = Reading("timed", deadline=NOW + 540, read_at=NOW - 0.3 + 0.8, clock_offset=0.8)
    extended = Reading("timed", deadline=NOW + 7200, read_at=NOW, clock_offset=0.0)
    assert newer(kernel, extended) is extended and newer(extended, kernel) is extended


class _Partial:
    """Read, extend and describe only: what callers used to probe the rest of with hasattr."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading

    def read(self) -> Reading:
        return self.reading

    def extend(self, seconds: float, force: bool = False) -> Reading:
        return self.reading

    def describe(self) -> str:
        return "a partial source"


class _Fixed(_Partial):
    """The smallest lease source: a reading that never changes."""

    def describe(self) -> str:
        return "a fixed reading"

    def identity(self) -> str:
        return "fixed:1"

    def status(self, reading: Reading, now: float, *, health=None, why: str = "") -> Any:
        return ReadingStatus(reading, now, "fixed", why)

    def close(self) -> None:
        pass


def test_a_lease_source_is_anything_with_the_whole_contract() -> None:
    assert isinstance(_Fixed(FULL), LeaseSource)
    assert not isinstance(_Partial(FULL), LeaseSource)  # read, extend, describe are not enough
    assert not isinstance(object(), LeaseSource)


def test_the_core_exports_a_small_tested_surface_and_imports_nothing_heavy() -> None:
    assert sorted(core.__all__) == sorted(
        [
            "DEFAULT_EXTEND_CHOICES",
            "DEFAULT_WARN_AT",
            "DEFAULT_WARN_AT_S",
            "KINDS",
            "STAGES",
            "LeaseSource",
            "Presentation",
            "Reading",
            "format_remaining",
            "newer",
            "present",
            "stage_for",
            "thresholds_from",
        ]
    )
    assert all(hasattr(core, name) for name in core.__all__)
    code = (
        "import sys, jupyter_lease.core; "
        "print(sorted(m for m in ('requests', 'ipywidgets', 'anywidget', 'IPython', "
        "'urllib3', 'jupyter_lease.modelarts.client', 'jupyter_lease.kernel.widget') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_a_stale_reading_keeps_the_error_it_failed_with_and_raises_it_again() -> None:
    denied = AuthenticationError("ShowLease: signature refused", status=401, code="APIGW.0301")
    stale = FULL.with_error(denied)
    assert stale.stale and stale.error == str(denied) and stale == FULL.with_error(str(denied))
    again = failure(stale)
    assert type(again) is AuthenticationError and str(again) == str(denied)
    assert again.status == 401 and again.code == "APIGW.0301"
    assert "failure" not in stale.to_json()  # the detail is no part of the browser's JSON
    plain = failure(FULL.with_error("squeue timed out"))
    assert type(plain).__name__ == "APIError" and str(plain) == "squeue timed out"

"""The training-loop API in a real kernel: remaining(), deadline(), on_warning(), keep_alive()."""

from __future__ import annotations

import os

import pytest

from tests.support.kernel_helpers import KernelSession

pytestmark = pytest.mark.kernel


@pytest.fixture
def kernel(simulator):
    with KernelSession(env={**os.environ, **simulator.environ()}) as session:
        yield session


def value(kernel, expression: str) -> str:
    return kernel.execute(f"print({expression})").stdout.strip()


def test_remaining_and_deadline_match_the_server(kernel, simulator):
    simulator.set_lease(remaining=5400)
    simulator.advance(600)  # the server's clock runs 10 min ahead of the kernel's
    simulator.set_lease(remaining=5400)
    kernel.execute("import jupyter_lease, datetime")
    left = float(value(kernel, "jupyter_lease.remaining().total_seconds()"))
    assert abs(left - 5400) < 2
    # deadline() is on the kernel's clock: now + remaining, although the server is 10 min ahead.
    gap = float(
        value(
            kernel,
            (
                "(jupyter_lease.deadline() - datetime.datetime.now(datetime.timezone.utc))"
                ".total_seconds()"
            ),
        )
    )
    assert abs(gap - 5400) < 2


def test_remaining_is_a_clock_read_not_a_request(kernel, simulator):
    kernel.execute("import jupyter_lease; jupyter_lease.remaining()")
    calls = simulator.count(path_suffix="/lease")
    kernel.execute("for _ in range(1000): jupyter_lease.remaining()")
    assert simulator.count(path_suffix="/lease") == calls


def test_no_deadline_is_none(kernel, simulator):
    simulator.set_lease(lease_type="IDLE")
    assert value(kernel, "__import__('jupyter_lease').remaining()") == "None"
    assert value(kernel, "__import__('jupyter_lease').deadline()") == "None"


def test_unconfigured_raises_one_clear_error(simulator):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_LEASE", "HUAWEI"))}
    with KernelSession(env=env) as kernel:
        result = kernel.execute("import jupyter_lease; jupyter_lease.remaining()", check=False)
    assert result.reply["content"]["ename"] == "ConfigurationError"
    assert "JUPYTER_LEASE_NOTEBOOK_ID" in result.reply["content"]["evalue"]


def test_on_warning_fires_in_time_during_a_busy_cell(kernel, simulator):
    simulator.set_lease(remaining=63)
    out = kernel.execute(
        """
import threading, time, jupyter_lease
fired = threading.Event(); seen = []
def warn(left):
    seen.append(left.total_seconds()); fired.set()
jupyter_lease.on_warning(warn, before="1m")
start = time.monotonic()
while not fired.is_set() and time.monotonic() - start < 10:
    sum(range(10000))  # the main thread is busy with pure Python
print(fired.is_set(), round(time.monotonic() - start), len(seen), seen and seen[0] <= 60)
""",
        timeout=30,
    ).stdout.split()
    assert out[0] == "True" and int(out[1]) <= 5 and out[2] == "1" and out[3] == "True"


def test_keep_alive_renews_inside_the_margin(kernel, simulator):
    simulator.set_lease(remaining=600)
    out = (
        kernel.execute(
            """
import time, jupyter_lease
with jupyter_lease.keep_alive(max_total="3h", margin="15m", check_every=0.1) as k:
    time.sleep(1.5)
print(len(k.renewals), k.errors, round(jupyter_lease.remaining().total_seconds() / 60))
""",
            timeout=30,
        )
        .stdout.strip()
        .split(maxsplit=2)
    )
    assert out[0] == "1" and out[1] == "[]" and out[2] == "60"
    assert simulator.count(method="PATCH") == 1


def test_keep_alive_never_passes_the_cap(kernel, simulator):
    simulator.set_lease(remaining=600)
    out = kernel.execute(
        """
import time, jupyter_lease
with jupyter_lease.keep_alive(max_total="30m", margin="15m", check_every=0.1) as k:
    time.sleep(1)
print(len(k.renewals))
""",
        timeout=30,
    ).stdout.strip()
    assert out == "0"  # a 1 h renewal from now would end 30 min past the cap
    assert simulator.count(method="PATCH") == 0


def test_keep_alive_survives_api_errors(kernel, simulator):
    simulator.set_lease(remaining=600)
    kernel.execute("import jupyter_lease; jupyter_lease.remaining()")
    simulator.inject("500", count=3, method="PATCH")
    out = kernel.execute(
        """
import time
with jupyter_lease.keep_alive(max_total="3h", margin="15m", check_every=0.1) as k:
    time.sleep(2)
print(len(k.renewals), len(k.errors))
""",
        timeout=30,
    ).stdout.split()
    assert out == ["1", "1"]  # one attempt failed (after the client's own retries), then success


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"margin": "1h"}, "must exceed margin"),  # renews at every check: ~120 RenewLease/h
        ({"margin": "2h"}, "must exceed margin"),
        ({"margin": "55m"}, "by at least 10m"),  # one renewal every 5 min is a loop too
        ({"extend_by": "30m"}, "between 1h and 72h"),
        ({"extend_by": "73h"}, "between 1h and 72h"),
        ({"extend_by": "99999999999999h"}, "too long"),
        ({"max_total": "9999999999999999d"}, "too long"),
        ({"check_every": 0}, "not positive"),
        ({"check_every": float("nan")}, "not positive"),
        ({"check_every": 3600}, "shorter than margin"),
    ],
)
def test_keep_alive_refuses_a_renewal_loop_at_construction(kwargs, fragment):
    """No kernel needed: the arguments are refused before anything runs."""
    import jupyter_lease

    with pytest.raises(jupyter_lease.DurationError) as err:
        jupyter_lease.keep_alive(**kwargs)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_keep_alive_backoff_survives_days_of_failures():
    import jupyter_lease

    keeper = jupyter_lease.keep_alive(check_every=30, extend_by="2h", margin="1h")
    assert [keeper.wait_after(n) for n in (0, 1, 2, 3)] == [30, 60, 120, 240]
    assert keeper.wait_after(1100) == 300  # 2 ** 1100 no longer fits a float

"""The faults of the matrix (``tests/support/fault_matrix.py``): how each is armed and cleared.

A case's ``kind`` says what the product must do about it:

* ``stale``: polls fail; the last known deadline keeps counting, marked stale, with backoff; the
  watcher recovers by itself at its first poll after the fault is cleared;
* ``self-healing``: one poll fails, the next succeeds without anyone clearing anything;
* ``stopped``: the instance stops; the countdown reaches 0:00 and the watch ends;
* ``transparent``: nobody sees anything: polls keep succeeding with the true lease;
* ``refused``: an action is refused with one line before anything is sent upstream.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from jupyter_lease.modelarts.credentials import resolve_credentials
from jupyter_lease.modelarts.discovery import discover
from jupyter_lease.watch.cache import CacheEntry

from .fault_bench import FAKE_HOST, RETRY, TIMEOUT, Bench

HOUR_MS = 3_600_000
OUT_OF_RANGE_MS = 10**17  # ~3 million years: past what datetime.timedelta can hold
OVERSIZED_BYTES = 8 << 20  # a cache entry is under 1 kB
NOBODY = 65534


@dataclass(frozen=True)
class Case:
    name: str
    arm: Callable[[Bench], None]
    clear: Callable[[Bench], None]
    user_sees: str  # a fragment of the line the user is shown (case-insensitive)
    auth: bool = False  # auth failures: exactly one upstream request per poll
    setup: Optional[Callable[[Bench], None]] = None  # before the watcher starts
    kind: str = "stale"  # see the module docstring
    note: str = ""
    verify: Optional[Callable[[Bench], Optional[str]]] = None  # extra check: a problem or None
    cached: bool = False  # poll through the shared cache (CachedLeaseSource)
    sim_options: Dict[str, Any] = field(default_factory=dict)
    expect: Optional[Callable[[], type]] = None  # refused: the exception class (imported late)
    needs_root: bool = False


@dataclass(frozen=True)
class Inject:
    """Arm a simulator fault for every request until cleared (and expire the shared cache, so
    that the next poll asks upstream instead of answering from the file)."""

    fault: str
    params: Dict[str, Any] = field(default_factory=dict)
    expire_cache: bool = False

    def __call__(self, b: Bench) -> None:
        b.sim.inject(self.fault, count=1000, **self.params)
        if self.expire_cache and b.cache is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(b.cache.path)


def _inject(fault: str, **params: Any) -> Inject:
    return Inject(fault, params)


def _clear(b: Bench) -> None:
    b.sim.clear_faults()


def _nothing(b: Bench) -> None:
    pass


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _refuse(b: Bench) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}"  # bound, never listening: refused
    b.client.location = discover(environ={**b.env, "JUPYTER_LEASE_ENDPOINT": closed})


def _unrefuse(b: Bench) -> None:
    b.client.location = discover(environ=b.env)


def _dns_setup(b: Bench) -> None:
    port = b.sim.url.rsplit(":", 1)[1]
    b.env["JUPYTER_LEASE_ENDPOINT"] = f"http://{FAKE_HOST}:{port}"
    b.build()


def _dns_fail(b: Bench) -> None:
    b.resolvable = False
    b.client.session.close()  # pooled keep-alive connections would not need the resolver


def _dns_ok(b: Bench) -> None:
    b.resolvable = True


def _wrong_sk(b: Bench) -> None:
    b.client.credentials = resolve_credentials(environ={**b.env, "HUAWEICLOUD_SDK_SK": "W" * 40})


def _right_sk(b: Bench) -> None:
    b.client.credentials = resolve_credentials(environ=b.env)


def _skew(b: Bench) -> None:
    b.skew = -16 * 60  # this machine's clock set 16 minutes back while the watcher runs


def _unskew(b: Bench) -> None:
    b.skew = 0.0  # NTP fixed it


def _stop_soon(b: Bench) -> None:
    b.sim.set_lease(remaining=1.5)  # the simulator stops the instance at this deadline


def _restart(b: Bench) -> None:
    b.sim.set_lease(remaining=3600, status="RUNNING")
    b.start()  # %lease watch again


def _metadata_setup(b: Bench) -> None:
    b.env = {k: v for k, v in b.env.items() if not k.startswith("HUAWEICLOUD_SDK_")}
    b.env["JUPYTER_LEASE_METADATA_URL"] = b.sim.url
    b.build()


def _outlive_keys(b: Bench) -> None:
    time.sleep(b.sim.metadata_ttl + 0.2)  # the first temporary keys have expired by now


def _at_zero(b: Bench) -> Optional[str]:
    left = b.watcher.remaining()
    if left is None or left.total_seconds() != 0:
        return f"countdown at {left} after the stop"
    return None if b.wait(lambda: not b.watcher.running, 2.0) else "the watcher thread went on"


def _refreshed(b: Bench) -> Optional[str]:
    fetched = b.sim.count(path_suffix="/securitykey")
    return None if fetched >= 2 else f"temporary keys fetched {fetched} time(s), not refreshed"


def _bounded_polls(b: Bench) -> Optional[str]:
    budget = RETRY.attempts * TIMEOUT[1] + RETRY.cap + 0.5
    longest = max(c.ended - c.started for c in b.armed_calls())
    return None if longest <= budget else f"a poll took {longest:.1f} s (budget {budget:.1f} s)"


# -- the shared cache --------------------------------------------------------------------------


def _lease_json(create_at: int, duration: int) -> Dict[str, Any]:
    return {"create_at": create_at, "duration": duration, "enable": True, "type": "TIMING"}


def _plant(lease: Callable[[int], Dict[str, Any]], *, pad: int = 0, owner: Optional[int] = None):
    """Write a fresh, well-formed cache entry holding ``lease(now_ms)`` where the cache reads."""

    def arm(b: Bench) -> None:
        assert b.cache is not None
        now = time.time()
        doc = CacheEntry(fetched_at=now).to_json(b.cache.key)
        raw = lease(int(now * 1000))
        doc["reading"] = {  # as the provider's reading of that lease would be
            "v": 1,
            "kind": "timed",
            "deadline_ms": raw["create_at"] + raw["duration"],
            "read_at_ms": int(now * 1000),
            "source_id": b.client.notebook_id,
        }
        doc["extra"] = {"lease": raw}
        mode = 0o600 if owner is None else 0o644
        fd = os.open(b.cache.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc) + " " * pad)
        if owner is not None:
            os.chown(b.cache.path, owner, owner)

    return arm


def _poisoned(now_ms: int) -> Dict[str, Any]:
    return _lease_json(now_ms, OUT_OF_RANGE_MS)


def _days(now_ms: int) -> Dict[str, Any]:
    return _lease_json(now_ms - 60_000, 71 * HOUR_MS + 60_000)  # 2 d 23 h left, not the truth


def _fifo(b: Bench) -> None:
    assert b.cache is not None
    with contextlib.suppress(FileNotFoundError):
        os.unlink(b.cache.path)
    os.mkfifo(b.cache.path, 0o600)


def _release_fifo(b: Bench) -> None:
    """Let a reader stuck opening the FIFO go (it reads end-of-file), so the case can end."""
    assert b.cache is not None
    with contextlib.suppress(OSError):
        if stat.S_ISFIFO(os.stat(b.cache.path).st_mode):
            os.close(os.open(b.cache.path, os.O_WRONLY | os.O_NONBLOCK))


def _cache_repaired(b: Bench) -> Optional[str]:
    assert b.cache is not None
    entry = b.cache.peek()
    if entry.lease is None or entry.lease.duration >= OUT_OF_RANGE_MS:
        return f"the cache file still holds {entry.lease}: other processes keep reading it"
    return None


def _never_cached(b: Bench) -> Optional[str]:
    assert b.cache is not None
    with contextlib.suppress(OSError, ValueError):
        with open(b.cache.path, encoding="utf-8") as fh:
            lease = (json.load(fh).get("extra") or {}).get("lease") or {}
        if lease.get("duration") == OUT_OF_RANGE_MS:
            return "the out-of-range lease was written to the shared cache"
    return None


# -- refused actions ---------------------------------------------------------------------------


def _attempt(action: Callable[[Bench], Any]) -> Callable[[Bench], None]:
    def arm(b: Bench) -> None:
        try:
            action(b)
        except Exception as exc:  # judged by the matrix against the case's `expect`
            b.refusal = exc

    return arm


def _set_idle(b: Bench) -> None:
    b.sim.set_lease(lease_type="IDLE")


def _extend_refused() -> type:
    from jupyter_lease import _errors  # ExtendRefusedError comes with the fix: looked up late

    return getattr(_errors, "ExtendRefusedError")  # noqa: B009 - absent until that fix


def _duration_error() -> type:
    from jupyter_lease._errors import DurationError

    return DurationError


def _renewal_loop(b: Bench) -> None:
    import jupyter_lease

    jupyter_lease.keep_alive(margin="2h", extend_by="1h")


CASES: List[Case] = [
    Case("read timeout", _inject("latency", seconds=0.8), _clear, "timed out reading"),
    Case("stalled upstream (answers after 60 s)", _inject("latency", seconds=60), _clear,
         "timed out reading", verify=_bounded_polls,
         note="each poll gives up after its read timeouts; `remaining()` answered at once "
              "throughout"),
    Case("connect refused", _refuse, _unrefuse, "connection refused"),
    Case("DNS failure", _dns_fail, _dns_ok, "cannot resolve the host", setup=_dns_setup),
    Case("connection dropped without an answer", _inject("drop"), _clear,
         "failed or was reset"),
    Case("500", _inject("500"), _clear, "the service failed"),
    Case("502", _inject("502"), _clear, "the service failed"),
    Case("503", _inject("503"), _clear, "the service failed"),
    Case("429 with Retry-After", _inject("429", retry_after=120), _clear, "too many requests",
         note="a Retry-After over 30 s is left to the poll backoff, not waited out in-line"),
    Case("malformed JSON", _inject("malformed_json"), _clear, "malformed JSON"),
    Case("missing field", _inject("missing_field", field="create_at"), _clear,
         "'create_at' is missing"),
    Case("ill-typed field", _inject("ill_typed_field"), _clear, "'duration' should be an integer"),
    Case("out-of-range field (duration 1e17 ms), through the shared cache",
         Inject("ill_typed_field", {"value": float(OUT_OF_RANGE_MS)}, expire_cache=True), _clear,
         "'duration'", cached=True, verify=_never_cached,
         note="never written to the shared cache"),
    Case("negative duration", _inject("negative_duration"), _clear, "is negative"),
    Case("connection reset mid-body", _inject("reset_mid_body"), _clear, "broke off mid-response"),
    Case("401 bad signature", _wrong_sk, _right_sk, "signature or token rejected", auth=True),
    Case("401 expired date (clock 16 min off)", _skew, _unskew, "more than 15 min off", auth=True,
         kind="self-healing",
         note="the rejected answer's Date header gives the offset; the next poll signs with it"),
    Case("403", _inject("403"), _clear, "permission denied", auth=True),
    Case("404 / 400 ModelArts.6309 not found", _inject("not_found"), _clear, "not found"),
    Case("400 ModelArts.6327 not running", _inject("not_running"), _clear, "not running",
         note="the watch ends only if ShowNotebook confirms the instance is not RUNNING"),
    Case("the instance stopping at its deadline", _stop_soon, _restart, "not running",
         kind="stopped", verify=_at_zero),
    Case("credentials expiring (metadata security token)", _outlive_keys, _nothing, "",
         setup=_metadata_setup, kind="transparent", verify=_refreshed,
         sim_options={"metadata_ttl": 2.0},
         note="temporary keys are refreshed before expires_at; polls never fail"),
    Case("poisoned cache entry (duration 1e17 ms)", _plant(_poisoned), _nothing, "",
         kind="transparent", cached=True, verify=_cache_repaired,
         note="the entry counts as no entry; the next write replaces it"),
    Case("FIFO at the cache path", _fifo, _release_fifo, "", kind="transparent", cached=True,
         note="opened without blocking; not a regular file: no entry"),
    Case("oversized cache file (8 MiB)", _plant(_days, pad=OVERSIZED_BYTES), _nothing, "",
         kind="transparent", cached=True, note="over the size cap: no entry"),
    Case("cache file planted by another uid (2 d 23 h left)", _plant(_days, owner=NOBODY),
         _nothing, "", kind="transparent", cached=True, needs_root=True,
         note="not owned by this user: no entry"),
    Case("extend an IDLE lease", _attempt(lambda b: b.source().renew("1h")), _nothing, "idle",
         setup=_set_idle, kind="refused", cached=True, expect=_extend_refused,
         note="an IDLE lease stays IDLE unless forced"),
    Case("keep_alive renewing in a loop (margin 2h, extend_by 1h)", _attempt(_renewal_loop),
         _nothing, "margin", kind="refused", expect=_duration_error,
         note="refused at construction, before any renewal"),
]  # fmt: skip

# Simulator faults no case injects, and why.
NOT_INJECTED = {"401": "'401 bad signature' sends a really wrong signature instead (wrong SK)"}

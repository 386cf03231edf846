"""The fault-injection matrix: one case per fault, run against the real watcher and simulator.

``python -m tests.fault_matrix`` runs every case and rewrites ``docs/reliability.md`` from what
was observed; ``tests/test_faults.py`` runs the same cases under pytest and fails if the
document no longer matches the behaviour.

Each case arms a fault, polls twice through it (proving backoff and, for auth failures, one
request per poll), lets a minute pass (the countdown must go on from the last known deadline),
then clears the fault and polls once more (the watcher must recover by itself).
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

from jupyter_lease._client import LeaseClient
from jupyter_lease._credentials import resolve_credentials
from jupyter_lease._discovery import discover
from jupyter_lease._retry import RetryPolicy
from jupyter_lease._simulator import Simulator
from jupyter_lease._watcher import Watcher

from .clocks import FakeClock

DOC = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
FAKE_HOST = "modelarts.sim-fault.invalid"  # resolved by the stand-in resolver below, never by DNS


@dataclass
class Bench:
    """A simulator, a client and a watcher, with time under the test's control."""

    sim: Simulator
    env: Dict[str, str]
    clock: FakeClock = field(default_factory=FakeClock)
    client_kw: Dict[str, Any] = field(default_factory=dict)
    resolvable: bool = True
    client: Any = None
    watcher: Any = None

    def build(self) -> None:
        location = discover(environ=self.env)
        metadata = "JUPYTER_LEASE_METADATA_URL" in self.env
        creds = resolve_credentials(environ=self.env, use_metadata=metadata)
        kw = {
            "retry": RetryPolicy(attempts=2, base=0.01, cap=0.02),
            "timeout": (1.0, 0.5),
            "clock": self.wall,  # this machine's clock moves with the test's ticks too
        }
        kw.update(self.client_kw)
        self.client = LeaseClient(location, creds, **kw)
        self.watcher = Watcher(lambda: self.client, clock=self.clock)

    def wall(self) -> float:
        return time.time() + (self.clock.t - 1000.0)

    def tick(self, seconds: float) -> None:
        self.clock.t += seconds
        self.sim.advance(seconds)

    def poll(self) -> Any:
        self.watcher.refresh()
        self.watcher.step()
        return self.watcher.snapshot

    def upstream(self) -> int:
        return self.sim.count(path_suffix="/lease")


@dataclass(frozen=True)
class Case:
    name: str
    arm: Callable[[Bench], None]
    clear: Callable[[Bench], None]
    user_sees: str  # a fragment of the error line the user is shown
    auth: bool = False  # auth failures: exactly one upstream request per poll
    setup: Optional[Callable[[Bench], None]] = None
    kind: str = "stale"  # "stale" | "self-healing" | "stopped" | "transparent"
    note: str = ""
    verify: Optional[Callable[[Bench], Optional[str]]] = None  # extra check: a problem or None


def _inject(fault: str, **params: Any) -> Callable[[Bench], None]:
    return lambda b: b.sim.inject(fault, count=1000, **params)


def _clear(b: Bench) -> None:
    b.sim.clear_faults()


def _set_env(**changes: str) -> Callable[[Bench], None]:
    def apply(b: Bench) -> None:
        b.env.update(changes)
        b.build()
        b.watcher.poll()  # the new client starts from a known lease, like a running watcher

    return apply


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
    _set_env(JUPYTER_LEASE_ENDPOINT=f"http://{FAKE_HOST}:{port}")(b)


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
    b.client._clock = lambda: b.wall() - 16 * 60  # this machine's clock 16 minutes slow
    b.client.clock_offset = None


def _unskew(b: Bench) -> None:
    b.client._clock = b.wall  # NTP fixed it


def _stop_at_deadline(b: Bench) -> None:
    left = b.watcher.remaining()
    b.tick(left.total_seconds() + 1)


def _restart(b: Bench) -> None:
    b.sim.set_lease(remaining=3600, status="RUNNING")
    b.watcher = Watcher(lambda: b.client, clock=b.clock)  # %lease watch again
    b.watcher.poll()


def _metadata_setup(b: Bench) -> None:
    b.env = {k: v for k, v in b.env.items() if not k.startswith("HUAWEICLOUD_SDK_")}
    b.env["JUPYTER_LEASE_METADATA_URL"] = b.sim.url
    b.build()
    b.watcher.poll()


def _at_zero(b: Bench) -> Optional[str]:
    left = b.watcher.remaining()
    return None if left == timedelta(0) else f"countdown at {left} after the stop"


def _refreshed(b: Bench) -> Optional[str]:
    fetched = b.sim.count(path_suffix="/securitykey")
    return None if fetched >= 2 else f"temporary keys fetched {fetched} time(s), not refreshed"


def _expire_credentials(b: Bench) -> None:
    b.tick(b.sim.metadata_ttl - 60)  # within the refresh margin: new keys are fetched


CASES: List[Case] = [
    Case("read timeout", _inject("latency", seconds=0.8), _clear, "timed out reading"),
    Case("connect refused", _refuse, _unrefuse, "connection refused"),
    Case("DNS failure", _dns_fail, _dns_ok, "cannot resolve the host", setup=_dns_setup),
    Case("500", _inject("500"), _clear, "the service failed"),
    Case("502", _inject("502"), _clear, "the service failed"),
    Case("503", _inject("503"), _clear, "the service failed"),
    Case("429 with Retry-After", _inject("429", retry_after=120), _clear, "too many requests",
         note="a Retry-After over 30 s is left to the poll backoff, not waited out in-line"),
    Case("malformed JSON", _inject("malformed_json"), _clear, "malformed JSON"),
    Case("missing field", _inject("missing_field", field="create_at"), _clear,
         "'create_at' is missing"),
    Case("ill-typed field", _inject("ill_typed_field"), _clear, "'duration' should be an integer"),
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
    Case("the instance stopping at its deadline", _stop_at_deadline, _restart, "not running",
         kind="stopped", verify=_at_zero),
    Case("credentials expiring (metadata security token)", _expire_credentials, lambda b: None, "",
         setup=_metadata_setup, kind="transparent", verify=_refreshed,
         note="temporary keys are refreshed before expires_at; polls never fail"),
]  # fmt: skip


@contextlib.contextmanager
def stand_in_resolver(bench: Bench) -> Iterator[None]:
    """Resolve FAKE_HOST to 127.0.0.1 — or fail like a dead DNS server — without any DNS traffic.

    This replaces the operating system's resolver (``socket.getaddrinfo``) for one host name; the
    product code, requests and urllib3 run unchanged.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if host == FAKE_HOST:
            if not bench.resolvable:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            host = "127.0.0.1"
        return real(host, *args, **kw)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


@dataclass
class Outcome:
    case: Case
    error: str = ""
    stale: bool = False
    stopped: bool = False
    requests_per_poll: List[int] = field(default_factory=list)
    backoff: List[float] = field(default_factory=list)
    counted_down: Optional[float] = None  # seconds the countdown moved in a 60 s tick
    recovered: bool = False
    problems: List[str] = field(default_factory=list)


def run_case(case: Case) -> Outcome:
    with Simulator(metadata_ttl=3600) as sim:
        sim.set_lease(remaining=2 * 3600)
        bench = Bench(sim, dict(sim.environ()))
        with stand_in_resolver(bench):
            bench.build()
            bench.watcher.poll()
            if case.setup:
                case.setup(bench)
            return _observe(case, bench)


def _observe(case: Case, bench: Bench) -> Outcome:
    out = Outcome(case)
    before = bench.watcher.remaining()
    case.arm(bench)
    for _ in range(2):
        calls = bench.upstream()
        snap = bench.poll()
        out.requests_per_poll.append(bench.upstream() - calls)
        out.backoff.append(round(bench.watcher._next_poll_at - bench.clock.t, 3))
        out.error = out.error or snap.last_error or ""  # the first failure is what users see
    out.stale, out.stopped = snap.stale, snap.stopped
    extra = case.verify(bench) if case.verify else None
    if extra:
        out.problems.append(extra)
    if case.kind not in ("stopped", "transparent"):
        start = bench.watcher.remaining()
        bench.clock.t += 60  # a minute passes on this machine only: no poll, just the countdown
        out.counted_down = (start - bench.watcher.remaining()).total_seconds()
    case.clear(bench)
    after = bench.poll()
    if case.kind == "self-healing" and after.stale:  # a corrected clock costs one more poll
        after = bench.poll()
    out.recovered = not after.stale and not after.stopped and after.lease is not None
    _judge(out, before)
    return out


def _judge(out: Outcome, before: Optional[timedelta]) -> None:
    case, problems = out.case, out.problems
    if case.user_sees and case.user_sees not in out.error:
        problems.append(f"error line {out.error!r} lacks {case.user_sees!r}")
    if case.kind == "stale" and not out.stale:
        problems.append("not marked stale")
    if case.kind == "stopped" and not out.stopped:
        problems.append("the stop was not noticed")
    if case.kind == "transparent" and (out.stale or out.error):
        problems.append(f"the user saw a failure: {out.error!r}")
    if case.kind == "self-healing" and (out.stale or out.requests_per_poll != [1, 1]):
        problems.append(f"did not heal at the next poll: {out.requests_per_poll}")
    if case.kind == "stale" and out.backoff[1] <= out.backoff[0]:
        problems.append(f"no backoff: {out.backoff}")
    if case.auth and case.kind != "self-healing" and out.requests_per_poll != [1, 1]:
        problems.append(f"auth failure retried: {out.requests_per_poll} requests per poll")
    if out.counted_down is not None and abs(out.counted_down - 60) > 0.5:
        problems.append(f"countdown moved {out.counted_down} s in 60 s")
    if not out.recovered:
        problems.append("did not recover after the fault was cleared")


def table(outcomes: List[Outcome]) -> str:
    rows = [
        "| fault | what the user sees | countdown continued | recovery |",
        "|---|---|---|---|",
    ]
    for out in outcomes:
        case = out.case
        sees = f"`{_stable(out.error)}`" if out.error else "nothing: polls keep succeeding"
        if case.kind == "self-healing":
            sees += " once, then nothing"
        if case.kind == "stale":
            sees += " · marked stale"
        continued = {
            "stopped": "reaches 0:00; the watch ends",
            "transparent": "yes (never interrupted)",
        }.get(
            case.kind,
            f"yes ({out.counted_down:.0f} s in 60 s)" if out.counted_down is not None else "yes",
        )
        per_poll = "one request per poll, " if case.auth else ""
        recovery = {
            "self-healing": "by itself at the next poll (one request per poll)",
            "stopped": "after a restart: `%lease watch` again",
            "transparent": "not needed",
        }.get(
            case.kind,
            f"by itself once cleared ({per_poll}backoff "
            f"{out.backoff[0]:.0f} s → {out.backoff[1]:.0f} s)",
        )
        if case.note:
            recovery += f"; {case.note}"
        status = "" if not out.problems else " **FAILED: " + "; ".join(out.problems) + "**"
        rows.append(f"| {case.name} | {sees} | {continued} | {recovery}{status} |")
    return "\n".join(rows)


HEADER = """# Reliability: what happens when things go wrong

Generated by `python -m tests.fault_matrix` from a real run of the watcher and the client
against the simulator's fault injection (`tests/test_faults.py` fails when this file no longer
matches the behaviour). For every fault: no exception reaches a cell or a log as a traceback,
the last known deadline keeps counting (marked stale), authentication failures are never
retried in a loop (one request per poll, with backoff — the gateway locks an AK/SK after 5
failures), and the watcher recovers by itself once the fault is cleared.

Backoff between failing polls starts at 15 s and doubles up to 5 minutes.

"""


def _stable(error: str) -> str:
    """The error line without what changes from run to run (request ids, ports)."""
    error = re.sub(r", request id [0-9a-f]+", "", error)
    error = re.sub(r"\(-\d+ ms\)", "(-N ms)", error)  # the exact value drifts by a ms
    return re.sub(r"https?://[\w.-]+:\d+", "<endpoint>", error)


def render(outcomes: List[Outcome]) -> str:
    return HEADER + table(outcomes) + "\n"


def main() -> None:
    outcomes = [run_case(case) for case in CASES]
    DOC.write_text(render(outcomes))
    failed = [o for o in outcomes if o.problems]
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed; wrote {DOC}")


if __name__ == "__main__":
    main()

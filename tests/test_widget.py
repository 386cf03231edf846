"""The countdown widget: pure text forms, the in-process trait logic, and real kernels.

Kernel tests run a real ipykernel (jupyter_client) pointed at the simulator and read the widget
comm on iopub exactly as a front end would; the browser side is tested elsewhere (Playwright).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import timezone
from typing import Any, Dict, Iterator, List

import pytest

from jupyter_lease.core import DEFAULT_EXTEND_CHOICES, Reading
from jupyter_lease.kernel.widget import CLOCK_NEWS_MS, CountdownWidget, render_html, render_text
from jupyter_lease.watch.watcher import Snapshot, Watcher
from tests.support.factories import make_client
from tests.support.kernel_helpers import KernelSession, iter_strings

NOW_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z
H = 3_600_000
NOTEBOOK = "881ed162-ae2e-4154-bf15-052434b9b5df"


def timed_state(remaining_ms: int, **extra: Any) -> Dict[str, Any]:
    """The synced state of a timed lease with ``remaining_ms`` left at NOW_MS."""
    warn_at = extra.pop("warn_at_s", [1800, 600, 300, 60])
    reading = Reading(
        "timed",
        deadline=(NOW_MS + remaining_ms) / 1000,
        read_at=NOW_MS / 1000,
        source_id=NOTEBOOK,
        **extra,
    )
    return {"reading": reading.to_json(), "warn_at_s": warn_at}


def text(state: Dict[str, Any]) -> str:
    return render_text(state, NOW_MS, timezone.utc)


# -- pure: text and html forms ----------------------------------------------------------------


def test_text_form_of_a_timed_lease() -> None:
    assert text(timed_state(H + 5 * 60_000 + 20_000)) == (
        "jupyter_lease: 1 h 05 min left as of 20:26:40 UTC · stops 21:32:00 UTC [plenty]"
    )
    assert text(timed_state(299_000)).startswith("jupyter_lease: 4:59 left")
    assert text(timed_state(299_000)).endswith("[warning]")
    assert text(timed_state(59_000)).endswith("[critical]")
    # The thresholds come from the state: with a single 2 h threshold, 90 min is a warning.
    assert text(timed_state(90 * 60_000, warn_at_s=[7200])).endswith("[warning]")


@pytest.mark.parametrize(
    "reading, expected",
    [
        (Reading("idle", idle_after=3600.0), "jupyter_lease: stops after 1 h 00 min idle [idle]"),
        (Reading("off"), "jupyter_lease: auto-stop is off [off]"),
        (Reading(), "jupyter_lease: checking the lease… [unknown]"),
        (
            Reading(error="ShowLease: connection refused by http://x"),
            "jupyter_lease: lease unknown · ShowLease: connection refused by http://x [unknown]",
        ),
        (
            Reading("stopped", deadline=NOW_MS / 1000),
            "jupyter_lease: the instance is not running [stopped]",
        ),
        (
            Reading("timed", deadline=NOW_MS / 1000 - 1),
            "jupyter_lease: the lease has run out: the instance stops now as of 20:26:40 UTC"
            " · ran out at 20:26:39 UTC [expired]",
        ),
    ],
)
def test_text_form_without_a_countdown(reading: Reading, expected: str) -> None:
    assert text({"reading": reading.to_json()}) == expected


def test_stale_text_says_last_known_and_why() -> None:
    state = timed_state(2 * H, stale=True, error="ShowLease: timed out reading\nfrom host")
    shown = text(state)
    assert "2 h 00 min left (last known)" in shown
    assert "· ShowLease: timed out reading from host" in shown
    assert "\n" not in shown


def test_html_form_is_escaped_and_styled() -> None:
    state = timed_state(4 * 60_000, stale=True, error="<script>alert('x')</script> & co")
    page = render_html(state, NOW_MS, timezone.utc)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page and "&amp; co" in page
    assert 'data-stage="warning"' in page and "4:00 left" in page
    assert "notebook 881ed162" in page and "881ed162-ae2e" not in page  # short form only
    assert "border-left:4px solid" in page


def test_a_state_from_another_version_reads_as_unknown_and_says_why() -> None:
    shown = text({"reading": {"v": 2, "kind": "timed"}})
    assert shown.startswith("jupyter_lease: lease unknown · the lease reading has version 2")


def test_the_synced_reading_keeps_the_deadline_on_the_sources_clock() -> None:
    reading = Reading(
        "timed", deadline=(NOW_MS + 2 * H) / 1000, clock_offset=12.5, started_at=(NOW_MS - H) / 1000
    )
    snapshot = Snapshot(reading=reading, mono_at_poll=100.0, polls=1)

    class Fixed:
        warn_at = ()

        @staticmethod
        def monotonic() -> float:
            return 100.0

        snapshot = None

    fixed = Fixed()
    fixed.snapshot = snapshot
    widget = CountdownWidget()
    widget._watcher = fixed
    widget.sync()
    # Not moved onto any clock: the browser converts once, with the offset beside it.
    assert widget.reading == reading.to_json()
    assert widget.reading["deadline_ms"] == NOW_MS + 2 * H
    assert widget.reading["clock_offset_ms"] == 12_500
    widget.close()


# -- in process: the widget against a watcher (real client, real simulator) ----------------------


class Sent:
    """Records what the widget would send on its comm."""

    def __init__(self, widget: CountdownWidget) -> None:
        self.messages: List[Dict[str, Any]] = []
        widget._send = self._send  # type: ignore[method-assign]
        if getattr(widget.comm, "kernel", "") is None:
            # ipywidgets 7 sends nothing while its comm has no kernel (as outside a kernel,
            # here); 8 has no such check. A kernel object that is never started opens the gate.
            from ipykernel.kernelbase import Kernel

            widget.comm.kernel = Kernel()

    def _send(self, msg: Dict[str, Any], buffers: Any = None) -> None:
        self.messages.append(msg)

    def updates(self) -> List[Dict[str, Any]]:
        return [m["state"] for m in self.messages if m.get("method") == "update"]


@pytest.fixture
def rig(simulator) -> Iterator[Any]:
    client = make_client(simulator)
    watcher = Watcher(lambda: client)
    watcher.poll()
    widget = CountdownWidget()
    sent = Sent(widget)
    widget.bind(watcher)

    class Rig:
        pass

    r = Rig()
    r.sim, r.client, r.watcher, r.widget, r.sent = simulator, client, watcher, widget, sent
    yield r
    widget.close()


def test_bind_sends_one_message_then_nothing_while_the_lease_stands(rig) -> None:
    assert len(rig.sent.updates()) == 1  # bind: one message with everything that changed
    first = rig.sent.updates()[0]
    assert {"reading", "stage"} <= set(first)
    assert first["reading"]["source_id"] == rig.sim.notebook_id
    # kernel_now_ms is re-stamped with the change (it is only sent if the millisecond moved
    # since the widget was created, which it may not have).
    assert abs(rig.widget.kernel_now_ms - time.time() * 1000) < 5000
    for _ in range(5):
        rig.watcher.poll()  # a later read of the same lease: nothing to send
    assert len(rig.sent.updates()) == 1
    rig.sim.set_lease(remaining=3 * 3600)
    rig.watcher.poll()
    assert len(rig.sent.updates()) == 2
    second = rig.sent.updates()[1]
    assert set(second) == {"reading", "kernel_now_ms"}
    assert second["reading"]["deadline_ms"] > first["reading"]["deadline_ms"] + 3600_000


def test_a_narrowed_clock_offset_is_no_news_a_stepped_one_is(rig) -> None:
    """Each poll re-measures ModelArts' clock (a Date header: ±0.5 s): the same lease read
    again with a narrowed offset sends nothing; a clock step does; a read someone asked for
    (``exact``) is sent as read."""
    shown = rig.widget.reading
    reading = rig.watcher.snapshot.reading

    def again(offset_change_s: float) -> Snapshot:
        moved = replace(
            reading,
            clock_offset=reading.clock_offset + offset_change_s,
            read_at=(reading.read_at or 0) + 60,
        )
        return replace(rig.watcher.snapshot, reading=moved)

    rig.widget._apply(again(0.4), rig.watcher)
    rig.widget._apply(again(-0.4), rig.watcher)
    assert len(rig.sent.updates()) == 1 and rig.widget.reading == shown
    rig.widget._apply(again(CLOCK_NEWS_MS / 1000 + 0.2), rig.watcher)
    assert len(rig.sent.updates()) == 2
    assert rig.widget.reading["clock_offset_ms"] == shown["clock_offset_ms"] + CLOCK_NEWS_MS + 200
    rig.widget._apply(again(0.3), rig.watcher, exact=True)
    assert len(rig.sent.updates()) == 3
    assert rig.widget.reading == again(0.3).reading.to_json()


def test_assigning_an_unchanged_value_sends_nothing() -> None:
    widget = CountdownWidget()
    sent = Sent(widget)
    with widget.hold_sync():
        widget.reading = dict(widget.reading)
        widget.warn_at_s = list(widget.warn_at_s)
        widget.extend_choices = list(DEFAULT_EXTEND_CHOICES)
        widget.stage = "unknown"
    assert sent.messages == []
    widget.stage = "plenty"
    assert sent.updates() == [{"stage": "plenty"}]
    widget.close()


def test_extend_in_process_and_its_failures(rig) -> None:
    before = rig.widget.reading["deadline_ms"]
    assert rig.widget.extend("4h") == "Extended: 4 h 00 min left"
    assert rig.widget.reading["deadline_ms"] > before + 3600_000
    assert rig.widget.message == "Extended: 4 h 00 min left" and rig.widget.busy is False
    assert rig.widget.message_ok is True  # the view's tone: not guessed from the words
    assert rig.widget.extend("10m") == "a renewal must be between 1h and 72h, not 10m"
    assert rig.widget.message_ok is False
    assert rig.widget.extend(None) == "extend failed: choose a duration such as 2h"

    def broken(duration: Any) -> Any:
        raise RuntimeError("AKSECRET boom\nsecond line")

    rig.client.renew = broken
    assert rig.widget.extend("2h") == "extend failed: unexpected error"
    rig.widget.unbind()
    assert rig.widget.extend("2h") == "extend failed: not connected to a lease watcher"


def test_unbind_and_close_remove_the_listener(rig) -> None:
    assert len(rig.watcher._listeners) == 1
    unbind = rig.widget.bind(rig.watcher)  # rebinding replaces, never doubles
    assert len(rig.watcher._listeners) == 1
    unbind()
    assert rig.watcher._listeners == []
    rig.widget.bind(rig.watcher)
    rig.widget.close()
    assert rig.watcher._listeners == []


def test_mimebundle_has_text_html_and_the_view() -> None:
    widget = CountdownWidget()
    data, _meta = widget._repr_mimebundle_()
    assert data["text/plain"] == "jupyter_lease: checking the lease… [unknown]"
    assert "jupyter-lease-static" in data["text/html"]
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    assert widget.extend_choices == list(DEFAULT_EXTEND_CHOICES)
    widget.close()


# -- real kernels ---------------------------------------------------------------------------------

SETUP = """
from IPython.display import display
from jupyter_lease.modelarts.client import LeaseClient
from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.watch.watcher import Watcher
from jupyter_lease.kernel.widget import CountdownWidget

watcher = Watcher(LeaseClient, schedule=PollSchedule(far={far}, near={far}, final=1))
watcher.poll()
widget = CountdownWidget()
widget.bind(watcher)
watcher.start()
display(widget)
"""


@pytest.fixture
def kernel(simulator) -> Iterator[KernelSession]:
    with KernelSession(env={**os.environ, **simulator.environ()}) as session:
        yield session


def assert_no_credentials(kernel: KernelSession, simulator: Any) -> None:
    """Nothing the kernel sent (widget state, updates, outputs) holds the AK or the SK."""
    comm = kernel.messages(msg_type="comm_open") + kernel.messages(msg_type="comm_msg")
    assert comm, "no widget traffic to check"
    secrets = [simulator.ak, simulator.sk]
    for received in kernel.messages():
        for text in iter_strings(received.msg.get("content")):
            assert not any(secret in text for secret in secrets), received.msg_type


def start_widget(kernel: KernelSession, far: float = 2) -> str:
    """The widget bound to a started watcher polling every ``far`` s (the lease is 2 h away)."""
    kernel.execute(SETUP.format(far=far))
    return kernel.find_widget("AnyModel")


def sim_deadline_ms(sim: Any) -> int:
    lease = sim.state()["notebooks"][sim.notebook_id]["lease"]
    return int(lease["create_at"] + lease["duration"])


def kernel_value(kernel: KernelSession, expr: str) -> Any:
    return eval(kernel.execute(f"print(repr({expr}))").stdout.strip())  # noqa: S307


def test_kernel_state_then_silence_while_polls_go_on(kernel, simulator) -> None:
    comm = start_widget(kernel, far=1)  # the watcher's quickest pace: a poll a second
    state = kernel.widget_state(comm)
    reading = state["reading"]
    # ModelArts' own deadline, exactly: no clock moved it; the offset goes beside it.
    assert reading["deadline_ms"] == sim_deadline_ms(simulator)
    offset = kernel_value(kernel, "watcher.snapshot.reading.clock_offset")
    assert abs(reading["clock_offset_ms"] - offset * 1000) < CLOCK_NEWS_MS
    assert abs(reading["clock_offset_ms"]) <= 1000  # one host: the offset is only noise
    assert reading["kind"] == "timed" and state["stage"] == "plenty"
    assert state["warn_at_s"] == [1800, 600, 300, 60]
    assert reading["source_id"] == simulator.notebook_id
    assert reading["stale"] is False and reading["error"] is None

    polls_before = simulator.count("GET", "/lease")
    mark = kernel.mark()
    time.sleep(5)  # the window itself is what is tested: polls go on, the widget is silent
    polls = simulator.count("GET", "/lease") - polls_before
    assert polls >= 3, polls  # the watcher really polled all along (one per ~1.4 s) ...
    assert kernel.comm_msgs(comm, since=mark) == []  # ... and the widget said nothing
    assert_no_credentials(kernel, simulator)


def test_kernel_stage_changes_at_a_threshold_while_a_cell_sleeps(kernel, simulator) -> None:
    comm = start_widget(kernel, far=1)
    simulator.set_lease(remaining=64)  # warning (≤ 5 min); critical at 1 min, 4 s from now
    kernel.wait_for(
        lambda m: (
            m.content.get("comm_id") == comm
            and (m.content.get("data") or {}).get("state", {}).get("stage") == "warning"
        ),
        timeout=5,
        what="stage warning",
    )
    mark = kernel.mark()
    result = kernel.execute("import time; time.sleep(5)")  # seen within ~1 s: critical mid-cell
    critical = [
        m
        for m in kernel.comm_msgs(comm, since=mark)
        if m.content["data"].get("state", {}).get("stage") == "critical"
    ]
    assert len(critical) == 1
    assert result.busy_at is not None and result.idle_at is not None
    assert result.busy_at < critical[0].at < result.idle_at  # sent while the cell ran
    assert_no_credentials(kernel, simulator)


def extend_through_comm(kernel, comm: str, duration: str, *, since: int) -> None:
    """Send an Extend as the front end does, and wait until the widget is no longer busy."""
    kernel.send_comm_msg(
        comm, {"method": "custom", "content": {"type": "extend", "duration": duration}}
    )
    kernel.wait_for(
        lambda m: (
            m.content.get("comm_id") == comm
            and (m.content.get("data") or {}).get("state", {}).get("busy") is False
        ),
        since=since,
        timeout=10,
        what=f"the extend of {duration} to finish",
    )


def test_kernel_extend_through_the_widget_comm(kernel, simulator) -> None:
    comm = start_widget(kernel)
    before = kernel.widget_state(comm)["reading"]["deadline_ms"]
    mark = kernel.mark()
    extend_through_comm(kernel, comm, "2h", since=mark)
    patches = [r for r in simulator.requests() if r["method"] == "PATCH"]
    assert len(patches) == 1 and patches[0]["status"] == 200
    state = kernel.widget_state(comm)
    assert state["message"] == "Extended: 2 h 00 min left"
    assert state["reading"]["deadline_ms"] == sim_deadline_ms(simulator)
    assert state["reading"]["deadline_ms"] != before

    mark = kernel.mark()
    extend_through_comm(kernel, comm, "soon", since=mark)
    message = kernel.widget_state(comm)["message"]
    assert message.startswith("cannot read duration 'soon'") and "\n" not in message
    assert len([r for r in simulator.requests() if r["method"] == "PATCH"]) == 1
    assert kernel.messages(since=mark, msg_type="error") == []
    assert not [m for m in kernel.messages(since=mark, msg_type="stream")]
    assert kernel_value(kernel, "1 + 1") == 2  # the kernel is fine
    assert_no_credentials(kernel, simulator)


def test_the_view_is_the_bundle_built_from_src_widget_or_one_line_without_it(monkeypatch) -> None:
    from jupyter_lease.kernel import widget

    esm = widget._esm()  # a path anywidget reads (and re-reads under its hot reload)
    assert str(esm).endswith(os.path.join("static", "widget.js")), esm
    assert "render" in widget._static("widget.js")
    monkeypatch.setattr(widget, "_WIDGET_JS", "not-built.js")  # a checkout never built
    assert "not built in this install (npm run build)" in widget._esm()

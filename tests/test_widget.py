"""The countdown widget: pure text forms, the in-process trait logic, and real kernels.

Kernel tests run a real ipykernel (jupyter_client) pointed at the simulator and read the widget
comm on iopub exactly as a front end would; the browser side is tested elsewhere (Playwright).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import timedelta
from typing import Any, Dict, Iterator, List

import pytest

from jupyter_lease._duration import format_remaining
from jupyter_lease._lease import Lease
from jupyter_lease._schedule import stage_for
from jupyter_lease._watcher import Snapshot, Watcher
from jupyter_lease._widget import (
    DEFAULT_EXTEND_CHOICES,
    CountdownWidget,
    render_html,
    render_text,
    span_ms,
    widget_state,
)

from .kernel_helpers import KernelSession, iter_strings
from .test_client import make_client

M = timedelta(minutes=1)
NOW_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z
H = 3_600_000


def timed_state(remaining_ms: int, **extra: Any) -> Dict[str, Any]:
    state = {
        "kind": "timed",
        "deadline_ms": NOW_MS + remaining_ms,
        "warn_at_s": [1800, 600, 300, 60],
        "stale": False,
        "stopped": False,
        "error": "",
        "notebook_id": "881ed162-ae2e-4154-bf15-052434b9b5df",
    }
    state.update(extra)
    return state


# -- pure: text and html forms ----------------------------------------------------------------


def test_text_form_of_a_timed_lease() -> None:
    text = render_text(timed_state(H + 5 * 60_000 + 20_000), NOW_MS)
    assert text == (
        "jupyter_lease: 1 h 05 min left as of 20:26:40 UTC (stops 21:32:00 UTC) [plenty]"
    )
    assert render_text(timed_state(299_000), NOW_MS).startswith("jupyter_lease: 4:59 left")
    assert render_text(timed_state(299_000), NOW_MS).endswith("[warning]")
    assert render_text(timed_state(59_000), NOW_MS).endswith("[critical]")
    # The thresholds come from the state: with a single 2 h threshold, 90 min is a warning.
    assert render_text(timed_state(90 * 60_000, warn_at_s=[7200]), NOW_MS).endswith("[warning]")


@pytest.mark.parametrize(
    "state, expected",
    [
        ({"kind": "idle", "idle_after_s": 3600}, "jupyter_lease: stops after 1 h 00 min idle"),
        ({"kind": "disabled"}, "jupyter_lease: auto-stop is off [no-deadline]"),
        ({"kind": "unknown"}, "jupyter_lease: lease unknown [unknown]"),
        (
            {"kind": "unknown", "error": "ShowLease: connection refused by http://x"},
            "jupyter_lease: lease unknown · ShowLease: connection refused by http://x [unknown]",
        ),
        (
            {"kind": "timed", "stopped": True, "deadline_ms": NOW_MS},
            "jupyter_lease: the instance is not running [stopped]",
        ),
        (
            {"kind": "timed", "deadline_ms": NOW_MS - 1000},
            "jupyter_lease: the lease ran out at 20:26:39 UTC [stopped]",
        ),
    ],
)
def test_text_form_without_a_countdown(state: Dict[str, Any], expected: str) -> None:
    assert render_text(state, NOW_MS).startswith(expected)


def test_stale_text_says_last_known_and_why() -> None:
    state = timed_state(2 * H, stale=True, error="ShowLease: timed out reading\nfrom host")
    text = render_text(state, NOW_MS)
    assert "2 h 00 min left" in text
    assert "last known; ShowLease: timed out reading from host" in text
    assert "\n" not in text


def test_html_form_is_escaped_and_styled() -> None:
    state = timed_state(4 * 60_000, stale=True, error="<script>alert('x')</script> & co")
    page = render_html(state, NOW_MS)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page and "&amp; co" in page
    assert 'data-stage="warning"' in page and "4:00 left" in page
    assert "notebook 881ed162" in page and "881ed162-ae2e" not in page  # short form only
    assert "border-left:4px solid" in page


def test_widget_state_moves_the_deadline_onto_this_hosts_clock() -> None:
    lease = Lease(create_at=NOW_MS - H, duration=3 * H, enabled=True, type="TIMING")
    snapshot = Snapshot(
        lease=lease,
        server_time_at_poll=NOW_MS / 1000,
        mono_at_poll=100.0,
        clock_offset=12.5,  # the server is 12.5 s ahead of this host
        polls=1,
    )
    state = widget_state(snapshot, mono_now=100.0, warn_at=[10 * M, 30 * M, M])
    assert state["deadline_ms"] == NOW_MS + 2 * H - 12_500
    assert state["span_ms"] == 3 * H  # no update_at: the whole duration
    assert state["warn_at_s"] == [1800, 600, 60]
    assert (state["kind"], state["stage"], state["idle_after_s"]) == ("timed", "plenty", None)
    renewed = Lease(NOW_MS - 5 * H, 7 * H, True, "TIMING", update_at=NOW_MS)
    assert span_ms(renewed) == 2 * H  # renewed just now for 2 h: a full bar
    assert span_ms(Lease(NOW_MS, H, True, "IDLE")) is None
    idle = Snapshot(lease=Lease(NOW_MS, H, True, "IDLE"), polls=1)
    assert widget_state(idle, mono_now=0.0)["idle_after_s"] == 3600
    assert widget_state(idle, mono_now=0.0)["deadline_ms"] is None
    assert widget_state(Snapshot(), mono_now=0.0)["kind"] == "unknown"


@pytest.mark.node
def test_javascript_formats_and_stages_like_python(tmp_path) -> None:
    """The browser's countdown text and stage mirror ``format_remaining`` and ``stage_for``."""
    import jupyter_lease

    source = os.path.join(os.path.dirname(jupyter_lease.__file__), "static", "countdown.js")
    shutil.copy(source, tmp_path / "countdown.mjs")
    samples = [-5, 0, 999, 59_000, 60_000, 299_999, 599_999, 600_000, 629_999, 630_000]
    samples += [3_920_000, 3_930_000, 7_165_000, 7_199_000, 86_400_000 * 2 + 11_000_000]
    warn_sets = [[1800, 600, 300, 60], [7200], [30], [600, 120]]
    script = tmp_path / "check.mjs"
    script.write_text(
        "globalThis.document = {getElementById: () => null};\n"
        'const m = await import("./countdown.mjs");\n'
        f"const samples = {json.dumps(samples)}, warnSets = {json.dumps(warn_sets)};\n"
        "console.log(JSON.stringify({text: samples.map(m.formatRemaining),\n"
        "  stage: warnSets.map((w) => samples.map((ms) => m.stageFor(ms, w)))}));\n"
    )
    out = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, timeout=30, check=True
    )
    got = json.loads(out.stdout)
    assert got["text"] == [format_remaining(timedelta(milliseconds=ms)) for ms in samples]
    expected = [
        [
            stage_for(timedelta(milliseconds=ms), [timedelta(seconds=s) for s in w]).value
            for ms in samples
        ]
        for w in warn_sets
    ]
    assert got["stage"] == expected


# -- in process: the widget against a watcher (real client, real simulator) ----------------------


class Sent:
    """Records what the widget would send on its comm."""

    def __init__(self, widget: CountdownWidget) -> None:
        self.messages: List[Dict[str, Any]] = []
        widget._send = self._send  # type: ignore[method-assign]

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
    assert {"deadline_ms", "kind", "stage", "notebook_id"} <= set(first)
    # kernel_now_ms is re-stamped with the change (it is only sent if the millisecond moved
    # since the widget was created, which it may not have).
    assert abs(rig.widget.kernel_now_ms - time.time() * 1000) < 5000
    for _ in range(5):
        # Each poll re-measures the clock offset (±0.5 s): the same lease must send nothing.
        rig.watcher.poll()
        rig.client.clock_offset = (rig.client.clock_offset or 0) + 0.4
        rig.widget.sync()
        rig.client.clock_offset -= 0.4
    assert len(rig.sent.updates()) == 1
    rig.sim.set_lease(remaining=3 * 3600)
    rig.watcher.poll()
    assert len(rig.sent.updates()) == 2
    second = rig.sent.updates()[1]
    assert set(second) == {"deadline_ms", "span_ms", "kernel_now_ms"}


def test_assigning_an_unchanged_value_sends_nothing() -> None:
    widget = CountdownWidget()
    sent = Sent(widget)
    with widget.hold_sync():
        widget.kind = widget.kind
        widget.warn_at_s = list(widget.warn_at_s)
        widget.extend_choices = list(DEFAULT_EXTEND_CHOICES)
        widget.deadline_ms = None
    widget.stale = False
    assert sent.messages == []
    widget.stale = True
    assert sent.updates() == [{"stale": True}]
    widget.close()


def test_extend_in_process_and_its_failures(rig) -> None:
    before = rig.widget.deadline_ms
    assert rig.widget.extend("4h") == "Extended: 4 h 00 min left"
    assert rig.widget.deadline_ms > before + 3600_000
    assert rig.widget.message == "Extended: 4 h 00 min left" and rig.widget.busy is False
    assert rig.widget.extend("10m") == "a renewal must be between 1h and 72h, not 10m"
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
    assert data["text/plain"] == "jupyter_lease: lease unknown [unknown]"
    assert "jupyter-lease-static" in data["text/html"]
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    assert widget.extend_choices == list(DEFAULT_EXTEND_CHOICES)
    widget.close()


# -- real kernels ---------------------------------------------------------------------------------

SETUP = """
from IPython.display import display
from jupyter_lease._client import LeaseClient
from jupyter_lease._schedule import PollSchedule
from jupyter_lease._watcher import Watcher
from jupyter_lease._widget import CountdownWidget

watcher = Watcher(LeaseClient, schedule=PollSchedule(far=2, near=2, final=1))
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


def start_widget(kernel: KernelSession) -> str:
    kernel.execute(SETUP)
    return kernel.find_widget("AnyModel")


def sim_deadline_ms(sim: Any) -> int:
    lease = sim.state()["notebooks"][sim.notebook_id]["lease"]
    return int(lease["create_at"] + lease["duration"])


def kernel_value(kernel: KernelSession, expr: str) -> Any:
    return eval(kernel.execute(f"print(repr({expr}))").stdout.strip())  # noqa: S307


def test_kernel_state_then_silence_while_polls_go_on(kernel, simulator) -> None:
    comm = start_widget(kernel)
    state = kernel.widget_state(comm)
    offset = kernel_value(kernel, "watcher.client.clock_offset") or 0.0
    truth = sim_deadline_ms(simulator)
    assert abs(state["deadline_ms"] - (truth - offset * 1000)) <= 1000
    assert abs(state["deadline_ms"] - truth) <= 1000  # one host: the offset is only noise
    assert state["kind"] == "timed" and state["stage"] == "plenty"
    assert state["warn_at_s"] == [1800, 600, 300, 60]
    assert state["notebook_id"] == simulator.notebook_id
    assert state["stale"] is False and state["stopped"] is False

    polls_before = simulator.count("GET", "/lease")
    mark = kernel.mark()
    time.sleep(30)
    polls = simulator.count("GET", "/lease") - polls_before
    assert polls >= 10, polls  # the watcher really polled all along ...
    assert kernel.comm_msgs(comm, since=mark) == []  # ... and the widget said nothing
    assert_no_credentials(kernel, simulator)


def test_kernel_stage_changes_at_a_threshold_while_a_cell_sleeps(kernel, simulator) -> None:
    comm = start_widget(kernel)
    simulator.set_lease(remaining=65)  # warning (≤ 5 min); critical at 1 min, 5 s from now
    kernel.wait_for(
        lambda m: (
            m.content.get("comm_id") == comm
            and (m.content.get("data") or {}).get("state", {}).get("stage") == "warning"
        ),
        timeout=5,
        what="stage warning",
    )
    mark = kernel.mark()
    result = kernel.execute("import time; time.sleep(7)")
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
    before = kernel.widget_state(comm)["deadline_ms"]
    mark = kernel.mark()
    extend_through_comm(kernel, comm, "2h", since=mark)
    patches = [r for r in simulator.requests() if r["method"] == "PATCH"]
    assert len(patches) == 1 and patches[0]["status"] == 200
    state = kernel.widget_state(comm)
    assert state["message"] == "Extended: 2 h 00 min left"
    assert abs(state["deadline_ms"] - sim_deadline_ms(simulator)) <= 1000
    assert state["deadline_ms"] != before

    mark = kernel.mark()
    extend_through_comm(kernel, comm, "soon", since=mark)
    message = kernel.widget_state(comm)["message"]
    assert message.startswith("cannot read duration 'soon'") and "\n" not in message
    assert len([r for r in simulator.requests() if r["method"] == "PATCH"]) == 1
    assert kernel.messages(since=mark, msg_type="error") == []
    assert not [m for m in kernel.messages(since=mark, msg_type="stream")]
    assert kernel_value(kernel, "1 + 1") == 2  # the kernel is fine
    assert_no_credentials(kernel, simulator)

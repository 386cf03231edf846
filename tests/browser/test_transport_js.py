"""The widget's two transports (``fetchLease``, ``requestExtend`` in effects.js) under Node,
with a fake page: which requests they make, and when Extend falls back to the kernel; the
view's choice between the kernel's reading and the server's (``newer`` in present.js); and the
channel to the server's other views (channel.js, over Node's own BroadcastChannel).

No browser needed (the real-browser tests cover the same code end to end). Marked ``node``:
skipped without it, a failure in CI (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

import jupyter_lease

pytestmark = pytest.mark.node

HARNESS = r"""
const calls = [];
let answer = null; // (url, init) => {status, body} | throws
let config = null;
globalThis.document = {
  getElementById: (id) => (id === "jupyter-config-data" && config ? {textContent: config} : null),
  cookie: "other=1; _xsrf=2|ab12|cd34|1700000000",
};
globalThis.fetch = async (url, init) => {
  calls.push({url, method: init.method, headers: init.headers, body: init.body,
              credentials: init.credentials});
  const a = answer(url, init);
  return {status: a.status, json: async () => { if (a.body === undefined) throw new Error("x");
                                                 return a.body; }};
};
const m = await import("./effects.js");
const present = await import("./present.js");
const shared = globalThis.__jupyterLeaseCountdown_v1;
const sent = [];
const model = {send: (msg) => sent.push(msg), get: () => null};
const NOW = Date.now() + 60000; // the Jupyter server's clock runs 60 s ahead of the browser's
// What the server extension answers: the reading (ModelArts' clock 2 s ahead of the server's)
// and the server's own clock.
const READING = {v: 1, kind: "timed", deadline_ms: NOW + 2000 + 7200000, clock_offset_ms: 2000,
                 read_at_ms: NOW + 2000 - 5, started_at_ms: NOW, idle_after_ms: null,
                 stale: false, error: null, source: "ModelArts notebook nb", source_id: "nb",
                 can_extend: true, extend_range_ms: [3600000, 259200000], extend_choices: ["2h"]};
const LEASE = {reading: READING, now_ms: NOW};
const results = {now: NOW};
async function run(name, {cfg = '{"baseUrl": "/base/"}', respond}, what) {
  calls.length = 0; sent.length = 0; config = cfg; answer = respond;
  Object.assign(shared.server, {state: "unknown", answer: null, inflight: null,
                                lastAttempt: null});
  Object.assign(shared.clock, {offset: 0, source: "none"});
  let result;
  try { result = await what(); } catch (err) { result = {thrown: String(err)}; }
  results[name] = {result, calls: [...calls], sent: [...sent], state: shared.server.state,
                   clock: {...shared.clock}};
}
const extend = () => m.requestExtend(model, "2h");
const fetchTwice = async () => [await m.fetchLease(), await m.fetchLease()];
await run("no_config", {cfg: null, respond: () => ({status: 200, body: LEASE})}, extend);
await run("ok", {respond: () => ({status: 200, body: LEASE})}, extend);
await run("not_found", {respond: () => ({status: 404, body: {message: "Not Found"}})}, extend);
await run("not_configured", {respond: () => ({status: 503, body: {error: "no lease"}})}, extend);
await run("network", {respond: () => { throw new TypeError("Failed to fetch"); }}, extend);
await run("modelarts_failed", {respond: () => ({status: 502, body: {
  error: "RenewLease: No permission.\n(ModelArts.0108, HTTP 403)", code: "ModelArts.0108",
  request_id: "r1"}})}, extend);
await run("xsrf", {respond: () => ({status: 403, body: {
  message: "'_xsrf' argument missing from POST", reason: null}})}, extend);
await run("html_error", {respond: () => ({status: 500})}, extend);
await run("get_ok", {respond: () => ({status: 200, body: LEASE})}, () => m.fetchLease());
await run("get_old_shape", {respond: () => ({status: 200, body: {kind: "timed", now_ms: NOW}})},
          () => m.fetchLease());
// Newest read wins: a later read, else a fresh one over a stale one, else the later arrival.
const later = {...READING, read_at_ms: READING.read_at_ms + 1};
const stale = {...READING, stale: true, error: "ShowLease: timed out"};
const never = {v: 1, kind: "unknown", read_at_ms: null};
const copy = {...READING};
// A kernel's read 300 ms before, its offset over-measured by 800 ms: older on this host's clock.
const kernel = {...READING, read_at_ms: READING.read_at_ms + 500,
                clock_offset_ms: (READING.clock_offset_ms || 0) + 800};
const n = present.newer;
results.newer = [n(READING, later) === later, n(later, READING) === later,
                 n(READING, stale) === READING, n(stale, READING) === READING,
                 n(copy, READING) === READING, n(null, READING) === READING,
                 n(never, READING) === READING, n(kernel, READING) === READING,
                 n(READING, kernel) === READING];
// Derived on the browser's clock once: the deadline minus both offsets.
results.derived = present.derive(READING, Date.now(), {hostOffsetMs: 60000}).deadlineLocalMs;
await run("get_404", {respond: () => ({status: 404})}, fetchTwice);
await run("get_no_config", {cfg: null, respond: () => ({status: 200, body: LEASE})},
          fetchTwice);
// The channel to the server's other views (channel.js), on a page under /base/.
globalThis.location = {href: "http://127.0.0.1:8888/base/lab/tree/a.ipynb?token=t"};
shared.channel = undefined; // the runs above had no page URL: no channel then
const tick = () => new Promise((resolve) => setTimeout(resolve, 100));
const heard = [];
const other = new BroadcastChannel("jupyter-lease:http://127.0.0.1:8888/base/");
other.onmessage = (event) => heard.push(JSON.parse(event.data));
const SETTINGS = {warn_at_ms: [600000], extend_choices: ["1h"], notifications: true};
const KEEP = {on: false, line: "off", cap_ms: null, last_renewal: null};
await run("channel_extend", {respond: () => ({status: 200,
  body: {...LEASE, settings: SETTINGS, keep_alive: KEEP}})}, extend);
await tick();
results.channel_extend.heard = [...heard];
const tell = async (message) => { other.postMessage(typeof message === "string" ? message
                                                     : JSON.stringify(message)); await tick(); };
const shown = () => shared.server.answer && shared.server.answer.reading.read_at_ms;
// Its offset to the host is its own (59 s, not our 60 s), as read_at_ms must agree with it.
const base = {type: "answer", from: "tab-b", hostOffsetMs: 59000, settings: null, keepAlive: null};
const received = [];
shared.server.lastAttempt = 0;
await tell({...base, reading: {...READING, read_at_ms: READING.read_at_ms + 9}});
received.push([shown(), shared.clock.offset, shared.server.lastAttempt > 0]);
await tell({...base, reading: {...READING, read_at_ms: READING.read_at_ms + 1}}); // older
await tell("not json"); await tell({...base, type: "claim"}); await tell({...base, reading: 7});
received.push([shown(), shared.clock.offset]);
results.channel_receive = {received, heard: heard.length};
results.scopes = [await import("./channel.js").then((c) => [
  c.scopeOf("http://h:1/user/me/lab?x=1", "/user/me/"), c.scopeOf("http://h:1/lab", "/user/me"),
  c.scopeOf("http://h:1/lab", "/"), c.scopeOf(undefined, "/"), c.scopeOf("http://h:1/", null)])];
if (shared.channel) shared.channel.close();
other.close();
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("transport-js")
    static = os.path.join(os.path.dirname(jupyter_lease.__file__), "static")
    for name in ("words.js", "present.js", "channel.js", "effects.js"):
        shutil.copy(os.path.join(static, name), folder / name)
    (folder / "harness.mjs").write_text(HARNESS)
    out = subprocess.run(
        ["node", "harness.mjs"], cwd=folder, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_extend_posts_to_the_server_extension_with_xsrf(results: Dict[str, Any]) -> None:
    ok = results["ok"]
    assert ok["sent"] == []  # not the kernel
    (call,) = ok["calls"]
    assert call["url"] == "/base/jupyter-lease/api/lease/extend"
    assert call["method"] == "POST" and call["credentials"] == "same-origin"
    assert call["headers"]["X-XSRFToken"] == "2|ab12|cd34|1700000000"
    assert call["headers"]["Content-Type"] == "application/json"
    assert json.loads(call["body"]) == {"duration": "2h"}
    reading = ok["result"]["reading"]
    now = results["now"]
    assert ok["result"]["via"] == "server"
    # The reading as the server sent it: the page converts it once, when it derives.
    assert reading["kind"] == "timed" and reading["deadline_ms"] == now + 2000 + 7_200_000
    # The server's clock, anchored to the browser's Date.now() at the request's midpoint.
    assert ok["clock"]["source"] == "lease-api"
    assert ok["clock"]["offset"] == pytest.approx(60_000, abs=1000)


@pytest.mark.parametrize("case", ["no_config", "not_found", "not_configured", "network"])
def test_extend_falls_back_to_the_kernel_where_no_server_extension_answers(
    results: Dict[str, Any], case: str
) -> None:
    got = results[case]
    assert got["result"] == {"via": "kernel"}
    assert got["sent"] == [{"type": "extend", "duration": "2h"}]
    assert len(got["calls"]) == (0 if case == "no_config" else 1)


@pytest.mark.parametrize(
    ("case", "line"),
    [
        ("modelarts_failed", "RenewLease: No permission. (ModelArts.0108, HTTP 403)"),
        ("xsrf", "'_xsrf' argument missing from POST"),
        ("html_error", "extend failed: HTTP 500 from the Jupyter server"),
    ],
)
def test_extend_errors_from_the_server_are_shown_not_retried_through_the_kernel(
    results: Dict[str, Any], case: str, line: str
) -> None:
    got = results[case]
    assert got["result"] == {"via": "server", "error": line}
    assert got["sent"] == []


def test_fetch_lease(results: Dict[str, Any]) -> None:
    got = results["get_ok"]
    (call,) = got["calls"]
    assert call["url"] == "/base/jupyter-lease/api/lease" and call["method"] == "GET"
    assert got["result"]["reading"]["deadline_ms"] == results["now"] + 2000 + 7_200_000
    assert got["state"] == "ok" and got["clock"]["source"] == "lease-api"
    assert results["get_old_shape"]["result"] is None  # not {reading, now_ms}: not a lease
    assert results["get_old_shape"]["state"] == "failing"
    # No server extension: asked once, then never again on this page.
    for case in ("get_404", "get_no_config"):
        assert results[case]["result"] == [None, None]
        assert results[case]["state"] == "absent"
    assert len(results["get_404"]["calls"]) == 1
    assert results["get_no_config"]["calls"] == []


def test_the_newest_read_wins(results: Dict[str, Any]) -> None:
    assert results["newer"] == [True] * 9


def test_the_browser_converts_once_with_both_offsets(results: Dict[str, Any]) -> None:
    # ModelArts 2 s ahead of the serving host, which is 60 s ahead of the browser.
    assert results["derived"] == results["now"] + 7_200_000 - 60_000


def test_the_widget_passes_its_answers_on_to_the_other_views(results: Dict[str, Any]) -> None:
    got = results["channel_extend"]
    assert got["result"]["via"] == "server"
    (message,) = got["heard"]  # the status items' channel of the server under /base/
    keys = {"type", "from", "reading", "hostOffsetMs", "settings", "keepAlive", "notify"}
    assert set(message) == keys
    assert message["type"] == "answer" and message["from"].startswith("widgets-")
    assert message["reading"]["deadline_ms"] == results["now"] + 2000 + 7_200_000
    assert message["hostOffsetMs"] == pytest.approx(60_000, abs=1000)
    # The status item's parsed settings, and the keep-alive summary as served.
    assert message["settings"] == {
        "warnAtMs": [600000],
        "extendChoices": ["1h"],
        "notifications": True,
        "extendDefault": None,  # a server that serves no extend_default
    }
    assert message["keepAlive"]["line"] == "off"


def test_the_widget_takes_the_newer_answers_of_the_other_views(results: Dict[str, Any]) -> None:
    first, last = results["channel_receive"]["received"]
    newest = results["now"] + 2000 - 5 + 9
    # Applied: the reading, the clock offset, and it counts as a read (no GET of our own soon).
    assert first == [newest, 59000, True]
    # An older read, garbage and other message types change nothing; nothing is echoed back.
    assert last == [newest, 59000]
    assert results["channel_receive"]["heard"] == 1


def test_every_view_of_one_server_computes_the_same_scope(results: Dict[str, Any]) -> None:
    [scopes] = results["scopes"]
    assert scopes == ["http://h:1/user/me/", "http://h:1/user/me/", "http://h:1/", None, None]

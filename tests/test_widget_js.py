"""The cell widget's own page lease where no lab extension runs (src/widget/fetch.ts, the lab
extension's LeaseStore and Tabs over it) under Node, with a fake page: which requests it makes,
when Extend has to go to the kernel (the store says "absent"), the clock offset from the lease
API, the newest read winning (present.js's ``newer``), and the channel to the server's other
views (channel.js over Node's own BroadcastChannel).

The modules are bundled by the checkout's esbuild as the widget's bundle is (package.json,
build:widget), so what runs is what src/ says now. No browser needed (the real-browser tests
cover the same code end to end). Marked ``node``: skipped without it, a failure in CI.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parent.parent
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
ENTRY = """
export { fetchTransport } from "ROOT/src/widget/fetch.ts";
export { LeaseStore } from "ROOT/src/store.ts";
export { Tabs } from "ROOT/src/tabs.ts";
export { newer, derive } from "ROOT/jupyter_lease/static/present.js";
export { scopeOf } from "ROOT/jupyter_lease/static/channel.js";
"""
HARNESS = r"""
const calls = [];
let answer = null; // (url, init) => {status, body} | throws
let config = null;
globalThis.document = {
  getElementById: (id) => (id === "jupyter-config-data" && config ? {textContent: config} : null),
  cookie: "other=1; _xsrf=2|ab12|cd34|1700000000",
  addEventListener() {}, removeEventListener() {}, visibilityState: "visible",
};
globalThis.fetch = async (url, init) => {
  calls.push({url, method: init.method, headers: init.headers, body: init.body,
              credentials: init.credentials});
  const a = answer(url, init);
  return {status: a.status, json: async () => { if (a.body === undefined) throw new Error("x");
                                                 return a.body; }};
};
const m = await import("./bundle.mjs");
const NOW = Date.now() + 60000; // the Jupyter server's clock runs 60 s ahead of the browser's
const READING = {v: 1, kind: "timed", deadline_ms: NOW + 2000 + 7200000, clock_offset_ms: 2000,
                 read_at_ms: NOW + 2000 - 5, started_at_ms: NOW, idle_after_ms: null,
                 stale: false, error: null, source: "ModelArts notebook nb", source_id: "nb",
                 can_extend: true, extend_range_ms: [3600000, 259200000], extend_choices: ["2h"]};
const LEASE = {reading: READING, now_ms: NOW};
const results = {now: NOW};
const stores = [];
async function run(name, {cfg = '{"baseUrl": "/base/"}', respond}, what) {
  calls.length = 0; config = cfg; answer = respond;
  const shared = [];
  const store = new m.LeaseStore((a) => shared.push(a), m.fetchTransport);
  stores.push(store);
  let result;
  try { result = await what(store); } catch (err) { result = {thrown: String(err)}; }
  results[name] = {result, calls: [...calls], state: store.state, offset: store.hostOffsetMs,
                   error: store.lastError, shared: shared.length,
                   deadline: store.reading.deadline_ms ?? null};
}
const extend = (store) => store.extend("2h");
await run("no_config", {cfg: null, respond: () => ({status: 200, body: LEASE})},
          (s) => s.refresh());
await run("ok", {respond: () => ({status: 200, body: LEASE})}, extend);
await run("after_read", {respond: () => ({status: 200, body: LEASE})},
          async (s) => { await s.refresh(); return s.extend("2h"); });
await run("not_found", {respond: () => ({status: 404, body: {message: "Not Found"}})},
          (s) => s.refresh());
await run("not_configured", {respond: () => ({status: 503, body: {error: "no lease"}})},
          (s) => s.refresh());
await run("network", {respond: () => { throw new TypeError("Failed to fetch"); }},
          (s) => s.refresh());
await run("modelarts_failed", {respond: () => ({status: 502, body: {
  error: "RenewLease: No permission.\n(ModelArts.0108, HTTP 403)", code: "ModelArts.0108",
  request_id: "r1"}})}, extend);
await run("html_error", {respond: () => ({status: 500})}, extend);
await run("get_ok", {respond: () => ({status: 200, body: LEASE})}, (s) => s.refresh());
await run("get_old_shape", {respond: () => ({status: 200, body: {kind: "timed", now_ms: NOW}})},
          (s) => s.refresh());
// Newest read wins: a later read, else a fresh one over a stale one, else the later arrival.
const later = {...READING, read_at_ms: READING.read_at_ms + 1};
const stale = {...READING, stale: true, error: "ShowLease: timed out"};
const never = {v: 1, kind: "unknown", read_at_ms: null};
const copy = {...READING};
// A kernel's read 300 ms before, its offset over-measured by 800 ms: older on this host's clock.
const kernel = {...READING, read_at_ms: READING.read_at_ms + 500,
                clock_offset_ms: (READING.clock_offset_ms || 0) + 800};
const n = m.newer;
results.newer = [n(READING, later) === later, n(later, READING) === later,
                 n(READING, stale) === READING, n(stale, READING) === READING,
                 n(copy, READING) === READING, n(null, READING) === READING,
                 n(never, READING) === READING, n(kernel, READING) === READING,
                 n(READING, kernel) === READING];
results.derived = m.derive(READING, Date.now(), {hostOffsetMs: 60000}).deadlineLocalMs;
// The channel to the server's other views: the widget page's Tabs, on a page under /base/.
const scope = m.scopeOf("http://127.0.0.1:8888/base/lab/tree/a.ipynb?token=t", "/base/");
const tick = () => new Promise((resolve) => setTimeout(resolve, 100));
const heard = [];
const other = new BroadcastChannel(`jupyter-lease:${scope}`);
other.onmessage = (event) => heard.push(JSON.parse(event.data));
config = '{"baseUrl": "/base/"}';
answer = () => ({status: 200, body: {...LEASE, settings: {warn_at_ms: [600000],
  extend_choices: ["1h"], notifications: true}, keep_alive: {on: false, line: "off"}}});
const tabs = new m.Tabs(scope, (a) => store.accept(a, false));
const store = new m.LeaseStore((a) => tabs.share(a), m.fetchTransport);
stores.push(store);
await store.extend("2h");
await tick();
const tell = async (message) => { other.postMessage(JSON.stringify(message)); await tick(); };
const base = {type: "answer", from: "tab-b", hostOffsetMs: 1234, settings: null, keepAlive: null};
await tell({...base, reading: {...READING, read_at_ms: READING.read_at_ms + 9}});
const first = [store.reading.read_at_ms, store.hostOffsetMs];
await tell({...base, reading: {...READING, read_at_ms: READING.read_at_ms + 1}}); // older
await tell({...base, reading: 7});
results.channel = {heard, first, last: [store.reading.read_at_ms, store.hostOffsetMs]};
tabs.dispose(); other.close();
for (const s of stores) s.dispose();
console.log(JSON.stringify(results));
process.exit(0);
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    if not ESBUILD.is_file():
        pytest.skip("needs the front end's node_modules (npm ci, or make labextension)")
    folder: Path = tmp_path_factory.mktemp("widget-js")
    (folder / "entry.ts").write_text(ENTRY.replace("ROOT", str(ROOT)))
    built = subprocess.run(
        [str(ESBUILD), "entry.ts", "--bundle", "--format=esm", "--outfile=bundle.mjs"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode == 0, built.stderr
    (folder / "harness.mjs").write_text(HARNESS)
    out = subprocess.run(
        ["node", "harness.mjs"], cwd=folder, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_extend_names_the_deadline_it_showed(results: Dict[str, Any]) -> None:
    """basis_ms: a second tab's click or a retry for the same end changes nothing (Slurm)."""
    (_, call) = results["after_read"]["calls"]
    assert json.loads(call["body"]) == {
        "duration": "2h",
        "basis_ms": results["now"] + 2000 + 7_200_000,  # the reading's own, source's clock
    }


def test_extend_posts_to_the_server_extension_with_xsrf(results: Dict[str, Any]) -> None:
    ok = results["ok"]
    (call,) = ok["calls"]
    assert call["url"] == "/base/jupyter-lease/api/lease/extend"
    assert call["method"] == "POST" and call["credentials"] == "same-origin"
    assert call["headers"]["X-XSRFToken"] == "2|ab12|cd34|1700000000"
    assert call["headers"]["Content-Type"] == "application/json"
    assert json.loads(call["body"]) == {"duration": "2h"}
    assert ok["result"] is None and ok["state"] == "ok" and ok["shared"] == 1
    # The reading as the server sent it: the page converts it once, when it derives.
    assert ok["deadline"] == results["now"] + 2000 + 7_200_000
    # The server's clock, anchored to the browser's Date.now() at the request's midpoint.
    assert ok["offset"] == pytest.approx(60_000, abs=1000)


@pytest.mark.parametrize(
    ("case", "state", "calls"),
    [("no_config", "absent", 0), ("not_found", "absent", 1), ("network", "failing", 1)],
)
def test_where_no_server_extension_answers_the_store_says_so(
    results: Dict[str, Any], case: str, state: str, calls: int
) -> None:
    # "absent" or "failing": the widget's Extend goes to the kernel (src/widget/view.ts).
    got = results[case]
    assert got["state"] == state and len(got["calls"]) == calls and got["shared"] == 0
    assert results["not_configured"]["deadline"] is None  # 503: an honest "unknown"


@pytest.mark.parametrize(
    ("case", "line"),
    [
        ("modelarts_failed", "extend: RenewLease: No permission. (ModelArts.0108, HTTP 403)"),
        ("html_error", "extend: the lease API answered HTTP 500"),
    ],
)
def test_extend_errors_from_the_server_are_shown_in_one_line(
    results: Dict[str, Any], case: str, line: str
) -> None:
    assert results[case]["result"] == line


def test_fetch_lease(results: Dict[str, Any]) -> None:
    got = results["get_ok"]
    (call,) = got["calls"]
    assert call["url"] == "/base/jupyter-lease/api/lease" and call["method"] == "GET"
    assert got["deadline"] == results["now"] + 2000 + 7_200_000 and got["state"] == "ok"
    assert results["get_old_shape"]["state"] == "failing"  # not {reading, now_ms}: not a lease


def test_the_newest_read_wins(results: Dict[str, Any]) -> None:
    assert results["newer"] == [True] * 9


def test_the_browser_converts_once_with_both_offsets(results: Dict[str, Any]) -> None:
    # ModelArts 2 s ahead of the serving host, which is 60 s ahead of the browser.
    assert results["derived"] == results["now"] + 7_200_000 - 60_000


def test_the_widget_page_shares_its_answers_and_keeps_its_own(
    results: Dict[str, Any],
) -> None:
    got = results["channel"]
    (message,) = got["heard"]  # the status items' channel of the server under /base/
    assert set(message) == {
        "type",
        "from",
        "reading",
        "hostOffsetMs",
        "settings",
        "keepAlive",
        "notify",
    }
    assert message["reading"]["deadline_ms"] == results["now"] + 2000 + 7_200_000
    assert message["settings"]["warnAtMs"] == [600000]  # the status item's parsed settings
    assert message["settings"]["extendChoices"] == ["1h"]
    # The tab's own answer from the server wins over a peer's (channel.js, src/store.ts), and
    # an older read or garbage changes nothing either.
    own = results["now"] + 2000 - 5
    assert got["first"][0] == own and got["first"][1] == pytest.approx(60_000, abs=1000)
    assert got["last"] == got["first"]

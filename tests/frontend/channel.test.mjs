// channel.js: a message between the views is checked before anyone sees it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { openChannel, plausible, READ_AT_SKEW_MS, wellFormed } from "../../lib/jupyter_lease/static/channel.js";

const NOW = Date.now();
const good = (extra = {}) => ({
  v: 1, kind: "timed", deadline_ms: NOW + 3600e3, clock_offset_ms: 0, read_at_ms: NOW,
  stale: false, error: null, source: "nb", source_id: "nb", can_extend: true,
  extend_range_ms: null, extend_choices: ["1h"], ...extra,
});
const YEAR_2199_MS = Date.UTC(2199, 0, 1);

test("a reading of another shape is not well formed", () => {
  assert.equal(wellFormed(good()), true);
  assert.equal(wellFormed({ v: 1, kind: "stopped" }), true);
  for (const bad of [
    null, [], "x", good({ v: 2 }), good({ kind: "later" }), good({ deadline_ms: "soon" }),
    good({ read_at_ms: Infinity }), good({ stale: "no" }), good({ extend_choices: [1] }),
  ]) {
    assert.equal(wellFormed(bad), false, JSON.stringify(bad));
  }
});

test("a read in the future beyond the skew is not plausible, on the receiver's clock", () => {
  assert.equal(plausible(good(), NOW, 0), true);
  assert.equal(plausible(good({ read_at_ms: NOW + READ_AT_SKEW_MS }), NOW, 0), true);
  assert.equal(plausible(good({ read_at_ms: NOW + READ_AT_SKEW_MS + 1 }), NOW, 0), false);
  assert.equal(plausible(good({ read_at_ms: YEAR_2199_MS }), NOW, 0), false);
  // The source's clock 10 min ahead (clock_offset_ms) and the host's 1 min: still now.
  const ahead = good({ read_at_ms: NOW + 660e3, clock_offset_ms: 600e3 });
  assert.equal(plausible(ahead, NOW, 60e3), true);
  assert.equal(plausible(ahead, NOW, 0), false);
  assert.equal(plausible(good({ read_at_ms: null }), NOW, 0), true); // never read: oldest
});

test("over a BroadcastChannel: a forged reading from 2199 reaches nobody, a good one does", async () => {
  const heard = [];
  const scope = `http://127.0.0.1:1/test-${Math.random()}/`;
  const mine = openChannel(scope, "me", (answer) => heard.push(answer), () => 0);
  const forger = new BroadcastChannel(`jupyter-lease:${scope}`);
  const message = (reading) =>
    JSON.stringify({ type: "answer", from: "other", reading, hostOffsetMs: 0, settings: null, keepAlive: null });
  forger.postMessage(message(good({ read_at_ms: YEAR_2199_MS, deadline_ms: YEAR_2199_MS })));
  forger.postMessage(message(good({ kind: "forever" })));
  forger.postMessage(message(good()));
  const deadline = Date.now() + 5000;
  while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50)); // anything else in flight
  mine.close();
  forger.close();
  assert.equal(heard.length, 1, JSON.stringify(heard));
  assert.equal(heard[0].reading.read_at_ms, NOW);
});

test("the lease answer's notify: the alerts' last outcome, or null when it has another shape", async () => {
  const { leaseAnswer, notifyStatus } = await import("../../lib/jupyter_lease/static/channel.js");
  const notify = { ok: false, error: "threshold alert: json://… HTTP 500; trying again", at: NOW, channels: ["json://…"] };
  assert.deepEqual(leaseAnswer({ reading: good(), notify }, NOW, NOW).notify, notify);
  assert.equal(leaseAnswer({ reading: good() }, NOW, NOW).notify, null); // no channels configured
  for (const bad of [null, [], "x", { ok: "no" }, { error: "x" }]) {
    assert.equal(notifyStatus(bad), null, JSON.stringify(bad));
  }
  const odd = notifyStatus({ ok: true, error: 5, at: "later", channels: ["json://…", 7] });
  assert.deepEqual(odd, { ok: true, error: null, at: null, channels: ["json://…"] });
});

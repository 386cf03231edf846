// stop.ts: the stop in plain words; no Extend for a stopped or run-out lease.
import assert from "node:assert/strict";
import { test } from "node:test";

import { canOffer, honestStop, nextSteps, stopLine } from "../../lib/src/stop.js";
import { derive } from "../../lib/jupyter_lease/static/present.js";

const NOW = 1780000000000;
const reading = (leftMs, extra = {}) => ({
  v: 1, kind: "timed", deadline_ms: NOW + leftMs, clock_offset_ms: 0, read_at_ms: NOW - 60e3,
  stale: false, error: null, source_id: "nb", can_extend: true, ...extra,
});
const view = (r, failing) => honestStop(derive(r, NOW, { warnAt: [60] }), r, failing);

test("a server lost at or after the deadline: stopped on its timer, when, and what next", () => {
  const r = reading(-5000, { stale: true, error: "the Jupyter server cannot be reached" });
  const p = view(r, true);
  assert.equal(p.stage, "stopped");
  assert.equal(p.headline, "the instance has stopped on its timer");
  assert.match(p.detail, /^Stopped at \d\d:\d\d:\d\d .*UTC\)?\. Restart it from the console\./);
  assert.ok(p.detail.endsWith(nextSteps()));
  assert.equal(p.warning, null);
  assert.equal(canOffer(p, r), false);
  const line = stopLine(p);
  assert.match(line, /^The instance has stopped on its timer at .*UTC\)?\. Restart it/);
  assert.ok(line.length <= 140, line.length); // JupyterLab cuts a notification there
});

test("a server lost before the deadline is a stale countdown, not a stop", () => {
  const p = view(reading(30e3, { stale: true }), true);
  assert.equal(p.stage, "critical");
});

test("past the deadline with the server answering: run out, no Extend", () => {
  const r = reading(-5000);
  const p = view(r, false);
  assert.equal(p.stage, "expired");
  assert.equal(canOffer(p, r), false);
});

test("a stopped reading: what to do next, no Extend", () => {
  const r = { v: 1, kind: "stopped", can_extend: true, source_id: "nb" };
  const p = view(r, false);
  assert.equal(p.stage, "stopped");
  assert.equal(p.detail, nextSteps());
  assert.equal(canOffer(p, r), false);
  assert.ok(stopLine(p).startsWith("The instance is not running. Restart it"));
});

test("a live lease the source can extend offers Extend; one it cannot does not", () => {
  assert.equal(canOffer(view(reading(600e3), false), reading(600e3)), true);
  const fixed = reading(600e3, { can_extend: false });
  assert.equal(canOffer(view(fixed, false), fixed), false);
});

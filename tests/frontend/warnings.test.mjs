// warn-due.ts: which warning a repaint calls for (pure, under Node).
import assert from "node:assert/strict";
import { test } from "node:test";

import { warningDue } from "../../lib/src/warn-due.js";
import { derive } from "../../lib/jupyter_lease/static/present.js";

const NOW = 1780000000000;
const WARN_AT = [600, 300, 60];
const reading = (leftMs, extra = {}) => ({
  v: 1, kind: "timed", deadline_ms: NOW + leftMs, clock_offset_ms: 0, read_at_ms: NOW,
  stale: false, error: null, source_id: "nb", ...extra,
});
const due = (leftMs, on = true, extra = {}) => {
  const r = reading(leftMs, extra);
  return warningDue(derive(r, NOW, { warnAt: WARN_AT }), r, on);
};

test("nothing is due before the first threshold", () => {
  assert.equal(due(600e3 + 1), null);
});

test("a threshold is due from its instant on, keyed by source, deadline and threshold", () => {
  assert.deepEqual(due(600e3), { key: `nb|${NOW + 600e3}|600`, deadline: NOW + 600e3 });
  assert.equal(due(300e3 + 1).key, `nb|${NOW + 300e3 + 1}|600`);
});

test("a page opened late warns once, for the most urgent threshold crossed", () => {
  assert.equal(due(59e3).key, `nb|${NOW + 59e3}|60`);
  assert.equal(due(0).key, `nb|${NOW}|60`);
});

test("a new deadline (an extension) is a new key: every threshold re-arms", () => {
  assert.notEqual(due(500e3).key, due(501e3).key);
});

test("nothing is due with notifications off, or without a deadline", () => {
  assert.equal(due(30e3, false), null);
  const idle = { v: 1, kind: "idle", idle_after_ms: 3600e3 };
  assert.equal(warningDue(derive(idle, NOW, { warnAt: WARN_AT }), idle, true), null);
  const noDeadline = reading(30e3, { deadline_ms: undefined });
  assert.equal(warningDue(derive(reading(30e3), NOW, { warnAt: WARN_AT }), noDeadline, true),
    null);
});

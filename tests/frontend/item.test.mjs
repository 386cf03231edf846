// item-text.ts: what the status item says and when it repaints next (pure, under Node).
import assert from "node:assert/strict";
import { test } from "node:test";

import { IDLE_TICK_MS, itemText, itemTooltip, nextChangeMs } from "../../lib/src/item-text.js";
import { derive } from "../../lib/jupyter_lease/static/present.js";

const NOW = 1780000000000;
const timed = (leftMs, extra = {}) => ({
  v: 1, kind: "timed", deadline_ms: NOW + leftMs, clock_offset_ms: 0, read_at_ms: NOW,
  stale: false, error: null, source: "ModelArts notebook 881ed162", source_id: "881ed162",
  ...extra,
});
const at = (leftMs, warnAt = [1800, 600, 300, 60], extra = {}) =>
  derive(timed(leftMs, extra), NOW, { warnAt });

test("the item's words: hours and minutes, then m:ss inside 10 min", () => {
  assert.equal(itemText(at(65 * 60e3), false), "⏳ 1 h 05 min");
  assert.equal(itemText(at(9 * 60e3 + 5e3), false), "⏳ 9:05");
  assert.equal(itemText(at(0), false), "⏳ 0:00");
  assert.equal(itemText(at(-5e3), false), "⏳ 0:00");
});

test("the item says stale, idle, off, stopped and absent honestly", () => {
  assert.equal(itemText(at(9 * 60e3, [60], { stale: true }), false), "⏳ 9:00 · stale");
  const idle = derive({ v: 1, kind: "idle", idle_after_ms: 7200e3 }, NOW);
  assert.equal(itemText(idle, false), "stops after 2 h 00 min idle");
  const idleStale = derive({ v: 1, kind: "idle", idle_after_ms: 3600e3, stale: true }, NOW);
  assert.equal(itemText(idleStale, false), "stops after 1 h 00 min idle · stale");
  assert.equal(itemText(derive({ v: 1, kind: "off" }, NOW), false), "auto-stop is off");
  assert.equal(itemText(derive({ v: 1, kind: "stopped" }, NOW), false),
    "the instance is not running");
  assert.equal(itemText(at(3600e3), true), "lease: no server extension");
});

test("the tooltip: headline, stop time, source; the error when there is no detail", () => {
  const lines = itemTooltip(at(3600e3), "ModelArts notebook 881ed162", null).split("\n");
  assert.equal(lines[0], "Lease: 1 h 00 min left");
  assert.match(lines[1], /^stops \d\d:\d\d:\d\d.*UTC/);
  assert.deepEqual(lines.slice(2), ["source: ModelArts notebook 881ed162",
    "Click for details and Extend"]);
  const unknown = derive({ v: 1, kind: "unknown", read_at_ms: 1 }, NOW);
  assert.deepEqual(itemTooltip(unknown, "", "HTTP 502").split("\n"),
    ["Lease: lease unknown", "HTTP 502", "Click for details and Extend"]);
});

test("inside 10 min the item repaints just after each second", () => {
  assert.equal(nextChangeMs(at(9 * 60e3 + 300), [60]), 300 + 20);
  assert.equal(nextChangeMs(at(5000), [60]), 20); // on the second: the next one at once
});

test("far from the stop: the next half minute, the 10 min mark or a threshold", () => {
  // 1 h 00 min 40 s left: the text rounds to the minute, changes at 1 h 00 min 30 s.
  assert.equal(nextChangeMs(at(3600e3 + 40e3), [1800]), 10e3 + 20);
  // 10 min 10 s left: m:ss starts at 10:00, before the next half minute.
  assert.equal(nextChangeMs(at(610e3), [60]), 10e3 + 20);
  // 45 min 05 s left with a 45 min threshold: the warning 5 s from now, not the half minute.
  assert.equal(nextChangeMs(at(2705e3, [2700]), [2700]), 5e3 + 20);
});

test("a threshold is repainted 20 ms after its instant, never before", () => {
  for (const left of [61e3, 60.5e3, 75e3, 3600e3 + 1]) {
    const p = at(left, [3600, 60]);
    const next = nextChangeMs(p, [3600, 60]);
    const crossing = left > 3600e3 ? left - 3600e3 : left - 60e3;
    assert.ok(next <= crossing + 20 && next > 0, `${left}: ${next} vs ${crossing}`);
    const after = derive(timed(left), NOW + next, { warnAt: [3600, 60] });
    if (next === crossing + 20) assert.notEqual(after.threshold, p.threshold);
  }
});

test("no countdown: the idle safety net", () => {
  assert.equal(nextChangeMs(derive({ v: 1, kind: "off" }, NOW), [60]), IDLE_TICK_MS);
  assert.equal(nextChangeMs(at(0), [60]), IDLE_TICK_MS);
});

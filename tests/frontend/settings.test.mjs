// settings.ts: the user's settings over the server's, read with present.js's duration parser
// (the Python twin's parity: tests/test_present_parity.py) (pure, under Node).
import assert from "node:assert/strict";
import { test } from "node:test";

import { choicesFor, settingsFrom } from "../../lib/src/settings.js";
import {
  DEFAULT_WARN_AT_S,
  parseDuration as seconds,
} from "../../lib/jupyter_lease/static/present.js";

test("seconds reads the durations the settings and Extend use", () => {
  assert.equal(seconds("30m"), 1800);
  assert.equal(seconds("30min"), 1800);
  assert.equal(seconds("1h30m"), 5400);
  assert.equal(seconds(" 1h 30m "), 5400);
  assert.equal(seconds("1.5h"), 5400);
  assert.equal(seconds("2d"), 172800);
  assert.equal(seconds("45s"), 45);
  assert.equal(seconds("1 hour"), 3600); // as core.duration reads it
});

test("seconds refuses anything else", () => {
  for (const bad of ["", "30", "m", "1h x", "-1h", "0m", "1y", "400d", null, 3600, {}]) {
    assert.equal(seconds(bad), null, JSON.stringify(bad));
  }
});

const SERVER = { warnAtMs: [2700000], extendChoices: ["2h", "4h"], notifications: false };

test("the user's thresholds win over the server's, largest first", () => {
  const s = settingsFrom({ warnAt: ["1m", "10m", "nonsense"] }, SERVER);
  assert.deepEqual(s.warnAt, [600, 60]);
});

test("the server's thresholds count where the user set none (the schema's empty list)", () => {
  assert.deepEqual(settingsFrom({ warnAt: [] }, SERVER).warnAt, [2700]);
  assert.deepEqual(settingsFrom({}, SERVER).warnAt, [2700]);
});

test("the built-in thresholds where neither says", () => {
  assert.deepEqual(settingsFrom({}, null).warnAt, [...DEFAULT_WARN_AT_S]);
  assert.deepEqual(settingsFrom({ warnAt: ["x"] }, null).warnAt, [...DEFAULT_WARN_AT_S]);
});

test("flags: the user's boolean, else the server's notifications, else on", () => {
  assert.equal(settingsFrom({}, SERVER).notifications, true); // toasts: the user's only
  assert.equal(settingsFrom({ notifications: false }, SERVER).notifications, false);
  assert.equal(settingsFrom({}, SERVER).browserNotifications, false); // the server's
  assert.equal(settingsFrom({ browserNotifications: true }, SERVER).browserNotifications, true);
  assert.equal(settingsFrom({ browserNotifications: "yes" }, null).browserNotifications, true);
});

test("extend choices: the server's where set, else null (the source's)", () => {
  assert.deepEqual(settingsFrom({}, SERVER).extendChoices, ["2h", "4h"]);
  assert.equal(settingsFrom({}, { ...SERVER, extendChoices: [] }).extendChoices, null);
  assert.equal(settingsFrom({}, null).extendChoices, null);
});

test("choicesFor keeps what the source accepts", () => {
  const range = [3600000, 14400000]; // 1 h to 4 h
  assert.deepEqual(choicesFor(null, ["1h", "2h"], range), ["1h", "2h"]);
  assert.deepEqual(choicesFor(["30m", "1h", "4h", "5h", "x"], ["1h"], range), ["1h", "4h"]);
  assert.deepEqual(choicesFor(["30m", "x"], ["1h"], null), ["30m", "x"]);
});

// choices.ts: Extend offers only what lengthens the lease, the one default first.
import assert from "node:assert/strict";
import { test } from "node:test";

import { choiceLabel, firstChoice, lengthening } from "../../lib/src/choices.js";

const ALL = ["1h", "2h", "4h", "8h"];
const H = 3600e3;

test("a choice no longer than the time left is not offered (RenewLease counts from now)", () => {
  assert.deepEqual(lengthening(ALL, 2 * H), ["4h", "8h"]);
  assert.deepEqual(lengthening(ALL, 2 * H - 1), ["2h", "4h", "8h"]);
  assert.deepEqual(lengthening(ALL, 59 * 60e3), ALL);
  assert.deepEqual(lengthening(ALL, 9 * H), []);
});

test("with the time left unknown every choice is offered; nonsense never is", () => {
  assert.deepEqual(lengthening(ALL, null), ALL);
  assert.deepEqual(lengthening(["soon", "1h"], 0), ["1h"]);
});

test("the default comes first where offered, else the shortest at least as long", () => {
  assert.equal(firstChoice(ALL, "1h"), "1h");
  assert.equal(firstChoice(ALL, "2h"), "2h");
  assert.equal(firstChoice(["2h", "4h"], "1h"), "2h");
  assert.equal(firstChoice(["4h", "2h"], "3h"), "4h");
  assert.equal(firstChoice(["1h", "2h"], "5h"), "1h"); // none as long: the shortest
  assert.equal(firstChoice(["60m", "2h"], "1h"), "60m"); // the same duration, spelt otherwise
  assert.equal(firstChoice([], "1h"), null);
});

test("the button's words", () => {
  assert.equal(choiceLabel("1h"), "1 h");
  assert.equal(choiceLabel("90m"), "90 min");
  assert.equal(choiceLabel("1h30m"), "1 h 30 min");
  assert.equal(choiceLabel("1h", "zh-CN"), "1 小时");
  assert.equal(choiceLabel("90m", "zh_CN"), "90 分");
  assert.equal(choiceLabel("2d", "zh-CN"), "2 天");
});

// keepalive-text.ts: what the panel and the renewal toast say (pure, under Node).
import assert from "node:assert/strict";
import { test } from "node:test";

import { renewalText, usedText } from "../../lib/src/keepalive-text.js";

const H = 3600e3;
const view = (renewals, since = 0, cap = 8 * H) => ({
  on: true, line: "on", cap_ms: cap === null ? null : since + cap, last_renewal: null,
  since_ms: since, renewals, status: "ok",
});
const renewal = (at, added, why = "t.ipynb was running") =>
  ({ at_ms: at, why, until_ms: at + added, added_ms: added });

test("used: whole hours", () => {
  assert.equal(usedText(view([renewal(10, H), renewal(20, H)])), "2 of at most 8 h used");
});

test("used: hours and minutes otherwise; renewals before the policy don't count", () => {
  const v = view([renewal(5, 2 * H), renewal(20, 1.5 * H)], 10);
  assert.equal(usedText(v), "1 h 30 min of at most 8 h 00 min used");
});

test("used: nothing without a cap", () => {
  assert.equal(usedText(view([renewal(10, H)], 0, null)), "");
  assert.equal(usedText({ ...view([]), since_ms: null }), "");
});

test("the renewal's toast: by how much, why, and how much of the cap", () => {
  assert.equal(renewalText(renewal(10, H), view([renewal(10, H)])),
    "Extended by 1 h while t.ipynb is running — 1 of at most 8 h used");
  assert.equal(renewalText(renewal(10, 1.5 * H, "2 notebooks were running"), null),
    "Extended by 1 h 30 min while 2 notebooks are running");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { explainViolations, nextCheckMs, tokenUsable, untilText } from "../../src/lib/ops.js";

test("the time left until a pending operation takes effect", () => {
  assert.equal(untilText(180_000, 0), "in 3 min 00 s");
  assert.equal(untilText(1_500, 0), "in 2 s");
  assert.equal(untilText(0, 0), "due now");
  assert.equal(untilText(0, 5_000), "due now");
});

test("a pending operation is read again at its effective time, then every few seconds", () => {
  assert.equal(nextCheckMs(10_000, 0), 11_000);
  assert.equal(nextCheckMs(10_000, 10_000), 5_000);
  assert.equal(nextCheckMs(10_000, 20_000, 2_000), 2_000);
});

test("a secondary-auth token is reused until a minute before it expires", () => {
  assert.equal(tokenUsable(undefined, 0), false);
  assert.equal(tokenUsable(30 * 60_000, 0), true);
  assert.equal(tokenUsable(30 * 60_000, 29 * 60_000), false);
  assert.equal(tokenUsable(30 * 60_000, 29 * 60_000 - 1), true);
});

test("precondition violations read as type (subject): description", () => {
  assert.deepEqual(explainViolations([{ type: "APP_STATUS", subject: "apps/1", description: "disable it first" }, { type: "X", subject: "", description: "y" }]), ["APP_STATUS (apps/1): disable it first", "X: y"]);
});

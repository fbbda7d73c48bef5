import assert from "node:assert/strict";
import { test } from "node:test";
import { fromLocalInput, presetRange, roundingDifference, sumTotals, toLocalInput } from "../../src/lib/usage.js";

test("a preset ends at the next 5-minute boundary", () => {
  const now = Date.UTC(2024, 4, 1, 14, 3, 20);
  const r = presetRange(24, now);
  assert.equal(new Date(r.end).toISOString(), "2024-05-01T14:05:00.000Z");
  assert.equal(r.end - r.start, 24 * 3_600_000);
  assert.equal(presetRange(1, Date.UTC(2024, 4, 1, 14, 5)).end, Date.UTC(2024, 4, 1, 14, 5));
});

test("datetime-local text round-trips in the local zone", () => {
  const ms = new Date(2024, 4, 1, 9, 7).getTime();
  assert.equal(toLocalInput(ms), "2024-05-01T09:07");
  assert.equal(fromLocalInput("2024-05-01T09:07"), ms);
  assert.ok(Number.isNaN(fromLocalInput("")));
  assert.ok(Number.isNaN(fromLocalInput("yesterday")));
});

test("R16: line minutes summed exceed the settled minutes by the rounding of each line", () => {
  // Three lines of 30 s: 1 + 1 + 1 line minutes; 90 s settled: 2 minutes.
  assert.equal(roundingDifference({ lineMinutes: 3, settledMinutes: 2 }), 1);
  assert.deepEqual(sumTotals([{ lineMinutes: 3, settledMinutes: 2 }, { lineMinutes: 5, settledMinutes: 5 }]), { lineMinutes: 8, settledMinutes: 7 });
  assert.deepEqual(sumTotals([]), { lineMinutes: 0, settledMinutes: 0 });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { durationSeconds, formatClock, formatCount, formatDuration, formatLocal, formatPercent, formatUtc, timestampMs } from "../../src/lib/format.js";

const T = Date.UTC(2024, 4, 1, 12, 3, 20); // 2024-05-01 12:03:20 UTC

test("instants read in the given zone, UTC on hover", () => {
  assert.equal(formatLocal(T, "UTC"), "2024-05-01 12:03:20");
  assert.equal(formatLocal(T, "Asia/Shanghai"), "2024-05-01 20:03:20");
  assert.equal(formatLocal(T, "America/New_York"), "2024-05-01 08:03:20");
  assert.equal(formatClock(T, "Asia/Shanghai"), "20:03:20");
  assert.equal(formatUtc(T), "2024-05-01 12:03:20 UTC");
});

test("midnight is 00, not 24", () => {
  assert.equal(formatLocal(Date.UTC(2024, 0, 1, 0, 0, 5), "UTC"), "2024-01-01 00:00:05");
});

test("durations", () => {
  assert.equal(formatDuration(0), "0 s");
  assert.equal(formatDuration(42.9), "42 s");
  assert.equal(formatDuration(185), "3 min 05 s");
  assert.equal(formatDuration(3600 + 120 + 7), "1 h 02 min");
  assert.equal(formatDuration(-3), "0 s");
});

test("percentages and counts", () => {
  assert.equal(formatPercent(4.25), "4.3 %");
  assert.equal(formatPercent(0, 2), "0.00 %");
  assert.equal(formatPercent(undefined), "–");
  assert.equal(formatPercent(Number.NaN), "–");
  assert.equal(formatCount(12345), "12,345");
  assert.equal(formatCount(1400000001n), "1,400,000,001");
});

test("protobuf timestamps and durations", () => {
  assert.equal(timestampMs({ seconds: 1714564999n, nanos: 999_999_999 }), 1714564999999);
  assert.equal(timestampMs(undefined), undefined);
  assert.equal(durationSeconds({ seconds: 10n, nanos: 500_000_000 }), 10.5);
  assert.equal(durationSeconds(undefined), 0);
});

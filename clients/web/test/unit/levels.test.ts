import assert from "node:assert/strict";
import { test } from "node:test";
import { bandOf, inRange, isMarked, qualityLevelName, qualityTone, QUALITY_LEVEL, stallLevelName, stallTone, strips, type Band } from "../../src/lib/levels.js";

// The shape GetQualityThresholds serves for packet loss: best [0,0], good (0,2), fair [2,5), poor [5,10), severe [10,100].
const LOSS: Band[] = [
  { level: QUALITY_LEVEL.BEST, range: { lower: 0, lowerInclusive: true, upper: 0, upperInclusive: true } },
  { level: QUALITY_LEVEL.GOOD, range: { lower: 0, lowerInclusive: false, upper: 2, upperInclusive: false } },
  { level: QUALITY_LEVEL.FAIR, range: { lower: 2, lowerInclusive: true, upper: 5, upperInclusive: false } },
  { level: QUALITY_LEVEL.POOR, range: { lower: 5, lowerInclusive: true, upper: 10, upperInclusive: false } },
  { level: QUALITY_LEVEL.SEVERE, range: { lower: 10, lowerInclusive: true, upper: 100, upperInclusive: true } },
];

test("edges are open unless inclusive; unset edges are unbounded", () => {
  assert.equal(inRange(2, { lower: 0, lowerInclusive: false, upper: 2, upperInclusive: false }), false);
  assert.equal(inRange(2, { lower: 2, lowerInclusive: true, upperInclusive: false }), true);
  assert.equal(inRange(-1e9, { lowerInclusive: false, upper: 0, upperInclusive: true }), true);
  assert.equal(inRange(0, { lower: 0, lowerInclusive: false, upperInclusive: false }), false);
});

test("every value falls in exactly the band the thresholds say", () => {
  assert.equal(bandOf(0, LOSS)?.level, QUALITY_LEVEL.BEST);
  assert.equal(bandOf(0.1, LOSS)?.level, QUALITY_LEVEL.GOOD);
  assert.equal(bandOf(2, LOSS)?.level, QUALITY_LEVEL.FAIR);
  assert.equal(bandOf(9.99, LOSS)?.level, QUALITY_LEVEL.POOR);
  assert.equal(bandOf(10, LOSS)?.level, QUALITY_LEVEL.SEVERE);
  assert.equal(bandOf(100.5, LOSS), undefined);
});

test("only poor and severe are marked", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(isMarked), [false, false, false, false, true, true]);
  assert.equal(qualityLevelName(QUALITY_LEVEL.SEVERE), "severe");
  assert.equal(qualityTone(QUALITY_LEVEL.GOOD), "ok");
  assert.equal(qualityTone(QUALITY_LEVEL.FAIR), "fair");
  assert.equal(qualityTone(QUALITY_LEVEL.POOR), "bad");
  assert.equal(qualityTone(0), "none");
});

test("stall levels name the seed's colours", () => {
  assert.deepEqual([1, 2, 3].map(stallLevelName), ["low", "high", "very high"]);
  assert.deepEqual([0, 1, 2, 3, 9].map(stallTone), ["none", "ok", "fair", "bad", "none"]);
});

test("strips are clipped to the chart's range and empty ones dropped", () => {
  assert.deepEqual(
    strips(LOSS, 0, 7).map((s) => [s.from, s.to, s.level]),
    [
      [0, 2, QUALITY_LEVEL.GOOD],
      [2, 5, QUALITY_LEVEL.FAIR],
      [5, 7, QUALITY_LEVEL.POOR],
    ],
  );
  assert.deepEqual(strips([{ level: 1, range: { lowerInclusive: false, upperInclusive: false } }], 0, 3), [{ from: 0, to: 3, level: 1 }]);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeSlots, slotColumns, SLOT_MS, type SlotPoint } from "../../src/lib/series.js";

const at = (slot: number, users: number): SlotPoint => ({ t: slot * SLOT_MS, onlineUsers: users, abnormalUsers: 0, onlineRooms: 1, videoStall: 0, audioStall: 0 });

test("a frame appends its slot; a re-sent slot replaces the old figures", () => {
  const merged = mergeSlots([at(1, 3), at(2, 4)], [at(3, 5), at(2, 6)], 100);
  assert.deepEqual(merged.map((p) => [p.t / SLOT_MS, p.onlineUsers]), [[1, 3], [2, 6], [3, 5]]);
});

test("late and replayed frames land in order", () => {
  const merged = mergeSlots([at(5, 1)], [at(3, 1), at(4, 1)], 100);
  assert.deepEqual(merged.map((p) => p.t / SLOT_MS), [3, 4, 5]);
});

test("the window keeps the newest points only", () => {
  const merged = mergeSlots([at(1, 0), at(2, 0), at(3, 0)], [at(4, 0)], 2);
  assert.deepEqual(merged.map((p) => p.t / SLOT_MS), [3, 4]);
});

test("columns are on the slot grid with a null for a skipped slot", () => {
  const cols = slotColumns([at(1, 3), at(2, 4), at(4, 7)], [(p) => p.onlineUsers, (p) => p.onlineRooms], SLOT_MS);
  assert.deepEqual(cols, [[10, 20, 30, 40], [3, 4, null, 7], [1, 1, null, 1]]);
  assert.deepEqual(slotColumns([], [(p: SlotPoint) => p.onlineUsers], SLOT_MS), [[], []]);
});

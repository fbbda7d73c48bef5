import assert from "node:assert/strict";
import { test } from "node:test";
import { ariaSort, breakdownRows, nextSort, Pager } from "../../src/lib/tables.js";

test("a header click flips its own column and starts another in its natural direction", () => {
  const byUsers = { key: "users", ascending: false };
  assert.deepEqual(nextSort(byUsers, "users"), { key: "users", ascending: true });
  assert.deepEqual(nextSort(byUsers, "room", (k) => k === "room"), { key: "room", ascending: true });
  assert.deepEqual(nextSort(byUsers, "abnormal"), { key: "abnormal", ascending: false });
  assert.equal(ariaSort(byUsers, "users"), "descending");
  assert.equal(ariaSort({ key: "users", ascending: true }, "users"), "ascending");
  assert.equal(ariaSort(byUsers, "room"), "none");
});

test("the pager walks forward with the server's tokens and back by popping", () => {
  const p = new Pager();
  assert.equal(p.current, "");
  assert.equal(p.hasNext, false);
  p.answered("t1");
  assert.equal(p.hasNext, true);
  assert.equal(p.forward(), "t1");
  assert.equal(p.index, 1);
  assert.equal(p.hasNext, false); // until the second page answers
  p.answered("t2");
  assert.equal(p.forward(), "t2");
  assert.equal(p.back(), "t1");
  assert.equal(p.hasPrevious, true);
  assert.equal(p.back(), "");
  assert.equal(p.back(), "");
  assert.equal(p.index, 0);
  p.answered("x");
  p.forward();
  p.reset();
  assert.equal(p.index, 0);
  assert.equal(p.hasNext, false);
});

const v = (value: string, onlineUsers: number) => ({ value, onlineUsers, abnormalUsers: 0, videoStall: 0, audioStall: 0 });

test("breakdown rows: shares of all online users, the rest only when values were summed", () => {
  const rows = breakdownRows([v("wifi", 6), v("4g", 2)], v("", 2), 4);
  assert.deepEqual(rows.map((r) => [r.kind, r.value, r.share]), [["value", "wifi", 60], ["value", "4g", 20], ["rest", "", 20]]);
  assert.deepEqual(breakdownRows([v("wifi", 3)], v("", 0), 1).map((r) => r.kind), ["value"]);
  assert.deepEqual(breakdownRows([], v("", 0), 0), []);
  assert.equal(breakdownRows([v("a", 0)], undefined, 1)[0]!.share, 0);
});

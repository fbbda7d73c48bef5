import assert from "node:assert/strict";
import { test } from "node:test";
import { csvField, parseCsv, toCsv } from "../../src/lib/csv.js";

test("fields are quoted only when needed, quotes doubled", () => {
  assert.equal(csvField("room_1"), "room_1");
  assert.equal(csvField('a "b", c'), '"a ""b"", c"');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvField(" padded"), '" padded"');
  assert.equal(csvField(null), "");
  assert.equal(csvField(1400000001n), "1400000001");
});

test("text a spreadsheet would run as a formula is defused; numbers are not", () => {
  assert.equal(csvField("=HYPERLINK(1)"), "'=HYPERLINK(1)");
  assert.equal(csvField("@user"), "'@user");
  assert.equal(csvField("-3"), "-3");
  assert.equal(csvField(-3), "-3");
});

test("a document is CRLF-terminated rows and parses back", () => {
  const text = toCsv(["room", "users"], [["r,1", 3], ['say "hi"', 0]]);
  assert.equal(text, 'room,users\r\n"r,1",3\r\n"say ""hi""",0\r\n');
  assert.deepEqual(parseCsv(text), [["room", "users"], ["r,1", "3"], ['say "hi"', "0"]]);
});

/** The callback `Sign` check over raw body bytes and the body parser (no server: see grpc.test.ts). */

import assert from "node:assert/strict";
import { test } from "node:test";
import { CallbackFormatError, parseEvent, sign, verifySignature } from "../src/index.js";
import { VECTORS } from "./support/tokens.js";

test("Sign is base64 of HMAC-SHA256 of the body (the Python tests' vector)", () => {
  for (const v of VECTORS.callbackSign) {
    assert.equal(sign(v.key, Buffer.from(v.body)), Buffer.from(v.hmacHex, "hex").toString("base64"));
    assert.equal(sign(v.key, v.body), sign(v.key, Buffer.from(v.body)));
  }
});

test("verifySignature accepts only the exact bytes and key", () => {
  const body = Buffer.from('{"EventType":103}');
  const good = sign("k1", body);
  assert.ok(verifySignature("k1", body, good));
  assert.ok(verifySignature("k1", body, ` ${good} `));
  assert.ok(!verifySignature("k2", body, good));
  assert.ok(!verifySignature("k1", Buffer.concat([body, Buffer.from(" ")]), good));
  assert.ok(!verifySignature("k1", Buffer.from('{"EventType": 103}'), good)); // re-serialised JSON is not the body
  assert.ok(!verifySignature("k1", body, ""));
  assert.ok(!verifySignature("k1", body, undefined));
  assert.ok(!verifySignature("k1", body, "not base64 ✓"));
});

const BODY = JSON.stringify({
  EventGroupId: 1,
  EventType: 103,
  CallbackTs: 1777863722987,
  EventInfo: {
    RoomId: 42,
    EventTs: 1777863721,
    EventMsTs: 1777863721987,
    UserId: "u",
    Role: 21,
    Reason: 1,
    UniqueId: 7,
    TerminalType: 2,
    UserType: 3,
  },
  EventId: "ev-1",
  RoomSeq: 7,
  EventTime: "2026-05-04T03:02:01.987Z",
  SendTime: "2026-05-04T03:02:02.987Z",
});

test("parseEvent reads a callback body", () => {
  const event = parseEvent(Buffer.from(BODY));
  assert.deepEqual([event.eventGroup, event.eventType, event.typeName], [1, 103, "user_entered"]);
  assert.deepEqual([event.eventId, event.roomSeq, event.roomId, event.userId], ["ev-1", 7, 42, "u"]);
  assert.deepEqual(
    [event.role, event.reason, event.uniqueId, event.terminalType, event.userType, event.test],
    [21, 1, 7, 2, 3, false],
  );
  assert.equal(event.eventTime.toISOString(), "2026-05-04T03:02:01.987Z");
  assert.equal(event.sendTime.getTime() - event.eventTime.getTime(), 1000);
  const plain = parseEvent(
    JSON.stringify({
      EventGroupId: 2,
      EventType: 201,
      CallbackTs: 5000,
      EventInfo: { RoomId: "r", EventTs: 4 },
    }),
  );
  assert.deepEqual(
    [plain.eventMs, plain.eventTime.getTime(), plain.sendTime.getTime(), plain.eventId, plain.roomSeq],
    [4000, 4000, 5000, "", 0],
  );
});

test("parseEvent names what is wrong", () => {
  for (const bad of [
    "[]",
    "{",
    '{"EventInfo": 1}',
    '{"EventInfo": {"RoomId": true}, "CallbackTs": 1}',
    '{"EventInfo": {"RoomId": 1}, "CallbackTs": "1"}',
  ]) {
    assert.throws(() => parseEvent(bad), CallbackFormatError, bad);
  }
  const noZone = BODY.replace("2026-05-04T03:02:01.987Z", "2026-05-04T03:02:01.987");
  assert.throws(() => parseEvent(noZone), /EventTime is not RFC 3339/);
});

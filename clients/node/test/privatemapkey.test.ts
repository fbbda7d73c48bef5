/** PrivateMapKey: the Python helpers' golden vectors, the npm reference both ways, every reason. */

import assert from "node:assert/strict";
import { mock, test } from "node:test";
import * as tls from "tls-sig-api-v2";
import {
  Privilege,
  UserSigInputError,
  VerificationFailure as F,
  decodePrivateMapUserbuf,
  encodePrivateMapUserbuf,
  generatePrivateMapKey,
  generateUserSig,
  verifyPrivateMapKey,
  MalformedUserbufError,
} from "../src/index.js";
import { KEY, NOW, SDK, VECTORS, inflate, integer, prng, userId } from "./support/tokens.js";

function reference<T>(now: number, make: () => T): T {
  const frozen = mock.method(Date, "now", () => now * 1000);
  try {
    return make();
  } finally {
    frozen.mock.restore();
  }
}

type Room = { roomId: number } | { strRoomId: string };

function verify(
  token: string,
  options: { user?: string; now?: number; required?: number; room?: Room } = {},
) {
  return verifyPrivateMapKey(token, {
    sdkAppId: SDK,
    secretKey: KEY,
    userId: options.user ?? "alice",
    now: options.now ?? NOW,
    required: options.required,
    ...(options.room ?? { roomId: 1234 }),
  });
}

function pmk(options: { user?: string; expire?: number; privileges?: number; room?: Room } = {}): string {
  return generatePrivateMapKey({
    sdkAppId: SDK,
    secretKey: KEY,
    userId: options.user ?? "alice",
    expireSeconds: options.expire ?? 3600,
    now: NOW,
    privileges: options.privileges,
    ...(options.room ?? { roomId: 1234 }),
  });
}

test("privilege bits", () => {
  assert.equal(Privilege.ENTER_ROOM | Privilege.RECEIVE_AUDIO | Privilege.RECEIVE_VIDEO, 42);
  assert.equal(Privilege.ALL, 255);
});

test("the golden vectors of tests/unit/test_privatemapkey.py", () => {
  for (const v of VECTORS.privateMapKey) {
    const room: Room = v.roomId !== undefined ? { roomId: v.roomId } : { strRoomId: v.strRoomId };
    const token = generatePrivateMapKey({
      ...room,
      sdkAppId: v.sdkAppId,
      secretKey: v.secretKey,
      userId: v.userId,
      expireSeconds: v.expireSeconds,
      now: v.now,
      privileges: v.privileges,
    });
    assert.equal(inflate(token), v.inflated);
    const doc = JSON.parse(v.inflated) as Record<string, string>;
    if (v.userbufHex !== undefined)
      assert.equal(Buffer.from(doc["TLS.userbuf"] ?? "", "base64").toString("hex"), v.userbufHex);
    const result = verifyPrivateMapKey(token, {
      ...room,
      sdkAppId: v.sdkAppId,
      secretKey: v.secretKey,
      userId: v.userId,
      now: v.now,
      required: v.privileges,
    });
    assert.ok(result.ok, result.reason);
    assert.equal(result.privateMap?.expiresAt, v.now + v.expireSeconds);
  }
});

test("npm tls-sig-api-v2 keys verify with ours, and ours carry the same claims and signature", () => {
  const random = prng(14);
  for (let i = 0; i < 200; i += 1) {
    const [sdk, user, privileges] = [
      integer(random, 1, 2 ** 32 - 1),
      userId(random, true),
      integer(random, 0, 255),
    ];
    const [expire, now] = [integer(random, 1, 2 ** 31 - 1), integer(random, 0, 2 ** 31)];
    const room: Room =
      i % 2 === 0 ? { roomId: integer(random, 1, 2 ** 32 - 1) } : { strRoomId: userId(random, true) };
    const api = new tls.Api(sdk, KEY);
    const theirs = reference(now, () =>
      "roomId" in room
        ? api.genPrivateMapKey(user, expire, room.roomId, privileges)
        : api.genPrivateMapKeyWithStringRoomID(user, expire, room.strRoomId, privileges),
    );
    const result = verifyPrivateMapKey(theirs, {
      ...room,
      sdkAppId: sdk,
      secretKey: KEY,
      userId: user,
      now,
      required: privileges,
    });
    assert.ok(result.ok, `${result.reason} for ${JSON.stringify({ sdk, user, room, now, expire })}`);
    assert.equal(result.privateMap?.privileges, privileges);
    const ours = generatePrivateMapKey({
      ...room,
      sdkAppId: sdk,
      secretKey: KEY,
      userId: user,
      expireSeconds: expire,
      now,
      privileges,
    });
    assert.deepEqual(JSON.parse(inflate(ours)), JSON.parse(inflate(theirs)));
  }
});

test("the userbuf round-trips and is decoded strictly", () => {
  const numeric = encodePrivateMapUserbuf({
    sdkAppId: SDK,
    userId: "xiaojun",
    roomId: 10000,
    expiresAt: NOW + 86400,
    privileges: 255,
  });
  assert.equal(
    Buffer.from(numeric).toString("hex"),
    "0000077869616f6a756e53724e000000271065554280000000ff00000000",
  );
  assert.deepEqual(decodePrivateMapUserbuf(numeric), {
    version: 0,
    account: "xiaojun",
    sdkAppId: SDK,
    roomId: 10000,
    strRoomId: undefined,
    expiresAt: NOW + 86400,
    privileges: 255,
    accountType: 0,
  });
  const named = encodePrivateMapUserbuf({
    sdkAppId: SDK,
    userId: "用户",
    strRoomId: "房间",
    expiresAt: 1,
    privileges: 2,
  });
  assert.equal(decodePrivateMapUserbuf(named).strRoomId, "房间");
  const bytes = Buffer.from(named);
  for (const broken of [
    bytes.subarray(0, -1),
    Buffer.concat([bytes, Buffer.from([0])]),
    Buffer.from([2, ...bytes.subarray(1)]),
    Buffer.alloc(0),
  ]) {
    assert.throws(() => decodePrivateMapUserbuf(broken), MalformedUserbufError);
  }
});

test("every reason is reachable", () => {
  const good = pmk({ privileges: Privilege.ENTER_ROOM });
  const userbuf = (overrides: Partial<Parameters<typeof encodePrivateMapUserbuf>[0]>) =>
    generateUserSig({
      sdkAppId: SDK,
      secretKey: KEY,
      userId: "alice",
      expireSeconds: 3600,
      now: NOW,
      userbuf: encodePrivateMapUserbuf({
        sdkAppId: SDK,
        userId: "alice",
        roomId: 1234,
        expiresAt: NOW + 3600,
        ...overrides,
      } as Parameters<typeof encodePrivateMapUserbuf>[0]),
    });
  const cases: [string, ReturnType<typeof verify>][] = [
    [F.MALFORMED, verify("nope")],
    [
      F.SIGNATURE_MISMATCH,
      verifyPrivateMapKey(good, {
        sdkAppId: SDK,
        secretKey: "other",
        userId: "alice",
        roomId: 1234,
        now: NOW,
      }),
    ],
    [F.IDENTIFIER_MISMATCH, verify(good, { user: "bob" })],
    [
      F.USERBUF_MISSING,
      verify(generateUserSig({ sdkAppId: SDK, secretKey: KEY, userId: "alice", now: NOW })),
    ],
    [
      F.USERBUF_MALFORMED,
      verify(
        generateUserSig({
          sdkAppId: SDK,
          secretKey: KEY,
          userId: "alice",
          now: NOW,
          userbuf: Buffer.from("x"),
        }),
      ),
    ],
    [F.ACCOUNT_MISMATCH, verify(userbuf({ userId: "bob" }))],
    [F.SDK_APP_ID_MISMATCH, verify(userbuf({ sdkAppId: SDK + 1 }))],
    [F.ROOM_MISMATCH, verify(good, { room: { roomId: 1235 } })],
    [F.ROOM_MISMATCH, verify(pmk({ room: { strRoomId: "1234" } }))],
    [F.EXPIRED, verify(good, { now: NOW + 3601 })],
    [F.USERBUF_EXPIRED, verify(userbuf({ expiresAt: NOW - 1 }))],
    [F.PRIVILEGE_MISSING, verify(good, { required: Privilege.SEND_AUDIO })],
  ];
  for (const [reason, result] of cases) assert.equal(result.reason, reason);
  assert.ok(verify(good).ok && verify(good, { now: NOW + 3600 }).ok);
});

test("our own arguments are checked", () => {
  const base = { sdkAppId: SDK, secretKey: KEY, userId: "alice", now: NOW };
  assert.throws(() => generatePrivateMapKey({ ...base, roomId: 0 }), UserSigInputError);
  assert.throws(
    () => generatePrivateMapKey({ ...base, roomId: 1, strRoomId: "x" } as never),
    UserSigInputError,
  );
  assert.throws(() => generatePrivateMapKey({ ...base, roomId: 1, privileges: 256 }), UserSigInputError);
  assert.throws(
    () => generatePrivateMapKey({ ...base, roomId: 1, now: 2 ** 32 - 10, expireSeconds: 11 }),
    UserSigInputError,
  );
  assert.throws(() => verifyPrivateMapKey("x", { ...base, strRoomId: "" }), UserSigInputError);
});

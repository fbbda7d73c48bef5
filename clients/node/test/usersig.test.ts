/** UserSig: the Python helpers' vectors, the npm reference `tls-sig-api-v2` both ways, every reason. */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mock, test } from "node:test";
import * as tls from "tls-sig-api-v2";
import {
  DEFAULT_EXPIRE_SECONDS,
  MAX_INFLATED_BYTES,
  MAX_TOKEN_CHARS,
  UserSigInputError,
  VerificationFailure as F,
  generateUserSig,
  verifyUserSig,
} from "../src/index.js";
import { KEY, NOW, SDK, VECTORS, inflate, integer, prng, toToken, userId } from "./support/tokens.js";

/** The npm reference with `Date.now` frozen at `now` (unix seconds) while it runs. */
function reference<T>(now: number, make: () => T): T {
  const frozen = mock.method(Date, "now", () => now * 1000);
  try {
    return make();
  } finally {
    frozen.mock.restore();
  }
}

function check(token: unknown, options: { user?: string; now?: number; expectUserbuf?: boolean } = {}) {
  return verifyUserSig(token as string, {
    sdkAppId: SDK,
    secretKey: KEY,
    userId: options.user ?? "alice",
    now: options.now ?? NOW,
    expectUserbuf: options.expectUserbuf ?? false,
  });
}

/** A document signed by an oracle written here, then `overrides` applied (after signing). */
function signedDoc(
  overrides: Record<string, unknown> = {},
  user = "alice",
  expire = 3600,
): Record<string, unknown> {
  const text = `TLS.identifier:${user}\nTLS.sdkappid:${SDK}\nTLS.time:${NOW}\nTLS.expire:${expire}\n`;
  const sig = createHmac("sha256", KEY).update(text).digest("base64");
  return {
    "TLS.ver": "2.0",
    "TLS.identifier": user,
    "TLS.sdkappid": SDK,
    "TLS.expire": expire,
    "TLS.time": NOW,
    "TLS.sig": sig,
    ...overrides,
  };
}

// The token text itself differs from the Python one: Node bundles Chromium's zlib, whose deflate
// finds other matches than zlib's at the same level; the inflated JSON is what is signed and compared.
test("the Python helpers' vectors: same inflated JSON, and both tokens verify", () => {
  for (const v of VECTORS.userSig) {
    const userbuf = v.userbufHex === undefined ? undefined : Buffer.from(v.userbufHex, "hex");
    const ours = generateUserSig({
      sdkAppId: v.sdkAppId,
      secretKey: v.secretKey,
      userId: v.userId,
      expireSeconds: v.expireSeconds,
      now: v.now,
      userbuf,
    });
    assert.equal(inflate(ours), v.inflated, v.userId);
    const ourResult = verifyUserSig(ours, {
      sdkAppId: v.sdkAppId,
      secretKey: v.secretKey,
      userId: v.userId,
      now: v.now,
      expectUserbuf: userbuf !== undefined,
    });
    assert.ok(ourResult.ok, ourResult.reason);
    const result = verifyUserSig(v.token, {
      sdkAppId: v.sdkAppId,
      secretKey: v.secretKey,
      userId: v.userId,
      now: v.now + v.expireSeconds,
      expectUserbuf: userbuf !== undefined,
    });
    assert.ok(result.ok && result.authenticated, result.reason);
    assert.deepEqual(result.claims, {
      identifier: v.userId,
      sdkAppId: v.sdkAppId,
      time: v.now,
      expire: v.expireSeconds,
      expiresAt: v.now + v.expireSeconds,
      userbuf: userbuf && new Uint8Array(userbuf),
    });
  }
});

test("npm tls-sig-api-v2 tokens verify with ours, and ours carry the same claims and signature", () => {
  const random = prng(22);
  for (let i = 0; i < 300; i += 1) {
    const [sdk, user, expire, now] = [
      integer(random, 1, 2 ** 32 - 1),
      userId(random),
      integer(random, 1, 2 ** 31 - 1),
      integer(random, 0, 2 ** 32 - 1),
    ];
    const key = i % 3 === 0 ? userId(random) : KEY;
    const userbuf =
      i % 2 === 0
        ? Buffer.from(Array.from({ length: integer(random, 0, 40) }, () => integer(random, 0, 255)))
        : undefined;
    const api = new tls.Api(sdk, key);
    const theirs = reference(now, () =>
      userbuf ? api.genSig(user, expire, userbuf) : api.genUserSig(user, expire),
    );
    const result = verifyUserSig(theirs, {
      sdkAppId: sdk,
      secretKey: key,
      userId: user,
      now: now + expire,
      expectUserbuf: userbuf !== undefined,
    });
    assert.ok(result.ok, `${result.reason} for ${JSON.stringify({ sdk, user, expire, now })}`);
    assert.equal(result.claims?.time, now);
    const ours = generateUserSig({
      sdkAppId: sdk,
      secretKey: key,
      userId: user,
      expireSeconds: expire,
      now,
      userbuf,
    });
    assert.deepEqual(JSON.parse(inflate(ours)), JSON.parse(inflate(theirs))); // key order and spacing aside: identical
  }
});

test("the default lifetime is 180 days, as the references'", () => {
  assert.equal(DEFAULT_EXPIRE_SECONDS, 15552000);
  const ours = generateUserSig({ sdkAppId: SDK, secretKey: KEY, userId: "xiaojun", now: NOW });
  const theirs = reference(NOW, () => new tls.Api(SDK, KEY).genUserSig("xiaojun", 15552000));
  assert.deepEqual(JSON.parse(inflate(ours)), JSON.parse(inflate(theirs)));
  const unset = reference(NOW + 0.99, () =>
    generateUserSig({ sdkAppId: SDK, secretKey: KEY, userId: "alice" }),
  );
  assert.equal(JSON.parse(inflate(unset))["TLS.time"], NOW); // now defaults to the clock, floored
});

test("the expiry boundary is inclusive", () => {
  const token = generateUserSig({
    sdkAppId: SDK,
    secretKey: KEY,
    userId: "alice",
    expireSeconds: 100,
    now: NOW,
  });
  assert.ok(check(token, { now: NOW + 100 }).ok);
  const late = check(token, { now: NOW + 101 });
  assert.equal(late.reason, F.EXPIRED);
  assert.ok(late.authenticated && late.claims?.expiresAt === NOW + 100);
});

test("every reason is reachable, in the documented order", () => {
  const good = generateUserSig({
    sdkAppId: SDK,
    secretKey: KEY,
    userId: "alice",
    expireSeconds: 60,
    now: NOW,
  });
  const withBuf = generateUserSig({
    sdkAppId: SDK,
    secretKey: KEY,
    userId: "alice",
    now: NOW,
    userbuf: Buffer.from("x"),
  });
  const otherApp = generateUserSig({ sdkAppId: SDK + 1, secretKey: KEY, userId: "alice", now: NOW });
  const forged = generateUserSig({
    sdkAppId: 7,
    secretKey: "guess",
    userId: "root",
    expireSeconds: 1,
    now: 0,
    userbuf: Buffer.from("x"),
  });
  const cases: [string, ReturnType<typeof check>][] = [
    [F.MALFORMED, check("definitely not a token")],
    [F.VERSION, check(toToken(JSON.stringify(signedDoc({ "TLS.ver": "3.0" }))))],
    [F.SIGNATURE_MISMATCH, check(forged)],
    [F.SDK_APP_ID_MISMATCH, check(otherApp)],
    [F.IDENTIFIER_MISMATCH, check(good, { user: "Alice" })],
    [F.USERBUF_UNEXPECTED, check(withBuf)],
    [F.USERBUF_MISSING, check(good, { expectUserbuf: true })],
    [F.EXPIRED, check(good, { now: NOW + 61 })],
  ];
  for (const [reason, result] of cases) {
    assert.equal(result.reason, reason);
    assert.equal(result.ok, false);
  }
  assert.equal(check(forged).authenticated, false);
  assert.equal(check(forged).claims?.identifier, "root"); // for the developer's logs only
  assert.ok(check(good).ok);
});

test("compact JSON, other key orders and zlib levels verify; extra fields are ignored", () => {
  for (const level of [0, 1, 9]) {
    const doc = signedDoc({ "TLS.future": [1, { x: null }] });
    const reversed = Object.fromEntries(Object.entries(doc).reverse());
    assert.ok(check(toToken(JSON.stringify(reversed) + "\n", level)).ok);
  }
  const escaped = JSON.stringify(signedDoc({}, "<a&b>"))
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026");
  assert.ok(check(toToken(escaped, 0), { user: "<a&b>" }).ok); // Go's HTML-escaped JSON
});

test("malformed tokens are MALFORMED, with no claims", () => {
  const good = JSON.stringify(signedDoc());
  const z = Buffer.from(toToken(good).replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "="), "base64");
  const cases: Record<string, unknown> = {
    empty: "",
    "not a string": Buffer.from(good),
    "plus sign": toToken(good).replace(/\*/g, "+") + "+",
    whitespace: toToken(good) + "\n",
    "bad padding": toToken(good).slice(0, -1),
    "raw json, not zlib": toToken(good, null),
    "truncated stream": toToken(z.subarray(0, -4), null),
    "trailing data": toToken(Buffer.concat([z, Buffer.from([0])]), null),
    "two streams": toToken(Buffer.concat([z, z]), null),
    "invalid utf-8": toToken(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])),
    bom: toToken("\ufeff" + good),
    "too long": "A".repeat(MAX_TOKEN_CHARS + 4),
    list: toToken(JSON.stringify([signedDoc()])),
    "no version": toToken(JSON.stringify({ ...signedDoc(), "TLS.ver": undefined })),
    "duplicate key": toToken(good.slice(0, -1) + ', "TLS.identifier": "alice"}'),
    NaN: toToken(good.replace(`"TLS.time":${NOW}`, '"TLS.time":NaN')),
    "huge int": toToken(good.replace(`"TLS.time":${NOW}`, `"TLS.time":${"9".repeat(5000)}`)),
    "float sdkappid": toToken(good.replace(`"TLS.sdkappid":${SDK}`, `"TLS.sdkappid":${SDK}.0`)),
    "sdkappid 2^64": toToken(
      JSON.stringify(signedDoc()).replace(`"TLS.sdkappid":${SDK}`, '"TLS.sdkappid":18446744073709551616'),
    ),
    "lone surrogate": toToken(good.replace('"alice"', '"\\ud800"')),
    "deep nesting": toToken(`{"TLS.ver": "2.0", "x": ${"[".repeat(7000)}${"]".repeat(7000)}}`, 9),
    "sig short": toToken(JSON.stringify(signedDoc({ "TLS.sig": Buffer.alloc(31).toString("base64") }))),
    "sig unpadded": toToken(
      JSON.stringify(signedDoc({ "TLS.sig": String(signedDoc()["TLS.sig"]).replace(/=+$/, "") })),
    ),
    "userbuf not base64": toToken(JSON.stringify(signedDoc({ "TLS.userbuf": "a b" }))),
    "userbuf null": toToken(JSON.stringify(signedDoc({ "TLS.userbuf": null }))),
    "time true": toToken(JSON.stringify(signedDoc({ "TLS.time": true }))),
    "expire a string": toToken(JSON.stringify(signedDoc({ "TLS.expire": "60" }))),
  };
  for (const [name, token] of Object.entries(cases)) {
    const result = check(token);
    assert.equal(result.reason, F.MALFORMED, name);
    assert.equal(result.claims, undefined, name);
  }
});

test("a zlib bomb is stopped by the inflate cap", () => {
  const bomb = toToken(Buffer.alloc(MAX_INFLATED_BYTES * 64, 0x20), 9);
  assert.ok(bomb.length < MAX_TOKEN_CHARS);
  const started = Date.now();
  assert.equal(check(bomb).reason, F.MALFORMED);
  assert.ok(Date.now() - started < 1000);
});

test("our own arguments are checked; a bad token never throws", () => {
  const bad = [
    { sdkAppId: 0 },
    { sdkAppId: 2 ** 32 },
    { sdkAppId: 1.5 },
    { secretKey: "" },
    { userId: "" },
    { userId: "x".repeat(1025) },
    { userId: "\ud800" },
    { expireSeconds: 0 },
    { expireSeconds: 2 ** 31 },
    { now: -1 },
    { userbuf: Buffer.alloc(4097) },
  ];
  for (const override of bad) {
    assert.throws(
      () => generateUserSig({ sdkAppId: SDK, secretKey: KEY, userId: "alice", now: NOW, ...override }),
      UserSigInputError,
      JSON.stringify(override),
    );
  }
  assert.throws(
    () => verifyUserSig("x", { sdkAppId: SDK, secretKey: "", userId: "alice" }),
    UserSigInputError,
  );
  assert.equal(check(null).reason, F.MALFORMED);
});

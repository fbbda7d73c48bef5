/**
 * UserSig (TLS-Sig-API v2) generation and verification, as `clients/python/rtcconsole/_usersig.py`.
 *
 * Generation writes the JSON exactly as the Python helpers and the PyPI reference
 * `tls-sig-api-v2` 1.1 do (`", "` / `": "` separators, ASCII-only escapes, key order ver,
 * identifier, sdkappid, expire, time, [userbuf], sig); the token text itself may differ, as
 * Node's bundled zlib (Chromium's) deflates differently at the same level. Verification decodes the claims and checks
 * them, never compares strings, so tokens of the npm `tls-sig-api-v2` package (compact JSON,
 * time before expire) and of the Go library verify too.
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import {
  DEFAULT_EXPIRE_SECONDS,
  MAX_EXPIRE_SECONDS,
  MAX_SDK_APP_ID,
  MAX_USERBUF_BYTES,
  MAX_USER_ID_BYTES,
  TLS_VERSION,
  UserSigInputError,
  VerificationFailure,
  checkInt,
  checkSecretKey,
  checkText,
  resolveNow,
} from "./common.js";
import type { JsonNode } from "./strictjson.js";
import { decodeToken, encodeToken, pythonJsonString, strictBase64 } from "./tokencodec.js";

/** The decoded fields of a token (integers beyond 2^53 are rounded here; the checks use exact values). */
export interface UserSigClaims {
  /** `TLS.identifier`, the user id. */
  readonly identifier: string;
  /** `TLS.sdkappid`. */
  readonly sdkAppId: number;
  /** `TLS.time`, issue time in unix seconds. */
  readonly time: number;
  /** `TLS.expire`, lifetime in seconds. */
  readonly expire: number;
  /** `time + expire` (unix seconds); the token is valid while `now <= expiresAt`. */
  readonly expiresAt: number;
  /** The base64-decoded `TLS.userbuf`, or `undefined` when the field is absent. */
  readonly userbuf: Uint8Array | undefined;
}

/**
 * Result of `verifyUserSig`. `reason` is `undefined` when accepted. `authenticated` is true when
 * the signature checked out; when false and `claims` is set, the claims are attacker-controlled:
 * log them for debugging, never act on them.
 */
export interface UserSigVerification {
  readonly ok: boolean;
  readonly reason: VerificationFailure | undefined;
  readonly claims: UserSigClaims | undefined;
  readonly authenticated: boolean;
}

/** Exact claims, as signed; `claims()` rounds them for people. */
export interface ExactClaims {
  identifier: string;
  sdkAppId: bigint;
  time: bigint;
  expire: bigint;
  userbuf: Uint8Array | undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const SIG_BYTES = 32;

export function verification(
  reason: VerificationFailure | undefined,
  exact: ExactClaims | undefined,
  authenticated: boolean,
): UserSigVerification {
  const claims = exact && {
    identifier: exact.identifier,
    sdkAppId: Number(exact.sdkAppId),
    time: Number(exact.time),
    expire: Number(exact.expire),
    expiresAt: Number(exact.time + exact.expire),
    userbuf: exact.userbuf,
  };
  return { ok: reason === undefined, reason, claims, authenticated };
}

function signature(key: Uint8Array, c: ExactClaims): Buffer {
  let text = `TLS.identifier:${c.identifier}\nTLS.sdkappid:${c.sdkAppId}\nTLS.time:${c.time}\nTLS.expire:${c.expire}\n`;
  if (c.userbuf !== undefined) text += `TLS.userbuf:${Buffer.from(c.userbuf).toString("base64")}\n`;
  return createHmac("sha256", key).update(text, "utf8").digest();
}

/** Serialise and sign `claims` as the Python helpers do (arguments pre-checked). */
export function mintToken(key: Uint8Array, claims: ExactClaims): string {
  const parts = [
    `"TLS.ver": ${pythonJsonString(TLS_VERSION)}`,
    `"TLS.identifier": ${pythonJsonString(claims.identifier)}`,
    `"TLS.sdkappid": ${claims.sdkAppId}`,
    `"TLS.expire": ${claims.expire}`,
    `"TLS.time": ${claims.time}`,
  ];
  if (claims.userbuf !== undefined)
    parts.push(`"TLS.userbuf": "${Buffer.from(claims.userbuf).toString("base64")}"`);
  parts.push(`"TLS.sig": "${signature(key, claims).toString("base64")}"`);
  return encodeToken(`{${parts.join(", ")}}`);
}

/**
 * Generate a UserSig; the inflated JSON is byte-identical to the Python helpers' and to the PyPI
 * reference's `gen_sig` / `gen_sig_with_userbuf`.
 *
 * @param args.sdkAppId the application's SDKAppID, 1 .. 2^32 - 1.
 * @param args.secretKey the application's secret key; its UTF-8 text is the HMAC key.
 * @param args.userId non-empty, at most 1024 UTF-8 bytes; compared case-sensitively.
 * @param args.expireSeconds lifetime in seconds, 1 .. 2^31 - 1; default 180 days (15 552 000).
 * @param args.now issue time in unix seconds, 0 .. 2^32 - 1; default the current time.
 * @param args.userbuf optional opaque bytes (at most 4096) signed into `TLS.userbuf`.
 * @throws UserSigInputError when an argument is out of range or of the wrong type.
 */
export function generateUserSig(args: {
  sdkAppId: number;
  secretKey: string;
  userId: string;
  expireSeconds?: number;
  now?: number;
  userbuf?: Uint8Array;
}): string {
  checkInt("sdkAppId", args.sdkAppId, 1, MAX_SDK_APP_ID);
  const key = checkSecretKey(args.secretKey);
  checkText("userId", args.userId, MAX_USER_ID_BYTES);
  const expire = checkInt(
    "expireSeconds",
    args.expireSeconds ?? DEFAULT_EXPIRE_SECONDS,
    1,
    MAX_EXPIRE_SECONDS,
  );
  const now = resolveNow(args.now);
  if (args.userbuf !== undefined) {
    if (!(args.userbuf instanceof Uint8Array))
      throw new UserSigInputError("userbuf must be a Uint8Array or undefined");
    if (args.userbuf.length > MAX_USERBUF_BYTES) {
      throw new UserSigInputError(
        `userbuf is ${args.userbuf.length} bytes long; the limit is ${MAX_USERBUF_BYTES}`,
      );
    }
  }
  const claims = {
    identifier: args.userId,
    sdkAppId: BigInt(args.sdkAppId),
    time: BigInt(now),
    expire: BigInt(expire),
  };
  return mintToken(key, { ...claims, userbuf: args.userbuf && Uint8Array.from(args.userbuf) });
}

function fieldInt(doc: Map<string, JsonNode>, name: string, low: bigint, high: bigint): bigint {
  const value = doc.get(name);
  if (typeof value !== "bigint" || value < low || value > high)
    throw new TypeError(`${name} is not an integer in range`);
  return value;
}

function fieldBase64(doc: Map<string, JsonNode>, name: string): Buffer {
  const value = doc.get(name);
  if (typeof value !== "string") throw new TypeError(`${name} is not a string`);
  return strictBase64(value);
}

function parseClaims(doc: Map<string, JsonNode>): [ExactClaims, Buffer] {
  const identifier = doc.get("TLS.identifier");
  if (typeof identifier !== "string" || !identifier.isWellFormed())
    throw new TypeError("TLS.identifier is not a string");
  const claims: ExactClaims = {
    identifier,
    sdkAppId: fieldInt(doc, "TLS.sdkappid", 0n, UINT64_MAX),
    time: fieldInt(doc, "TLS.time", INT64_MIN, INT64_MAX),
    expire: fieldInt(doc, "TLS.expire", INT64_MIN, INT64_MAX),
    userbuf: doc.has("TLS.userbuf") ? new Uint8Array(fieldBase64(doc, "TLS.userbuf")) : undefined,
  };
  const sig = fieldBase64(doc, "TLS.sig");
  if (sig.length !== SIG_BYTES) throw new TypeError("TLS.sig has the wrong length");
  return [claims, sig];
}

/** The result of `openToken`: the verification so far and the exact claims. */
export interface Opened {
  reason: VerificationFailure | undefined;
  claims: ExactClaims | undefined;
  authenticated: boolean;
}

/**
 * The checks shared by UserSig and PrivateMapKey, all but expiry (arguments pre-checked), in the
 * order MALFORMED, VERSION, SIGNATURE_MISMATCH, SDK_APP_ID_MISMATCH, IDENTIFIER_MISMATCH,
 * USERBUF_UNEXPECTED / USERBUF_MISSING. Never throws for any `token`.
 */
export function openToken(
  token: unknown,
  key: Uint8Array,
  sdkAppId: number,
  userId: string,
  expectUserbuf: boolean,
): Opened {
  let claims: ExactClaims;
  let sig: Buffer;
  try {
    const doc = decodeToken(token);
    if (!(doc instanceof Map) || !doc.has("TLS.ver"))
      return { reason: VerificationFailure.MALFORMED, claims: undefined, authenticated: false };
    if (doc.get("TLS.ver") !== TLS_VERSION)
      return { reason: VerificationFailure.VERSION, claims: undefined, authenticated: false };
    [claims, sig] = parseClaims(doc);
  } catch {
    return { reason: VerificationFailure.MALFORMED, claims: undefined, authenticated: false };
  }
  if (!timingSafeEqual(signature(key, claims), sig)) {
    return { reason: VerificationFailure.SIGNATURE_MISMATCH, claims, authenticated: false };
  }
  let reason: VerificationFailure | undefined;
  if (claims.sdkAppId !== BigInt(sdkAppId)) reason = VerificationFailure.SDK_APP_ID_MISMATCH;
  else if (claims.identifier !== userId) reason = VerificationFailure.IDENTIFIER_MISMATCH;
  else if (claims.userbuf !== undefined && !expectUserbuf) reason = VerificationFailure.USERBUF_UNEXPECTED;
  else if (claims.userbuf === undefined && expectUserbuf) reason = VerificationFailure.USERBUF_MISSING;
  return { reason, claims, authenticated: true };
}

/**
 * Verify a UserSig made by any TLS-Sig-API v2 implementation; never throws for a bad token.
 * Checks, first failure wins: MALFORMED, VERSION, SIGNATURE_MISMATCH, SDK_APP_ID_MISMATCH,
 * IDENTIFIER_MISMATCH, USERBUF_UNEXPECTED / USERBUF_MISSING, EXPIRED (`now > time + expire`).
 *
 * @param args.now current unix seconds; default the current time.
 * @param args.expectUserbuf false (default) rejects tokens with a userbuf; true requires one.
 * @throws UserSigInputError only when one of our arguments (not the token) is invalid.
 */
export function verifyUserSig(
  token: string,
  args: { sdkAppId: number; secretKey: string; userId: string; now?: number; expectUserbuf?: boolean },
): UserSigVerification {
  const key = checkSecretKey(args.secretKey);
  checkInt("sdkAppId", args.sdkAppId, 1, MAX_SDK_APP_ID);
  checkText("userId", args.userId, MAX_USER_ID_BYTES);
  const now = resolveNow(args.now, Number.MAX_SAFE_INTEGER); // a verifier's clock is not bound by the format
  const opened = openToken(token, key, args.sdkAppId, args.userId, args.expectUserbuf ?? false);
  const c = opened.claims;
  if (opened.reason === undefined && c !== undefined && BigInt(now) > c.time + c.expire) {
    return verification(VerificationFailure.EXPIRED, c, true);
  }
  return verification(opened.reason, c, opened.authenticated);
}

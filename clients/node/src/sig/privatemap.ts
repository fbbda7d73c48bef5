/**
 * PrivateMapKey: a UserSig whose userbuf carries account, app, room, expiry and privileges
 * (as `clients/python/rtcconsole/_privatemapkey.py` and `_privatemap_userbuf.py`).
 */

import {
  DEFAULT_EXPIRE_SECONDS,
  MAX_EXPIRE_SECONDS,
  MAX_SDK_APP_ID,
  MAX_STR_ROOM_ID_BYTES,
  MAX_TIMESTAMP,
  MAX_USER_ID_BYTES,
  UserSigInputError,
  VerificationFailure,
  checkInt,
  checkSecretKey,
  checkText,
  resolveNow,
} from "./common.js";
import { mintToken, openToken, verification, type UserSigClaims } from "./usersig.js";

/** PrivateMapKey privilege bits (`privilegeMap`); combine with `|`. */
export const Privilege = {
  CREATE_ROOM: 1,
  ENTER_ROOM: 2,
  SEND_AUDIO: 4,
  RECEIVE_AUDIO: 8,
  SEND_VIDEO: 16,
  RECEIVE_VIDEO: 32,
  SEND_SUBSTREAM: 64,
  RECEIVE_SUBSTREAM: 128,
  ALL: 255,
} as const;

/** Largest numeric room id (u32). 0 is refused: the format uses it for "string room". */
export const MAX_ROOM_ID = 2 ** 32 - 1;

/** The decoded PrivateMapKey userbuf. */
export interface PrivateMapClaims {
  /** 0 for a numeric room, 1 for a string room. */
  readonly version: number;
  /** The user id (UTF-8 in the userbuf). */
  readonly account: string;
  readonly sdkAppId: number;
  /** Numeric room id; 0 for a string room. */
  readonly roomId: number;
  /** String room id, or `undefined` for a numeric room. */
  readonly strRoomId: string | undefined;
  /** Absolute expiry of the privileges, unix seconds (valid while `now <= expiresAt`). */
  readonly expiresAt: number;
  /** Privilege map; bits outside `Privilege.ALL` are kept as they are. */
  readonly privileges: number;
  /** Always 0 in keys generated or accepted here. */
  readonly accountType: number;
}

/** Raised by `decodePrivateMapUserbuf` for bytes that are not a PrivateMapKey userbuf. */
export class MalformedUserbufError extends SyntaxError {
  override name = "MalformedUserbufError";
}

/** A room: exactly one of a numeric `roomId` (1 .. 2^32 - 1) and a `strRoomId` (1 .. 1024 UTF-8 bytes). */
export type Room = { roomId: number; strRoomId?: undefined } | { strRoomId: string; roomId?: undefined };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function checkRoom(room: {
  roomId?: number | undefined;
  strRoomId?: string | undefined;
}): Uint8Array | undefined {
  if ((room.roomId === undefined) === (room.strRoomId === undefined)) {
    throw new UserSigInputError("give exactly one of roomId and strRoomId");
  }
  if (room.roomId !== undefined) {
    checkInt("roomId", room.roomId, 1, MAX_ROOM_ID);
    return undefined;
  }
  return checkText("strRoomId", room.strRoomId, MAX_STR_ROOM_ID_BYTES);
}

/**
 * The PrivateMapKey userbuf, integers big-endian: version u8 (0 numeric room, 1 string room);
 * account length u16; account (UTF-8); sdkappid u32; numeric room u32 (0 for string rooms);
 * `expiresAt` u32 (absolute unix seconds); privilege map u32; account type u32 (0); then, for
 * version 1 only, room length u16 and room (UTF-8).
 */
export function encodePrivateMapUserbuf(
  args: { sdkAppId: number; userId: string; expiresAt: number; privileges?: number } & Room,
): Uint8Array {
  checkInt("sdkAppId", args.sdkAppId, 1, MAX_SDK_APP_ID);
  const account = checkText("userId", args.userId, MAX_USER_ID_BYTES);
  const room = checkRoom(args);
  checkInt("expiresAt", args.expiresAt, 0, MAX_TIMESTAMP);
  const privileges = checkInt("privileges", args.privileges ?? Privilege.ALL, 0, Privilege.ALL);
  const out = Buffer.alloc(3 + account.length + 20 + (room ? 2 + room.length : 0));
  out.writeUInt8(room ? 1 : 0, 0);
  out.writeUInt16BE(account.length, 1);
  out.set(account, 3);
  let at = 3 + account.length;
  for (const value of [args.sdkAppId, args.roomId ?? 0, args.expiresAt, privileges, 0]) {
    out.writeUInt32BE(value, at);
    at += 4;
  }
  if (room) {
    out.writeUInt16BE(room.length, at);
    out.set(room, at + 2);
  }
  return new Uint8Array(out);
}

/**
 * Parse a PrivateMapKey userbuf strictly (exact length, UTF-8 texts, consistent room kind); a
 * string-room userbuf must have a zero numeric room and a non-empty room string.
 * @throws MalformedUserbufError
 */
export function decodePrivateMapUserbuf(data: Uint8Array): PrivateMapClaims {
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    const version = view.readUInt8(0);
    const accountLength = view.readUInt16BE(1);
    if (3 + accountLength + 20 > view.length) throw new MalformedUserbufError("userbuf too short");
    const account = utf8.decode(view.subarray(3, 3 + accountLength));
    let at = 3 + accountLength;
    const [sdkAppId, roomId, expiresAt, privileges, accountType] = [0, 1, 2, 3, 4].map((i) =>
      view.readUInt32BE(at + 4 * i),
    ) as [number, number, number, number, number];
    at += 20;
    let strRoomId: string | undefined;
    if (version === 1) {
      const roomLength = view.readUInt16BE(at);
      at += 2;
      if (at + roomLength > view.length) throw new MalformedUserbufError("userbuf too short");
      strRoomId = utf8.decode(view.subarray(at, at + roomLength));
      at += roomLength;
      if (roomId !== 0 || roomLength === 0)
        throw new MalformedUserbufError("string-room userbuf with a numeric room or an empty room");
    } else if (version !== 0) {
      throw new MalformedUserbufError(`unknown userbuf version ${version}`);
    }
    if (at !== view.length)
      throw new MalformedUserbufError("PrivateMapKey userbuf length does not match its contents");
    return { version, account, sdkAppId, roomId, strRoomId, expiresAt, privileges, accountType };
  } catch (error) {
    if (error instanceof MalformedUserbufError) throw error;
    throw new MalformedUserbufError(`malformed PrivateMapKey userbuf: ${(error as Error).message}`);
  }
}

/**
 * Generate a PrivateMapKey (the reference `genPrivateMapKey` / `genPrivateMapKeyWithStringRoomID`);
 * the userbuf expiry is `now + expireSeconds`, the envelope `TLS.time = now`, `TLS.expire = expireSeconds`.
 *
 * @param args.privileges granted bits, 0 .. 255 (default `Privilege.ALL`).
 * @param args.expireSeconds 1 .. 2^31 - 1; default 180 days. `now + expireSeconds` must fit u32.
 * @param args.now unix seconds; default the current time.
 * @throws UserSigInputError for an invalid argument.
 */
export function generatePrivateMapKey(
  args: {
    sdkAppId: number;
    secretKey: string;
    userId: string;
    privileges?: number;
    expireSeconds?: number;
    now?: number;
  } & Room,
): string {
  checkInt("sdkAppId", args.sdkAppId, 1, MAX_SDK_APP_ID);
  const key = checkSecretKey(args.secretKey);
  checkText("userId", args.userId, MAX_USER_ID_BYTES);
  checkRoom(args);
  const expire = checkInt(
    "expireSeconds",
    args.expireSeconds ?? DEFAULT_EXPIRE_SECONDS,
    1,
    MAX_EXPIRE_SECONDS,
  );
  const now = resolveNow(args.now);
  if (now + expire > MAX_TIMESTAMP) {
    throw new UserSigInputError("now + expireSeconds does not fit the u32 expiry field (after 2106-02-07)");
  }
  const room: Room = args.roomId !== undefined ? { roomId: args.roomId } : { strRoomId: args.strRoomId };
  const userbuf = encodePrivateMapUserbuf({
    ...room,
    sdkAppId: args.sdkAppId,
    userId: args.userId,
    expiresAt: now + expire,
    privileges: args.privileges ?? Privilege.ALL,
  });
  const claims = {
    identifier: args.userId,
    sdkAppId: BigInt(args.sdkAppId),
    time: BigInt(now),
    expire: BigInt(expire),
    userbuf,
  };
  return mintToken(key, claims);
}

/** Result of `verifyPrivateMapKey`; `privateMap` is the decoded userbuf, when there is one. */
export interface PrivateMapKeyVerification {
  readonly ok: boolean;
  readonly reason: VerificationFailure | undefined;
  readonly claims: UserSigClaims | undefined;
  readonly privateMap: PrivateMapClaims | undefined;
  readonly authenticated: boolean;
}

/**
 * Verify a PrivateMapKey for one user and one room; never throws for a bad token. Checks, first
 * failure wins: MALFORMED, VERSION, SIGNATURE_MISMATCH, SDK_APP_ID_MISMATCH, IDENTIFIER_MISMATCH,
 * USERBUF_MISSING, USERBUF_MALFORMED (layout or account type != 0), ACCOUNT_MISMATCH,
 * SDK_APP_ID_MISMATCH (userbuf field), ROOM_MISMATCH (value or kind), EXPIRED (envelope),
 * USERBUF_EXPIRED, PRIVILEGE_MISSING.
 *
 * @param args.required bits that must all be granted (default `Privilege.ENTER_ROOM`).
 * @param args.now current unix seconds; default the current time.
 * @throws UserSigInputError only when one of our arguments (not the token) is invalid.
 */
export function verifyPrivateMapKey(
  token: string,
  args: { sdkAppId: number; secretKey: string; userId: string; required?: number; now?: number } & Room,
): PrivateMapKeyVerification {
  const key = checkSecretKey(args.secretKey);
  checkInt("sdkAppId", args.sdkAppId, 1, MAX_SDK_APP_ID);
  checkText("userId", args.userId, MAX_USER_ID_BYTES);
  checkRoom(args);
  const required = checkInt("required", args.required ?? Privilege.ENTER_ROOM, 0, Privilege.ALL);
  const now = BigInt(resolveNow(args.now, Number.MAX_SAFE_INTEGER));
  const opened = openToken(token, key, args.sdkAppId, args.userId, true);
  const c = opened.claims;
  let privateMap: PrivateMapClaims | undefined;
  if (c?.userbuf !== undefined) {
    try {
      privateMap = decodePrivateMapUserbuf(c.userbuf);
    } catch {
      privateMap = undefined;
    }
  }
  let reason = opened.reason;
  if (reason === undefined && c !== undefined) {
    const m = privateMap;
    if (m === undefined || m.accountType !== 0) reason = VerificationFailure.USERBUF_MALFORMED;
    else if (m.account !== c.identifier) reason = VerificationFailure.ACCOUNT_MISMATCH;
    else if (m.sdkAppId !== args.sdkAppId) reason = VerificationFailure.SDK_APP_ID_MISMATCH;
    else if (m.strRoomId !== args.strRoomId || (args.roomId !== undefined && m.roomId !== args.roomId)) {
      reason = VerificationFailure.ROOM_MISMATCH;
    } else if (now > c.time + c.expire) reason = VerificationFailure.EXPIRED;
    else if (now > BigInt(m.expiresAt)) reason = VerificationFailure.USERBUF_EXPIRED;
    else if ((m.privileges & required) !== required) reason = VerificationFailure.PRIVILEGE_MISSING;
  }
  const result = verification(reason, c, opened.authenticated);
  return { ...result, privateMap };
}

/**
 * Receiving rtc-console's event callbacks (R15): check the `Sign` header, then parse the body
 * (as `clients/python/rtcconsole/callbacks.py`; the format is in `docs/callbacks.md`).
 *
 * `Sign` is `base64(HMAC-SHA256(callback key, raw body bytes))`: verify the bytes as received,
 * never a re-serialised JSON.
 *
 *     const body = await readRawBody(request);           // a Buffer
 *     if (!verifySignature(CALLBACK_KEY, body, request.headers["sign"] ?? "")) return reply(401);
 *     const event = parseEvent(body);
 *     console.log(event.eventId, event.roomSeq, event.eventType, event.roomId, event.userId);
 */

import { createHmac, timingSafeEqual } from "node:crypto";

/** `EventGroupId` of room events (101-105). */
export const EVENT_GROUP_ROOM = 1;
/** `EventGroupId` of media events (201-206). */
export const EVENT_GROUP_MEDIA = 2;

/** `EventType` → a name, as TRTC numbers them. */
export const EVENT_TYPES: Readonly<Record<number, string>> = {
  101: "room_created",
  102: "room_dismissed",
  103: "user_entered",
  104: "user_exited",
  105: "role_switched",
  201: "video_started",
  202: "video_stopped",
  203: "audio_started",
  204: "audio_stopped",
  205: "substream_started",
  206: "substream_stopped",
};

/** `EventInfo.Role`: 20 anchor (sends and receives), 21 audience (receives only), as in TRTC. */
export const ROLE_ANCHOR = 20;
export const ROLE_AUDIENCE = 21;

/** `EventInfo.TerminalType` → a name (TRTC's "Device type" table). */
export const TERMINAL_TYPES: Readonly<Record<number, string>> = {
  1: "windows",
  2: "android",
  3: "ios",
  4: "linux",
  100: "other",
};
/** `EventInfo.UserType` → a name (TRTC's "User type" table and rtc-console's 0). */
export const USER_TYPES: Readonly<Record<number, string>> = {
  0: "unknown",
  1: "webrtc",
  2: "mini_program",
  3: "native_sdk",
};

/** The body is not a callback of the documented shape (the message names what is wrong). */
export class CallbackFormatError extends SyntaxError {
  override name = "CallbackFormatError";
}

type Body = Uint8Array | string;

function bytesOf(body: Body): Uint8Array {
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}

/** The `Sign` header for `body`: base64 of HMAC-SHA256 keyed with the callback key (UTF-8). */
export function sign(key: string, body: Body): string {
  return createHmac("sha256", Buffer.from(key, "utf8")).update(bytesOf(body)).digest("base64");
}

/**
 * Whether `signHeader` is the signature of exactly these `body` bytes under `key`; constant-time
 * in the header's content. An empty header never verifies (a receiver with a key refuses
 * unsigned requests). Surrounding whitespace of the header is ignored.
 */
export function verifySignature(key: string, body: Body, signHeader: string | undefined): boolean {
  if (!signHeader) return false;
  const expected = Buffer.from(sign(key, body), "ascii");
  const given = Buffer.from(signHeader.trim(), "utf8");
  return given.length === expected.length && timingSafeEqual(expected, given);
}

/** One callback body, typed. Times are `Date`s (millisecond precision, UTC). */
export interface CallbackEvent {
  /** `EventGroupId`: 1 room events, 2 media events. */
  readonly eventGroup: number;
  /** `EventType`: 101-105 or 201-206 (`EVENT_TYPES`). */
  readonly eventType: number;
  /** `"user_entered"` and so on; `"unknown"` for a type this library does not know. */
  readonly typeName: string;
  /** `EventId`: equal on a redelivery; "" if absent. */
  readonly eventId: string;
  /** `RoomSeq`: 1, 2, 3 per (app, room, event group); 0 for a test callback or if absent. */
  readonly roomSeq: number;
  /** `EventTime` (else `EventInfo.EventMsTs`): when it happened. */
  readonly eventTime: Date;
  /** `SendTime` (else `CallbackTs`): when this attempt was sent. */
  readonly sendTime: Date;
  /** `CallbackTs`: send time in milliseconds since the Unix epoch. */
  readonly callbackMs: number;
  /** `EventInfo.RoomId`: a number for numeric rooms, a string for string rooms. */
  readonly roomId: number | string;
  /** `EventInfo.UserId`; "" for room created / dismissed when no user is known. */
  readonly userId: string;
  /** `EventInfo.EventTs`: seconds since the Unix epoch. */
  readonly eventTs: number;
  /** `EventInfo.EventMsTs`: milliseconds since the Unix epoch. */
  readonly eventMs: number;
  /** `EventInfo.Role` (20 anchor, 21 audience) on user entered / role switched, else undefined. */
  readonly role: number | undefined;
  /** `EventInfo.Reason` as the media server reported it (0 normal), undefined if absent. */
  readonly reason: number | undefined;
  /** `EventInfo.UniqueId` on 103 / 104: one entry/exit session of the user. */
  readonly uniqueId: number | undefined;
  /** `EventInfo.TerminalType` (`TERMINAL_TYPES`), where known. */
  readonly terminalType: number | undefined;
  /** `EventInfo.UserType` (`USER_TYPES`), where known. */
  readonly userType: number | undefined;
  /** True for a test callback sent from the console (`SendTestCallback`). */
  readonly test: boolean;
  /** The whole decoded body, for fields not listed here. */
  readonly raw: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;

function int(data: Obj, name: string, fallback?: number): number {
  const value = name in data ? data[name] : fallback;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new CallbackFormatError(`${name} must be an integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalInt(data: Obj, name: string): number | undefined {
  return data[name] === undefined || data[name] === null ? undefined : int(data, name);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function time(text: unknown, name: string, fallbackMs: number): Date {
  if (text === undefined || text === null) return new Date(fallbackMs);
  if (typeof text !== "string") throw new CallbackFormatError(`${name} must be an RFC 3339 string`);
  const value = new Date(text.replace(" ", "T"));
  if (!RFC3339.test(text) || Number.isNaN(value.getTime())) {
    throw new CallbackFormatError(`${name} is not RFC 3339 with a time zone: ${JSON.stringify(text)}`);
  }
  return value;
}

function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Decode a callback body; check its signature on the same bytes first (`verifySignature`).
 * Plain TRTC bodies (without EventId, RoomSeq, EventTime, SendTime) parse too.
 * @throws CallbackFormatError when it is not a callback.
 */
export function parseEvent(body: Body): CallbackEvent {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytesOf(body)));
  } catch (error) {
    throw new CallbackFormatError(`not JSON: ${(error as Error).message}`);
  }
  if (!isObject(data)) throw new CallbackFormatError("the body must be a JSON object");
  const info = data["EventInfo"];
  if (!isObject(info)) throw new CallbackFormatError("EventInfo must be an object");
  const room = info["RoomId"];
  if (typeof room !== "string" && !(typeof room === "number" && Number.isInteger(room))) {
    throw new CallbackFormatError(
      `EventInfo.RoomId must be a number or a string, got ${JSON.stringify(room)}`,
    );
  }
  const callbackMs = int(data, "CallbackTs");
  const eventMs = int(info, "EventMsTs", int(info, "EventTs", 0) * 1000);
  const user = info["UserId"] ?? "";
  const eventId = data["EventId"] ?? "";
  if (typeof user !== "string" || typeof eventId !== "string") {
    throw new CallbackFormatError("EventInfo.UserId and EventId must be strings");
  }
  const eventType = int(data, "EventType");
  return {
    eventGroup: int(data, "EventGroupId"),
    eventType,
    typeName: EVENT_TYPES[eventType] ?? "unknown",
    eventId,
    roomSeq: int(data, "RoomSeq", 0),
    eventTime: time(data["EventTime"], "EventTime", eventMs),
    sendTime: time(data["SendTime"], "SendTime", callbackMs),
    callbackMs,
    roomId: room,
    userId: user,
    eventTs: int(info, "EventTs", Math.floor(eventMs / 1000)),
    eventMs,
    role: optionalInt(info, "Role"),
    reason: optionalInt(info, "Reason"),
    uniqueId: optionalInt(info, "UniqueId"),
    terminalType: optionalInt(info, "TerminalType"),
    userType: optionalInt(info, "UserType"),
    test: data["Test"] === true,
    raw: data,
  };
}

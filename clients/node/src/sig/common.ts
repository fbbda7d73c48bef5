/**
 * Constants, errors and argument checks shared by the UserSig and PrivateMapKey helpers
 * (the same values as `clients/python/rtcconsole/_sigcommon.py`).
 */

/** Value of the `TLS.ver` field of every token written and accepted. */
export const TLS_VERSION = "2.0";
/** Default lifetime of a token: 180 days = 15 552 000 seconds (the reference default). */
export const DEFAULT_EXPIRE_SECONDS = 180 * 86400;
/** Largest lifetime accepted by the generators, in seconds (2^31 - 1, about 68 years). */
export const MAX_EXPIRE_SECONDS = 2 ** 31 - 1;
/** Largest SDKAppID (the PrivateMapKey userbuf carries it as a u32). */
export const MAX_SDK_APP_ID = 2 ** 32 - 1;
/** Largest generator clock (unix seconds) and absolute PrivateMapKey expiry: u32, i.e. 2106-02-07. */
export const MAX_TIMESTAMP = 2 ** 32 - 1;
/** Largest user id, in UTF-8 bytes, that is generated or verified against. */
export const MAX_USER_ID_BYTES = 1024;
/** Largest string room id, in UTF-8 bytes. */
export const MAX_STR_ROOM_ID_BYTES = 1024;
/** Largest free-form userbuf accepted by `generateUserSig`, in bytes. */
export const MAX_USERBUF_BYTES = 4096;
/** Hard cap on the inflated JSON of a token, in bytes; larger tokens are MALFORMED. */
export const MAX_INFLATED_BYTES = 16 * 1024;
/** Hard cap on the length of a token string, in characters; longer strings are MALFORMED. */
export const MAX_TOKEN_CHARS = 32 * 1024;

/** A generator or verifier argument is out of range or of the wrong type (never a token's content). */
export class UserSigInputError extends RangeError {
  override name = "UserSigInputError";
}

/** Why a UserSig or PrivateMapKey was rejected (the Python `VerificationFailure` values). */
export const VerificationFailure = {
  /** Not a token: bad alphabet/base64, not zlib, too large, bad JSON, missing or mistyped field. */
  MALFORMED: "malformed",
  /** `TLS.ver` is not `"2.0"`. */
  VERSION: "version",
  /** `TLS.sig` is not the HMAC-SHA256 of the claims under this app's secret key. */
  SIGNATURE_MISMATCH: "signature_mismatch",
  /** Genuine token, but for another SDKAppID (envelope or PrivateMapKey userbuf field). */
  SDK_APP_ID_MISMATCH: "sdk_app_id_mismatch",
  /** Genuine token, but for another user id (exact, case-sensitive comparison). */
  IDENTIFIER_MISMATCH: "identifier_mismatch",
  /** Genuine token carrying a userbuf where a plain UserSig was expected. */
  USERBUF_UNEXPECTED: "userbuf_unexpected",
  /** Genuine token without a userbuf where one was expected. */
  USERBUF_MISSING: "userbuf_missing",
  /** Genuine token, but `now > TLS.time + TLS.expire`. */
  EXPIRED: "expired",
  /** Genuine token whose userbuf is not a PrivateMapKey userbuf. */
  USERBUF_MALFORMED: "userbuf_malformed",
  /** PrivateMapKey userbuf account differs from the token's `TLS.identifier`. */
  ACCOUNT_MISMATCH: "account_mismatch",
  /** PrivateMapKey for another room, or for the other kind of room (numeric vs string). */
  ROOM_MISMATCH: "room_mismatch",
  /** PrivateMapKey userbuf expiry (absolute, unix seconds) is in the past. */
  USERBUF_EXPIRED: "userbuf_expired",
  /** PrivateMapKey lacks at least one of the required privilege bits. */
  PRIVILEGE_MISSING: "privilege_missing",
} as const;

export type VerificationFailure = (typeof VerificationFailure)[keyof typeof VerificationFailure];

const utf8 = new TextEncoder();

/** `value` if it is an integer within `[low, high]` (safe integers only), else throws. */
export function checkInt(name: string, value: unknown, low: number, high: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new UserSigInputError(
      `${name} must be an integer, got ${typeof value === "number" ? value : typeof value}`,
    );
  }
  if (value < low || value > high)
    throw new UserSigInputError(`${name} must be between ${low} and ${high}, got ${value}`);
  return value;
}

/** The UTF-8 bytes of a non-empty, well-formed string of at most `maxBytes` bytes, else throws. */
export function checkText(name: string, value: unknown, maxBytes: number): Uint8Array {
  if (typeof value !== "string") throw new UserSigInputError(`${name} must be a string, got ${typeof value}`);
  if (!value) throw new UserSigInputError(`${name} must not be empty`);
  if (!value.isWellFormed())
    throw new UserSigInputError(`${name} is not encodable as UTF-8 (lone surrogate?)`);
  const encoded = utf8.encode(value);
  if (encoded.length > maxBytes) {
    throw new UserSigInputError(`${name} is ${encoded.length} UTF-8 bytes long; the limit is ${maxBytes}`);
  }
  return encoded;
}

/** The app's secret key as HMAC key: its UTF-8 text, never hex-decoded. */
export function checkSecretKey(secretKey: unknown): Uint8Array {
  if (typeof secretKey !== "string")
    throw new UserSigInputError(`secretKey must be a string, got ${typeof secretKey}`);
  if (!secretKey) throw new UserSigInputError("secretKey must not be empty");
  if (!secretKey.isWellFormed()) throw new UserSigInputError("secretKey is not encodable as UTF-8");
  return utf8.encode(secretKey);
}

/** `now` (unix seconds, checked within `[0, high]`); `undefined` means the current time, floored. */
export function resolveNow(now: number | undefined, high: number = MAX_TIMESTAMP): number {
  return now === undefined ? Math.floor(Date.now() / 1000) : checkInt("now", now, 0, high);
}

/**
 * Token text <-> JSON: zlib, standard base64 and the `+/=` -> `*-_` mapping, with hard size caps
 * (as `clients/python/rtcconsole/_tokencodec.py`).
 */

import { deflateSync, inflateSync } from "node:zlib";
import { MAX_INFLATED_BYTES, MAX_TOKEN_CHARS } from "./common.js";
import { parseStrictJson, type JsonNode } from "./strictjson.js";

const TOKEN_ALPHABET = /^[A-Za-z0-9*_-]+$/;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A string as Python's `json.dumps` writes it by default (`ensure_ascii`): every character
 * outside printable ASCII as a lower-case `\uXXXX` escape (UTF-16 pairs for the others).
 */
export function pythonJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Standard base64 with padding, or throws for any other text (no whitespace, no URL alphabet). */
export function strictBase64(text: string): Buffer {
  if (!STRICT_BASE64.test(text)) throw new SyntaxError("not standard padded base64");
  return Buffer.from(text, "base64");
}

/** JSON text -> token: zlib at the default level, base64 with `*-_` (as the reference). */
export function encodeToken(jsonText: string): string {
  const compressed = deflateSync(Buffer.from(jsonText, "utf8"));
  return compressed.toString("base64").replace(/[+/=]/g, (c) => (c === "+" ? "*" : c === "/" ? "-" : "_"));
}

/** Token text -> its inflated JSON bytes, or throws (alphabet, base64, zlib, size caps, trailing data). */
export function inflateToken(token: unknown): Buffer {
  if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS || !TOKEN_ALPHABET.test(token)) {
    throw new SyntaxError("not a token string");
  }
  const raw = strictBase64(token.replace(/[*\-_]/g, (c) => (c === "*" ? "+" : c === "-" ? "/" : "=")));
  // A zlib container only (no gzip, raw deflate or raw JSON); maxOutputLength stops a bomb early.
  const { buffer, engine } = inflateSync(raw, {
    info: true,
    maxOutputLength: MAX_INFLATED_BYTES + 1,
  }) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  if (buffer.length > MAX_INFLATED_BYTES) throw new RangeError("inflated token exceeds the size cap");
  if (engine.bytesWritten !== raw.length) throw new SyntaxError("trailing data after the zlib stream");
  return buffer;
}

/** Token text -> parsed JSON (strict: `strictjson.ts`), or throws. */
export function decodeToken(token: unknown): JsonNode {
  return parseStrictJson(utf8.decode(inflateToken(token)));
}

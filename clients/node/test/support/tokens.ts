/** Test helpers for tokens, written independently of src/sig: inflate, re-encode, a seeded PRNG. */

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync, inflateSync } from "node:zlib";

export const SDK = 1400000000;
export const KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
export const NOW = 1700000000;

/** clients/node/test/fixtures/vectors.json (the Python helpers' vectors; its `_source` says where from). */
export const VECTORS = JSON.parse(
  readFileSync(
    resolve(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/vectors.json"),
    "utf8",
  ),
) as {
  userSig: {
    sdkAppId: number;
    secretKey: string;
    userId: string;
    expireSeconds: number;
    now: number;
    userbufHex?: string;
    token: string;
    inflated: string;
  }[];
  privateMapKey: ({
    sdkAppId: number;
    secretKey: string;
    userId: string;
    expireSeconds: number;
    now: number;
    privileges: number;
    inflated: string;
    userbufHex?: string;
  } & ({ roomId: number; strRoomId?: undefined } | { strRoomId: string; roomId?: undefined }))[];
  callbackSign: { key: string; body: string; hmacHex: string }[];
};

export function inflate(token: string): string {
  return inflateSync(
    Buffer.from(token.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "="), "base64"),
  ).toString("utf8");
}

/** `payload` deflated at `level` (or not at all for `null`), base64, then `+/=` -> `*-_`. */
export function toToken(payload: string | Buffer, level: number | null = 6): string {
  const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const data = level === null ? bytes : deflateSync(bytes, { level });
  return data.toString("base64").replace(/\+/g, "*").replace(/\//g, "-").replace(/=/g, "_");
}

/** mulberry32: the same cases on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function integer(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

const ALPHABETS = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
  'é<&>"\\/\n\t\u007f\u0001 ',
  "用户名字😀🔑ключ",
];

/** A user id of 1-40 characters; `asciiOnly` keeps to printable ASCII (the npm userbuf writes char codes). */
export function userId(random: () => number, asciiOnly = false): string {
  const length = integer(random, 1, 40);
  let out = "";
  for (let i = 0; i < length; i += 1) {
    const alphabet = asciiOnly ? ALPHABETS[0]! : ALPHABETS[integer(random, 0, ALPHABETS.length - 1)]!;
    const chars = [...alphabet];
    out += chars[integer(random, 0, chars.length - 1)];
  }
  return out;
}

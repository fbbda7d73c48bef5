/**
 * A strict JSON reader for token documents, accepting what Python's `json.loads` accepts as the
 * Python helpers call it (`_tokencodec.py`), and nothing `JSON.parse` would silently bend:
 * duplicate keys are an error, integers stay exact (`bigint`, at most 21 characters) and are
 * told apart from floats (`1.0` is a float), NaN / Infinity are errors, nesting is bounded.
 */

/** A number written with a fraction or an exponent (Python reads it as a float). */
export class JsonFloat {
  constructor(readonly value: number) {}
}

export type JsonNode = null | boolean | string | bigint | JsonFloat | JsonNode[] | Map<string, JsonNode>;

/** Deepest nesting accepted (Python's recursion limit is about 1000 frames). */
const MAX_DEPTH = 900;
const MAX_INT_CHARS = 21; // "-" and the 20 digits of 2**64 - 1
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new SyntaxError(`${what} at character ${this.at}`);
  }

  space(): void {
    while (this.at < this.text.length && " \t\n\r".includes(this.text[this.at] as string)) this.at += 1;
  }

  document(): JsonNode {
    this.space();
    const value = this.value(0);
    this.space();
    if (this.at !== this.text.length) this.fail("extra data");
    return value;
  }

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    const c = this.text[this.at];
    if (c === "{") return this.object(depth + 1);
    if (c === "[") return this.array(depth + 1);
    if (c === '"') return this.string();
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    return this.number();
  }

  object(depth: number): Map<string, JsonNode> {
    const out = new Map<string, JsonNode>();
    this.at += 1;
    this.space();
    if (this.text[this.at] === "}") {
      this.at += 1;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail("expected a property name");
      const key = this.string();
      if (out.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      this.space();
      if (this.text[this.at] !== ":") this.fail("expected ':'");
      this.at += 1;
      this.space();
      out.set(key, this.value(depth));
      this.space();
      const c = this.text[this.at];
      this.at += 1;
      if (c === "}") return out;
      if (c !== ",") this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): JsonNode[] {
    const out: JsonNode[] = [];
    this.at += 1;
    this.space();
    if (this.text[this.at] === "]") {
      this.at += 1;
      return out;
    }
    for (;;) {
      this.space();
      out.push(this.value(depth));
      this.space();
      const c = this.text[this.at];
      this.at += 1;
      if (c === "]") return out;
      if (c !== ",") this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    let out = "";
    this.at += 1;
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined) this.fail("unterminated string");
      this.at += 1;
      if (c === '"') return out;
      if (c < " ") this.fail("control character in string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.at];
      this.at += 1;
      if (e === "u") {
        const hex = this.text.slice(this.at, this.at + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.at += 4;
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
      } else {
        this.fail("bad escape");
      }
    }
  }

  number(): bigint | JsonFloat {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (match === null) this.fail("expected a value");
    this.at += match[0].length;
    if (match[1] !== undefined || match[2] !== undefined) return new JsonFloat(Number(match[0]));
    if (match[0].length > MAX_INT_CHARS) this.fail("integer too long");
    return BigInt(match[0]);
  }
}

/** Parse `text` strictly (see the module comment); throws `SyntaxError`. */
export function parseStrictJson(text: string): JsonNode {
  return new Reader(text).document();
}

/**
 * @module lib/json-error
 * Where a config file stops being JSON. Bun's JSON.parse says only "Unexpected
 * token"; this scanner walks the text by the JSON grammar (RFC 8259) and returns the
 * line and column of the first error and what was expected there, for a message like
 * `invalid JSON at line 3, column 3: expected "," or "}" (got "\"")`. Called only
 * after JSON.parse failed, so it need not be fast; it never throws.
 */

/** The first syntax error of a text: 1-based line and column, and what is wrong there. */
export interface JsonSyntaxError {
  line: number;
  column: number;
  reason: string;
}

/** Deepest nesting scanned (a deeper file gets its error reported at the limit). */
const MAX_DEPTH = 512;
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD_RE = /true|false|null/y;

class Stop {
  constructor(readonly pos: number, readonly reason: string) {}
}

/** A recursive-descent walk that throws Stop at the first error. */
class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    const found = this.pos < this.text.length ? JSON.stringify(this.text.charAt(this.pos)) : "the end of the file";
    throw new Stop(this.pos, `${what} (got ${found})`);
  }

  ws(): string {
    while (this.pos < this.text.length && " \t\r\n".includes(this.text.charAt(this.pos))) this.pos++;
    return this.text.charAt(this.pos);
  }

  sticky(re: RegExp): boolean {
    re.lastIndex = this.pos;
    if (!re.test(this.text)) return false;
    this.pos = re.lastIndex;
    return true;
  }

  value(depth: number): void {
    const c = this.ws();
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    if (c === "{" || c === "[") return this.container(depth, c === "{");
    if (c === '"') return this.string();
    if (this.sticky(NUMBER_RE) || this.sticky(WORD_RE)) return;
    this.fail("expected a value: a string in double quotes, a number, true, false, null, [ or {");
  }

  string(): void {
    this.pos++; // the opening quote
    for (let c = this.text.charCodeAt(this.pos); c !== 0x22; c = this.text.charCodeAt(this.pos)) {
      if (this.pos >= this.text.length) this.fail("expected the closing '\"' of a string");
      if (c < 0x20) this.fail("expected '\"' before the end of the line (strings cannot hold raw control characters)");
      if (c === 0x5c) this.escape();
      this.pos++;
    }
    this.pos++;
  }

  escape(): void {
    const e = this.text.charAt(++this.pos);
    if (e === "u") {
      if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 1, this.pos + 5))) this.fail("expected four hex digits after \\u");
      this.pos += 4;
    } else if (e === "" || !'"\\/bfnrt'.includes(e)) {
      this.fail("expected an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX");
    }
  }

  container(depth: number, object: boolean): void {
    const close = object ? "}" : "]";
    this.pos++;
    if (this.ws() === close) {
      this.pos++;
      return;
    }
    for (;;) {
      if (object) this.key();
      this.value(depth + 1);
      const c = this.ws();
      if (c !== close && c !== ",") this.fail(`expected "," or "${close}"`);
      this.pos++;
      if (c === close) return;
      if (this.ws() === close) this.fail(`expected another ${object ? "key" : "value"} after "," (JSON allows no trailing comma)`);
    }
  }

  key(): void {
    if (this.ws() !== '"') this.fail("expected a key in double quotes");
    this.string();
    if (this.ws() !== ":") this.fail('expected ":" after the key');
    this.pos++;
  }
}

/** The first syntax error in `text`, or null when it is valid JSON. */
export function jsonSyntaxError(text: string): JsonSyntaxError | null {
  const s = new Scanner(text);
  try {
    if (text.charCodeAt(0) === 0xfeff) s.pos = 1;
    s.value(0);
    if (s.ws() !== "") s.fail("expected the end of the file after the JSON value");
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) return null;
    const before = text.slice(0, e.pos);
    return { line: before.split("\n").length, column: e.pos - (before.lastIndexOf("\n") + 1) + 1, reason: e.reason };
  }
}

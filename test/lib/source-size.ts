/**
 * @module test/lib/source-size
 * Size rules of the architecture test: lines per file, and lines per function body.
 * TypeScript 7's package has no JavaScript compiler API, so functions are found by a
 * small scanner instead of a parser:
 *   1. `codeOnly` blanks string and template text, comments and regular expressions
 *      (newlines kept, so line numbers stay true; a template's `${` is kept as code);
 *   2. `functionBodies` tokenizes what is left and takes a `{` as a function body when
 *      it follows `=>`, or a `)` whose `(` is not an `if`/`for`/`while`/`switch`/`catch`
 *      (directly, or after a return type annotation);
 *   3. a body's length is its lines from `{` to the matching `}`, both included.
 * Good enough for warren's own code (which the checker's tests below mirror), not a
 * general TypeScript parser.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

/** One function body and its length. */
export interface FunctionSize {
  /** The name before the parameter list (method, function or the variable an arrow is assigned to), or "(anonymous)". */
  name: string;
  /** 1-based line of the opening brace. */
  line: number;
  /** Lines from `{` to `}`, both included. */
  lines: number;
}

/** Words after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set(["return", "typeof", "case", "in", "of", "new", "delete", "void", "throw", "else", "do", "yield", "await"]);

/** `src` with every string, template text, comment and regex body replaced by spaces (newlines kept). */
export function codeOnly(src: string): string {
  const out: string[] = [];
  /** Brace depth inside each open `${...}`; the top entry is the innermost template expression. */
  const templates: number[] = [];
  let last = ""; // last significant code character (or a word), for the regex-or-division call
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) out.push(src[k] === "\n" ? "\n" : " ");
  };
  const template = (): void => {
    // at a backtick or just after a template expression's `}`: text until ` or ${
    let k = i;
    while (k < src.length && src[k] !== "`" && !(src[k] === "$" && src[k + 1] === "{")) k += src[k] === "\\" ? 2 : 1;
    blank(i, Math.min(k, src.length));
    if (src[k] === "`") {
      out.push(" ");
      i = k + 1;
      last = '"';
    } else {
      out.push("$", "{");
      templates.push(0);
      i = k + 2;
      last = "{";
    }
  };
  while (i < src.length) {
    const c = src[i] as string;
    const n = src[i + 1];
    if (c === "/" && n === "/") {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      let k = i + 1;
      while (k < src.length && src[k] !== c && src[k] !== "\n") k += src[k] === "\\" ? 2 : 1;
      out.push(c);
      blank(i + 1, Math.min(k, src.length));
      if (k < src.length) out.push(c);
      i = k + 1;
      last = '"';
    } else if (c === "`") {
      out.push(" ");
      i++;
      template();
    } else if (c === "/" && regexMayStart(last)) {
      let k = i + 1;
      let inClass = false;
      while (k < src.length && src[k] !== "\n" && (inClass || src[k] !== "/")) {
        if (src[k] === "[") inClass = true;
        else if (src[k] === "]") inClass = false;
        k += src[k] === "\\" ? 2 : 1;
      }
      k++;
      while (k < src.length && /[a-z]/.test(src[k] as string)) k++;
      out.push('"');
      blank(i + 1, k - 1);
      out.push('"');
      i = k;
      last = '"';
    } else if (templates.length > 0 && (c === "{" || c === "}")) {
      const top = templates.length - 1;
      if (c === "{") templates[top] = (templates[top] as number) + 1;
      else if (templates[top] === 0) {
        templates.pop();
        out.push("}");
        i++;
        template();
        continue;
      } else templates[top] = (templates[top] as number) - 1;
      out.push(c);
      i++;
      last = c;
    } else {
      if (/[A-Za-z0-9_$#]/.test(c)) {
        let k = i;
        while (k < src.length && /[A-Za-z0-9_$]/.test(src[k] as string)) k++;
        const word = src.slice(i, Math.max(k, i + 1));
        out.push(word);
        i += word.length;
        last = REGEX_AFTER_WORD.has(word) ? "(" : "a";
        continue;
      }
      out.push(c);
      if (!/\s/.test(c)) last = c;
      i++;
    }
  }
  return out.join("");
}

function regexMayStart(last: string): boolean {
  return !(last === "a" || last === '"' || last === ")" || last === "]" || last === "}");
}

interface Token {
  text: string;
  line: number;
}

const TOKEN_RE = /[A-Za-z0-9_$#]+|=>|"[^"\n]*"|'[^'\n]*'|\S/g;

function tokenize(code: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let at = 0;
  for (const m of code.matchAll(TOKEN_RE)) {
    for (; at < (m.index ?? 0); at++) if (code[at] === "\n") line++;
    tokens.push({ text: m[0], line });
  }
  return tokens;
}

/** Keywords whose `( ... ) {` opens a block, not a function. */
const CONTROL = new Set(["if", "for", "while", "switch", "catch", "with", "await"]);
const OPENERS: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
const isWord = (t: string | undefined): boolean => t !== undefined && /^[A-Za-z0-9_$#"']/.test(t);

/** Every function body in `src` (methods, functions, arrows with a block body). */
export function functionBodies(src: string): FunctionSize[] {
  const tokens = tokenize(codeOnly(src));
  const match = new Map<number, number>(); // index of an opener -> index of its closer, and back
  const stack: number[] = [];
  tokens.forEach((t, k) => {
    if (t.text === "(" || t.text === "[" || t.text === "{") stack.push(k);
    else if (OPENERS[t.text] !== undefined) {
      const open = stack.pop();
      if (open !== undefined) {
        match.set(open, k);
        match.set(k, open);
      }
    }
  });
  const out: FunctionSize[] = [];
  const seen = new Set<number>();
  const body = (open: number, name: string): void => {
    if (seen.has(open)) return;
    seen.add(open);
    const close = match.get(open);
    const a = tokens[open];
    const b = close === undefined ? undefined : tokens[close];
    if (a !== undefined && b !== undefined) out.push({ name, line: a.line, lines: b.line - a.line + 1 });
  };
  tokens.forEach((t, k) => {
    // `x => {`: an arrow with one bare parameter
    if (t.text === "=>" && isWord(tokens[k - 1]?.text) && tokens[k + 1]?.text === "{") body(k + 1, nameBefore(tokens, k - 1));
    if (t.text !== ")") return;
    const open = match.get(k);
    if (open === undefined) return;
    const before = tokens[open - 1]?.text;
    if (before !== undefined && CONTROL.has(before)) return;
    const start = bodyAfterParams(tokens, k + 1);
    if (start >= 0) body(start, nameBefore(tokens, open));
  });
  return out;
}

/** Index of the `{` of a body that starts at `k` (right after a parameter list), or -1. */
function bodyAfterParams(tokens: readonly Token[], k: number): number {
  const t = tokens[k]?.text;
  if (t === "{") return k;
  if (t === "=>") return tokens[k + 1]?.text === "{" ? k + 1 : -1;
  if (t !== ":") return -1;
  // a return type: the body's `{` is the first one at depth 0 that follows a complete type
  let depth = 0;
  for (let j = k + 1; j < tokens.length; j++) {
    const x = (tokens[j] as Token).text;
    const prev = (tokens[j - 1] as Token).text;
    if (depth === 0) {
      if (x === "{" && (isWord(prev) || prev === ">" || prev === "}" || prev === ")" || prev === "]")) return j;
      if (x === "=>") return tokens[j + 1]?.text === "{" ? j + 1 : -1;
      if (x === ";" || x === "," || x === "=" || x === ")" || x === "]" || x === "}") return -1;
    }
    if (x === "(" || x === "[" || x === "{" || x === "<") depth++;
    else if (x === ")" || x === "]" || x === "}" || x === ">") depth--;
    if (depth < 0) return -1;
  }
  return -1;
}

/** The name a parameter list at `open` belongs to. */
function nameBefore(tokens: readonly Token[], open: number): string {
  let j = open - 1;
  if (tokens[j]?.text === ">") {
    // generic parameters: skip back to the matching `<`
    let depth = 0;
    for (; j >= 0; j--) {
      const x = (tokens[j] as Token).text;
      if (x === ">") depth++;
      else if (x === "<" && --depth === 0) break;
    }
    j--;
  }
  const w = tokens[j]?.text;
  if (isWord(w) && w !== "function" && w !== "async") return w as string;
  // `name = (...) =>`, `name: (...) =>`, `name = function (...)`, `name = async (...) =>`
  for (let back = j; back >= Math.max(0, j - 3); back--) {
    const x = tokens[back]?.text;
    if ((x === "=" || x === ":") && isWord(tokens[back - 1]?.text)) return tokens[back - 1]?.text as string;
  }
  return "(anonymous)";
}

/** Lines of a file (a final newline does not start another line). */
export function lineCount(text: string): number {
  if (text === "") return 0;
  const n = text.split("\n").length;
  return text.endsWith("\n") ? n - 1 : n;
}

/** Files of `files` (relative to `root`) longer than `maxLines`, as `path: N lines`. */
export function longFiles(root: string, files: readonly string[], maxLines: number): string[] {
  const out: string[] = [];
  for (const f of files) {
    const n = lineCount(readFileSync(join(root, f), "utf8"));
    if (n > maxLines) out.push(`${f}: ${n} lines`);
  }
  return out;
}

/** Function bodies in `files` (relative to `root`, `.ts` only) longer than `maxLines`, as `path:line name N lines`. */
export function longFunctions(root: string, files: readonly string[], maxLines: number): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (!f.endsWith(".ts")) continue;
    for (const fn of functionBodies(readFileSync(join(root, f), "utf8"))) {
      if (fn.lines > maxLines) out.push(`${f}:${fn.line} ${fn.name} ${fn.lines} lines`);
    }
  }
  return out;
}

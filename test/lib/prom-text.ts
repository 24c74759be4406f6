/**
 * @module prom-text
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), for tests: it throws,
 * naming the line, on anything the format does not allow, and on a few things it allows
 * but warren never does (blank lines, a family without HELP/TYPE, a counter not named
 * *_total, duplicate series, samples of one family split apart).
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family. */
export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(s: string, where: string): number {
  if (s === "NaN") return NaN;
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

/** Parses `{a="x",b="y"}` starting at `i` (at the `{`); returns labels and the index after `}`. */
function parseLabels(line: string, i: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  while (line[i] !== "}") {
    const eq = line.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = line.slice(i, eq);
    if (!LABEL.test(name) || name.startsWith("__")) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: duplicate label ${name}`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value must be quoted`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = line[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const n = line[j + 1];
        if (n === "\\") value += "\\";
        else if (n === '"') value += '"';
        else if (n === "n") value += "\n";
        else throw new Error(`${where}: bad escape \\${n ?? ""}`);
        j += 2;
        continue;
      }
      if (c === "\n") throw new Error(`${where}: raw newline in label value`);
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") throw new Error(`${where}: expected ',' or '}' after a label`);
  }
  return { labels, end: i + 1 };
}

/** Parses a whole exposition; throws on the first violation. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const meta = new Set<string>();
  let current: string | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, idx) => {
    const where = `line ${idx + 1} ${JSON.stringify(line)}`;
    if (line === "") throw new Error(`${where}: blank line`);
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      let f = families.get(name);
      if (!f) {
        f = { name, type: "untyped", help: "", samples: [] };
        families.set(name, f);
        current = name;
      } else if (current !== name) throw new Error(`${where}: ${name} reopened after other families`);
      if (f.samples.length) throw new Error(`${where}: ${kind} after samples`);
      const seen = `${kind} ${name}`;
      if (meta.has(seen)) throw new Error(`${where}: second ${kind}`);
      meta.add(seen);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${rest}`);
        f.type = rest as Family["type"];
      } else {
        if (/\\[^\\n]/.test(rest)) throw new Error(`${where}: bad escape in HELP`);
        f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!m?.[1]) throw new Error(`${where}: bad sample`);
    const name = m[1];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === "{") ({ labels, end: i } = parseLabels(line, i, where));
    if (line[i] !== " ") throw new Error(`${where}: expected one space before the value`);
    const parts = line.slice(i + 1).split(" ");
    if (parts.length > 2 || parts.some((p) => p === "")) throw new Error(`${where}: expected "value [timestamp]"`);
    const value = parseValue(parts[0] as string, where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    const f = families.get(name);
    if (!f) throw new Error(`${where}: sample of ${name} without # HELP / # TYPE`);
    if (current !== name) throw new Error(`${where}: samples of ${name} are not together`);
    if (!f.help) throw new Error(`${where}: ${name} has no HELP`);
    if (f.type === "counter" && !name.endsWith("_total")) throw new Error(`${where}: counter ${name} does not end in _total`);
    if (f.type === "counter" && (value < 0 || Number.isNaN(value))) throw new Error(`${where}: negative counter`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: duplicate series`);
    series.add(key);
    f.samples.push({ name, labels, value });
  });
  return families;
}

/** The value of one series, or undefined. */
export function valueOf(f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return f.get(name)?.samples.find((s) => JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

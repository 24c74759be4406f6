/**
 * The architecture's rules, checked on src/:
 *   - imports (test/lib/imports.ts holds the layer order): no file-level or folder-level
 *     import cycle, no import from a lower layer into a higher one;
 *   - sizes (test/lib/source-size.ts): no file over MAX_FILE_LINES lines, no function
 *     body over MAX_FUNCTION_LINES lines;
 *   - no dead exports (test/lib/dead-exports.ts): every exported name is used somewhere.
 * Also checks both checkers on small made-up inputs.
 */

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { deadExports, exportedNames } from "../lib/dead-exports.ts";
import { findCycles, folderOf, importEdges, LAYERS, layerViolations, rankOf, sourceFiles } from "../lib/imports.ts";
import { codeOnly, functionBodies, lineCount, longFiles, longFunctions } from "../lib/source-size.ts";

const SRC = join(import.meta.dir, "../../src");
/** Files stay small, one idea each (STYLE.md habit 13). */
const MAX_FILE_LINES = 300;
/** Longest function body, braces included. */
const MAX_FUNCTION_LINES = 60;

describe("src/ import graph", () => {
  const edges = importEdges(SRC);

  test("finds the imports (the checker reads something)", () => {
    expect(sourceFiles(SRC).length).toBeGreaterThan(50);
    expect(edges.length).toBeGreaterThan(100);
  });

  test("no cycle between files", () => {
    expect(findCycles(edges)).toEqual([]);
  });

  test("no cycle between folders", () => {
    const folderEdges = edges.map((e) => ({ from: folderOf(e.from), to: folderOf(e.to) }));
    expect(findCycles(folderEdges)).toEqual([]);
  });

  test("every folder is in the layer order and imports only downwards", () => {
    expect(layerViolations(edges)).toEqual([]);
  });
});

describe("src/ sizes", () => {
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(SRC, join(d.parentPath, d.name)));

  test(`no file over ${MAX_FILE_LINES} lines`, () => {
    expect(files.length).toBeGreaterThan(50);
    expect(longFiles(SRC, files, MAX_FILE_LINES)).toEqual([]);
  });

  test(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const all = files.filter((f) => f.endsWith(".ts")).flatMap((f) => functionBodies(readFileSync(join(SRC, f), "utf8")));
    expect(all.length).toBeGreaterThan(500); // the scanner finds the functions at all
    expect(longFunctions(SRC, files, MAX_FUNCTION_LINES)).toEqual([]);
  });
});

describe("README's Layout section", () => {
  const readme = readFileSync(join(SRC, "../README.md"), "utf8");

  test("names every folder of src/ in its picture of the tree", () => {
    const folders = LAYERS.flat().filter((f) => f !== "." && f !== "server/doors/wireguard" && f !== "protocol/wireguard");
    const pictured = new Set([...readme.matchAll(/^ {2}([a-z/]+)\/ {2,}[^ ]/gm)].map((m) => m[1]));
    expect(pictured.has("cli")).toBe(true); // the pattern reads the picture at all
    expect(folders.filter((f) => !pictured.has(f))).toEqual([]);
  });

  test("gives the layer order of test/lib/imports.ts", () => {
    const order = LAYERS.map((rank) => rank.map((f) => (f === "." ? "main.ts" : f)).join(" | ")).join(" > ");
    expect(readme.replace(/\s+/g, " ")).toContain(`Imports point one way: \`${order}\``);
  });
});

describe("src/ one way to do a thing", () => {
  test("a system error's code is read with lib/errors.ts errorCode / codeOrMessage, not a cast", () => {
    const files = sourceFiles(SRC);
    const casts = files.filter((f) => /as \{ code\?: (string|unknown) \}/.test(readFileSync(join(SRC, f), "utf8")));
    expect(casts).toEqual(["lib/errors.ts"]); // the helpers themselves
  });
});

describe("src/ exports", () => {
  test("every exported name is used somewhere (src, test, bench or build.ts)", () => {
    const root = join(import.meta.dir, "../..");
    const corpus = ["src", "test", "bench", "build.ts"].map((p) => join(root, p));
    expect(deadExports(SRC, corpus)).toEqual([]);
  });

  test("the export finder reads declarations, not export lists", () => {
    const text = "export const A = 1;\nexport async function b() {}\nexport type C = 1;\nexport { d };\nconst e = 2;";
    expect(exportedNames(text)).toEqual(["A", "b", "C"]);
  });
});

describe("the size checker itself", () => {
  test("counts lines; a final newline does not start another", () => {
    expect([lineCount(""), lineCount("a"), lineCount("a\n"), lineCount("a\nb"), lineCount("a\n\n")]).toEqual([0, 1, 1, 2, 2]);
  });

  test("blanks strings, templates, comments and regexes but keeps lines and template code", () => {
    const src = [
      'const a = "{ not code }"; // { nor this',
      "const b = `text ${f({ x: 1 })} more {`;",
      "/* {",
      "   } */ const re = /[{}\/]+/g, half = 4 / 2;",
    ].join("\n");
    const out = codeOnly(src);
    expect(out.split("\n")).toHaveLength(4);
    expect(out.length).toBe(src.length);
    expect(out).not.toContain("not code");
    expect(out).not.toContain("more");
    expect(out).toContain("${f({ x: 1 })}");
    expect(out).toContain("half = 4 / 2");
    expect((out.match(/[{]/g) ?? []).length).toBe((out.match(/[}]/g) ?? []).length);
  });

  test("finds functions, methods, arrows and return-typed bodies, not blocks or object literals", () => {
    const src = [
      "export function one(a: number): { ok: true } | { ok: false } {", // 1
      "  if (a > 0) {",
      "    return { ok: true };",
      "  }",
      "  return { ok: false };",
      "}", // 6
      "class C {",
      "  #m<T>(x: T): Promise<T> {", // 8
      "    for (const y of [x]) {",
      "      void y;",
      "    }",
      "    return Promise.resolve(x);",
      "  }", // 13
      "  get g() {", // 14
      "    return 1;",
      "  }",
      "}",
      "const arrow = async (s: string) => {", // 18
      "  const o = { k: s, f() { return s; } };", // 19: f
      "  return o;",
      "};", // 21
      "const bare = x => {", // 22
      "  return x;",
      "};",
      "switch (arrow.length) {",
      "  case 1: {",
      "    break;",
      "  }",
      "}",
      "try {",
      "} catch (e) {",
      "}",
    ].join("\n");
    const found = functionBodies(src).map((f) => `${f.name}@${f.line}:${f.lines}`);
    expect(found.sort()).toEqual(["#m@8:6", "arrow@18:4", "bare@22:3", "f@19:1", "g@14:3", "one@1:6"].sort());
  });
});

describe("the import checker itself", () => {
  test("finds a three-file cycle and ignores a chain", () => {
    const cyc = findCycles([
      { from: "a", to: "b" },
      { from: "b", to: "c" },
      { from: "c", to: "a" },
      { from: "c", to: "d" },
    ]);
    expect(cyc).toEqual([["a", "b", "c"]]);
    expect(findCycles([{ from: "a", to: "b" }, { from: "b", to: "c" }])).toEqual([]);
  });

  test("flags upward, sideways and unlisted imports", () => {
    const layers = [["cli"], ["server", "client"], ["lib"]];
    const v = layerViolations(
      [
        { from: "cli/x.ts", to: "server/a.ts" },
        { from: "lib/l.ts", to: "cli/x.ts" },
        { from: "server/a.ts", to: "client/b.ts" },
        { from: "server/a.ts", to: "weird/w.ts" },
        { from: "server/a.ts", to: "server/c.ts" },
      ],
      layers,
    );
    expect(v).toHaveLength(3);
    expect(v[0]).toContain("lib is below cli");
    expect(v[1]).toContain("share a layer");
    expect(v[2]).toContain("weird is not in LAYERS");
  });

  test("main.ts sits on top and lib at the bottom", () => {
    expect(rankOf(".")).toBe(0);
    expect(rankOf("lib")).toBe(LAYERS.length - 1);
  });
});

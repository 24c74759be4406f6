/**
 * The architecture's import rules (test/lib/imports.ts holds the layer order):
 * no file-level or folder-level import cycle in src/, no import from a lower
 * layer into a higher one. Also checks the checker on small made-up graphs.
 */

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { findCycles, folderOf, importEdges, LAYERS, layerViolations, rankOf, sourceFiles } from "../lib/imports.ts";

const SRC = join(import.meta.dir, "../../src");

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

describe("the checker itself", () => {
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

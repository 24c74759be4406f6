/**
 * @module test/lib/imports
 * The import graph of `src/` and the checks the architecture test runs on it:
 * no cycle between files, no cycle between folders, and no import from a lower
 * layer into a higher one. LAYERS below is the one place the layer order is written.
 *
 * Type-only imports count: they couple modules as much as value imports do.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * Folders of `src/`, highest layer first. A file may import from its own folder and
 * from folders of a strictly lower rank (a larger index); folders that share a rank
 * (one entry listing several) must not import each other. Every folder must be listed.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["."], // main.ts: the entry point
  ["cli"],
  ["admin"],
  ["config"],
  ["server/doors/wireguard"],
  // datapath/ implements server/'s DataPath seam (server/datapath.ts) the way a door implements
  // FrontDoor, so it sits above server/; only cli/ wires it in. Its worker threads call
  // platform/linux/ (recvmmsg, sendmmsg, the TUN queues) directly, as tun/'s poll worker does.
  ["server/doors", "datapath"],
  ["server", "client"],
  ["auth"],
  ["tun", "transport"],
  ["protocol/wireguard"],
  ["crypto"],
  ["platform/linux"],
  ["protocol"],
  ["lib"],
];

/** One import edge between two files of src/ (paths relative to src/). */
export interface Edge {
  from: string;
  to: string;
}

const IMPORT_RE = /(?:^|[;\n])\s*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Every `.ts` file under `dir`, relative to `root`. */
export function sourceFiles(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(root, p));
    else if (name.endsWith(".ts")) out.push(relative(root, p));
  }
  return out.sort();
}

/** The relative imports of every file under `root` that resolve to another file there. */
export function importEdges(root: string): Edge[] {
  const files = new Set(sourceFiles(root));
  const edges: Edge[] = [];
  for (const f of files) {
    const text = readFileSync(join(root, f), "utf8");
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      if (spec === undefined || !spec.startsWith(".")) continue;
      const target = relative(root, resolve(root, dirname(f), spec));
      if (files.has(target)) edges.push({ from: f, to: target });
    }
  }
  return edges;
}

/** Cycles (each as its list of nodes) in a directed graph given as edges; self-loops ignored. */
export function findCycles(edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (from === to) continue;
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)?.add(to);
  }
  // Tarjan's strongly connected components; every component of 2+ nodes holds a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      for (;;) {
        const w = stack.pop() as string;
        onStack.delete(w);
        comp.push(w);
        if (w === v) break;
      }
      if (comp.length > 1) cycles.push(comp.sort());
    }
  };
  for (const v of next.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

/** The folder of a file relative to src/ (`"."` for top-level files). */
export function folderOf(file: string): string {
  const d = dirname(file);
  return d === "" ? "." : d;
}

/** The rank of a folder in LAYERS, or -1 when it is not listed. */
export function rankOf(folder: string, layers = LAYERS): number {
  return layers.findIndex((row) => row.includes(folder));
}

/** Imports that break the layer order, as `from -> to (why)` lines. */
export function layerViolations(edges: readonly Edge[], layers = LAYERS): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a === b) continue;
    const ra = rankOf(a, layers);
    const rb = rankOf(b, layers);
    if (ra < 0 || rb < 0) out.push(`${from} -> ${to} (folder ${ra < 0 ? a : b} is not in LAYERS)`);
    else if (rb < ra) out.push(`${from} -> ${to} (${a} is below ${b})`);
    else if (rb === ra) out.push(`${from} -> ${to} (${a} and ${b} share a layer and must not import each other)`);
  }
  return out;
}

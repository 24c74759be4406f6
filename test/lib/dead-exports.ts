/**
 * @module test/lib/dead-exports
 * Exports nobody uses: a name exported by a file of `src/` that appears nowhere else,
 * neither again in its own file nor in any file of the corpus (src/, test/, bench/,
 * build.ts). Found by word search, not by a parser: a name mentioned only in a comment
 * counts as used, so the check never flags a live export, and only misses rare dead ones.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const EXPORT_RE = /^export\s+(?:declare\s+)?(?:async\s+)?(?:const|let|function\*?|class|abstract\s+class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm;

/** Every `.ts` file under `dir` (absolute paths). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(".ts"))
    .map((d) => join(d.parentPath, d.name));
}

/** The names exported by `text` (declarations only; `export { ... }` lists are not declarations). */
export function exportedNames(text: string): string[] {
  return [...text.matchAll(EXPORT_RE)].map((m) => m[1] as string);
}

/** `path: name` for each export of a file under `src` that nothing in `corpus` (files or folders) mentions. */
export function deadExports(src: string, corpus: readonly string[]): string[] {
  const files = corpus.flatMap((p) => (p.endsWith(".ts") ? [p] : tsFiles(p)));
  const texts = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));
  const out: string[] = [];
  for (const file of tsFiles(src)) {
    const own = texts.get(file) ?? readFileSync(file, "utf8");
    for (const name of exportedNames(own)) {
      const word = new RegExp(`(?<![\\w$])${name.replace(/\$/g, "\\$")}(?![\\w$])`, "g");
      const inOwn = (own.match(word) ?? []).length;
      if (inOwn > 1) continue;
      const elsewhere = [...texts].some(([f, t]) => f !== file && word.test(t));
      if (!elsewhere) out.push(`${relative(src, file)}: ${name}`);
    }
  }
  return out;
}

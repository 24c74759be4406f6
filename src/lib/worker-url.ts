/**
 * @module lib/worker-url
 * Where a Worker entry point lives relative to the module that starts it. Under `bun run`
 * the worker file sits next to that module; in a `--compile` binary the module is inlined
 * into the main bundle (`/$bunfs/root/<binary>`) and each worker is its own entry point
 * (`/$bunfs/root/<folder>/<name>.js`, see build.ts).
 */

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WarrenError } from "./errors.ts";

/**
 * The first of `candidates` (paths relative to `base`, an `import.meta.url`) that exists.
 * Throws WarrenError `code` saying `what` cannot start, with `hint`, when none does.
 */
export function findWorker(candidates: readonly string[], base: string, code: string, what: string, hint: string): URL {
  for (const candidate of candidates) {
    const url = new URL(candidate, base);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new WarrenError(code, `cannot start ${what}: worker not found near ${base} — ${hint}`);
}

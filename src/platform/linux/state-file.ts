/**
 * @module platform/linux/state-file
 * The small JSON files warren keeps under /run/warren to undo its own changes after a
 * crash (client routes, the DNS backup, NAT rules and sysctls). Written atomically
 * (temp file + rename: a crash never leaves half a file), read back through a valibot
 * schema; a file that does not parse is discarded, never trusted.
 */

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as v from "valibot";

/** The file's validated content; null when it is missing or invalid (an invalid one is removed). */
export function loadStateFile<S extends v.GenericSchema>(path: string, schema: S): v.InferOutput<S> | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  try {
    const r = v.safeParse(schema, JSON.parse(text));
    if (r.success) return r.output;
  } catch {
    // not JSON: discarded below
  }
  rmSync(path, { force: true });
  return null;
}

/** Writes `data` as one JSON line, atomically, creating the directory. Throws the fs error. */
export function saveStateFile(path: string, data: unknown, modes: { dir: number; file: number }): void {
  mkdirSync(dirname(path), { recursive: true, mode: modes.dir });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data)}\n`, { mode: modes.file });
  renameSync(tmp, path);
}

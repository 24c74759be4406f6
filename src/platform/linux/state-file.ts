/**
 * @module platform/linux/state-file
 * The small JSON files warren keeps under /run/warren to undo its own changes after a
 * crash (client routes, the DNS backup, NAT rules and sysctls). Written atomically
 * (temp file + rename: a crash never leaves half a file), read back through a valibot
 * schema; a file that does not parse is discarded, never trusted. The temp file is
 * created O_EXCL|O_NOFOLLOW with its final mode (lib/secure-file.ts): a leftover or a
 * planted symbolic link at its name is removed, never written through; a symbolic link
 * at the state file itself is refused.
 */

import { mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import * as v from "valibot";
import { O_READ_NOFOLLOW, refuseSymlink, writeNewFile } from "../../lib/secure-file.ts";

/** Reads `path` as UTF-8 without following a symbolic link at it (ELOOP). */
function readNoFollow(path: string): string {
  return readFileSync(path, { encoding: "utf8", flag: O_READ_NOFOLLOW });
}

/** The file's validated content; null when it is missing or invalid (an invalid one is removed). */
export function loadStateFile<S extends v.GenericSchema>(path: string, schema: S): v.InferOutput<S> | null {
  let text: string;
  try {
    text = readNoFollow(path);
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

/** Writes `data` as one JSON line, atomically, creating the directory. Throws the fs error (ERR_SYMLINK for a link at `path`). */
export function saveStateFile(path: string, data: unknown, modes: { dir: number; file: number }): void {
  mkdirSync(dirname(path), { recursive: true, mode: modes.dir });
  refuseSymlink(path);
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true }); // a crashed run's leftover (or a planted link): unlinked, not followed
  writeNewFile(tmp, `${JSON.stringify(data)}\n`, modes.file);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * @module platform/linux/state-file
 * The small JSON files warren keeps to undo its own changes after a crash (client
 * routes, the DNS backup, NAT rules and sysctls) and to remember leases. Written
 * atomically: a fresh temp file created O_CREAT|O_EXCL|O_NOFOLLOW with its final mode
 * (lib/secure-file.ts; a leftover or planted symbolic link at its name is removed, never
 * written through), fsync, rename over the old file, fsync of the folder; a crash or
 * power loss leaves the old file or the new one, never half a file. A symbolic link at
 * the state file itself is refused. Read back through a valibot schema, without following
 * a link; a file that does not parse is discarded, never trusted.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import * as v from "valibot";
import { O_NEW, O_READ_NOFOLLOW, refuseSymlink, writeNewFile } from "../../lib/secure-file.ts";

/** The file's validated content; null when it is missing or invalid (an invalid one is removed). */
export function loadStateFile<S extends v.GenericSchema>(path: string, schema: S): v.InferOutput<S> | null {
  let text: string;
  try {
    text = readFileSync(path, { encoding: "utf8", flag: O_READ_NOFOLLOW });
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

/** Folder and file modes of a state file. */
export interface StateFileModes {
  dir: number;
  file: number;
}

/** Writes `data` as one JSON line, atomically (see the module comment). Throws the fs error (ERR_SYMLINK for a link at `path`). */
export function saveStateFile(path: string, data: unknown, modes: StateFileModes): void {
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
  syncDir(dirname(path));
}

/**
 * `saveStateFile` off the event loop (the file system work runs on Bun's thread pool).
 * Callers must not run two saves of one path at once (they share the temp name).
 */
export async function saveStateFileAsync(path: string, data: unknown, modes: StateFileModes): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: modes.dir });
  refuseSymlink(path);
  const tmp = `${path}.tmp`;
  await rm(tmp, { force: true });
  const fh = await open(tmp, O_NEW, modes.file);
  try {
    await fh.writeFile(`${JSON.stringify(data)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  syncDir(dirname(path));
}

/** fsync of a folder, so a rename in it is durable; best effort (some file systems refuse). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the rename is done; only its durability across a power loss is in question
  }
}

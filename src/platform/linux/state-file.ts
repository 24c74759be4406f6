/**
 * @module platform/linux/state-file
 * The small JSON files warren keeps to undo its own changes after a crash (client
 * routes, the DNS backup, NAT rules and sysctls) and to remember leases. Written
 * atomically: a fresh temp file (O_CREAT|O_EXCL, so never through a planted symlink),
 * fsync, rename over the old file, fsync of the folder; a crash or power loss leaves the
 * old file or the new one, never half a file. Read back through a valibot schema; a file
 * that does not parse is discarded, never trusted.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
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

/** Folder and file modes of a state file. */
export interface StateFileModes {
  dir: number;
  file: number;
}

/** Writes `data` as one JSON line, atomically (see the module comment), creating the folder. Throws the fs error. */
export function saveStateFile(path: string, data: unknown, modes: StateFileModes): void {
  mkdirSync(dirname(path), { recursive: true, mode: modes.dir });
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, "wx", modes.file);
  try {
    writeSync(fd, `${JSON.stringify(data)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/**
 * `saveStateFile` off the event loop (the file system work runs on Bun's thread pool).
 * Callers must not run two saves of one path at once (they share the temp name).
 */
export async function saveStateFileAsync(path: string, data: unknown, modes: StateFileModes): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: modes.dir });
  const tmp = `${path}.tmp`;
  await rm(tmp, { force: true });
  const fh = await open(tmp, "wx", modes.file);
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

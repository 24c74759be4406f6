/**
 * @module lib/state-file
 * Files warren replaces as a whole, written so that a reader (or the next run after a
 * crash) sees the old content or the new, never half of either:
 *   1. the content goes into a temp file beside the target, with a name no one else
 *      uses (`.<name>.<pid>.<counter>.<random>.tmp`), created with O_EXCL and the
 *      final mode;
 *   2. it is fsync'ed, closed, and renamed over the target (atomic on one filesystem);
 *   3. on any failure the temp file is removed and the fs error is rethrown.
 * On top of that, the small JSON state files under /run/warren that let warren undo its
 * own changes after a crash (client routes, the DNS backup, NAT rules and sysctls): read
 * back through a valibot schema; a file that does not parse is discarded, never trusted.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import * as v from "valibot";

let tempSerial = 0;

/** Modes of a file written by writeFileAtomic: the file's, and its folder's when it has to be created. */
export interface FileModes {
  file: number;
  /** Create missing folders with this mode; without it a missing folder is an error. */
  dir?: number;
}

/** Replaces `path` with `data` atomically (see the module comment). Throws the fs error. */
export function writeFileAtomic(path: string, data: string | Uint8Array, modes: FileModes): void {
  const dir = dirname(path);
  if (modes.dir !== undefined) mkdirSync(dir, { recursive: true, mode: modes.dir });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${++tempSerial}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let fd = openSync(tmp, "wx", modes.file);
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

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

/** Writes `data` as one JSON line, atomically, creating the folder. Throws the fs error. */
export function saveStateFile(path: string, data: unknown, modes: { dir: number; file: number }): void {
  writeFileAtomic(path, `${JSON.stringify(data)}\n`, modes);
}

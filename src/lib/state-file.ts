/**
 * @module lib/state-file
 * Files warren replaces as a whole (the users file, keys, leases, the small JSON state
 * files that let it undo its own changes after a crash), written so that a reader, or the
 * next run after a crash or a power loss, sees the old content or the new, never half:
 *   1. a symbolic link at the target is refused (never written through);
 *   2. the content goes into a temp file beside the target, with a name no one else uses
 *      (`.<name>.<pid>.<counter>.<random>.tmp`), created O_CREAT|O_EXCL|O_NOFOLLOW with its
 *      final mode (lib/secure-file.ts), so it is never readable by others for a moment;
 *   3. it is fsync'ed, renamed over the target (atomic on one filesystem), and the folder
 *      is fsync'ed so the rename survives a power loss;
 *   4. on any failure the temp file is removed and the fs error rethrown.
 * JSON state files are read back through a valibot schema without following a link; a
 * file that does not parse is discarded, never trusted.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import * as v from "valibot";
import { O_NEW, O_READ_NOFOLLOW, refuseSymlink } from "./secure-file.ts";

let tempSerial = 0;

/** Modes of a file written here: the file's, and its folder's when it has to be created. */
export interface FileModes {
  file: number;
  /** Create missing folders with this mode; without it a missing folder is an error. */
  dir?: number;
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++tempSerial}.${Math.random().toString(36).slice(2, 10)}.tmp`);
}

/** Replaces `path` with `data` atomically (see the module comment). Throws the fs error (ERR_SYMLINK for a link at `path`). */
export function writeFileAtomic(path: string, data: string | Uint8Array, modes: FileModes): void {
  if (modes.dir !== undefined) mkdirSync(dirname(path), { recursive: true, mode: modes.dir });
  refuseSymlink(path);
  const tmp = tempName(path);
  let fd = openSync(tmp, O_NEW, modes.file);
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
  syncDir(dirname(path));
}

/** `writeFileAtomic` off the event loop (the file system work runs on Bun's thread pool). */
export async function writeFileAtomicAsync(path: string, data: string, modes: FileModes): Promise<void> {
  if (modes.dir !== undefined) mkdirSync(dirname(path), { recursive: true, mode: modes.dir });
  refuseSymlink(path);
  const tmp = tempName(path);
  const fh = await open(tmp, O_NEW, modes.file);
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  syncDir(dirname(path));
}

/** fsync of a folder, so a rename in it is durable; best effort (some file systems refuse). */
export function syncDir(dir: string): void {
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

/** Writes `data` as one JSON line, atomically, creating the folder. Throws the fs error. */
export function saveStateFile(path: string, data: unknown, modes: { dir: number; file: number }): void {
  writeFileAtomic(path, `${JSON.stringify(data)}\n`, modes);
}

/** `saveStateFile` off the event loop. */
export function saveStateFileAsync(path: string, data: unknown, modes: { dir: number; file: number }): Promise<void> {
  return writeFileAtomicAsync(path, `${JSON.stringify(data)}\n`, modes);
}

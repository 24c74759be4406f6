/**
 * @module lib/secure-file
 * Creating files that hold secrets, pids or state, so that nobody else can read them
 * or redirect them:
 *   - created with O_CREAT|O_EXCL|O_NOFOLLOW and their final mode passed to open(2):
 *     the file never exists with a wider mode, not even between create and chmod, and
 *     a symbolic link (or any file) already at the name makes the open fail instead of
 *     being followed or truncated;
 *   - written atomically (writeFileAtomic): a fresh temp file beside the target, fsync,
 *     rename over it, so readers see the old or the new file, never half of one;
 *   - a symbolic link at the target itself is refused (refuseSymlink), never replaced
 *     or followed: whoever planted it gets an error naming the path.
 * The modes given are upper bounds: the process umask can only narrow them.
 */

import { closeSync, constants, fsyncSync, lstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { WarrenError } from "./errors.ts";

/** open(2) flags of a file that must be new: never an existing file, never through a symlink. */
export const O_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** open(2) flags for reading a file that must not be a symbolic link. */
export const O_READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/** The `code` of a thrown fs error (`EEXIST`), or its message. */
export function errCode(e: unknown): string {
  return (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e));
}

/** Creates `path` (must not exist, not even as a symlink) with `mode`, open for writing. Throws the fs error. */
export function openNew(path: string, mode = 0o600): number {
  return openSync(path, O_NEW, mode);
}

/** Throws WarrenError(code) when `path` is a symbolic link; a missing path is fine. */
export function refuseSymlink(path: string, code = "ERR_SYMLINK"): void {
  let link = false;
  try {
    link = lstatSync(path).isSymbolicLink();
  } catch {
    return; // missing (or unreadable: the open that follows reports it)
  }
  if (link) throw new WarrenError(code, `refusing ${path}: it is a symbolic link`);
}

/** Creates `path` holding `text` with `mode` (O_EXCL|O_NOFOLLOW, fsync). Throws the fs error; never leaves a partial file. */
export function writeNewFile(path: string, text: string, mode = 0o600): void {
  const fd = openNew(path, mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw e;
  }
  closeSync(fd);
}

/**
 * Writes `text` to `path` atomically with `mode` (default 0600): a uniquely named temp
 * file beside it (created O_EXCL|O_NOFOLLOW with that mode), fsync, rename over the old
 * one. A symbolic link at `path` is refused. Throws WarrenError ERR_WRITE (one line);
 * never leaves the temp file.
 */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  refuseSymlink(path, "ERR_WRITE");
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    writeNewFile(tmp, text, mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new WarrenError("ERR_WRITE", `cannot write ${path}: ${errCode(e)}`);
  }
}

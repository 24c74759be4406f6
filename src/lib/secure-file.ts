/**
 * @module lib/secure-file
 * Creating files that hold secrets, pids or state, so that nobody else can read them
 * or redirect them:
 *   - created with O_CREAT|O_EXCL|O_NOFOLLOW and their final mode passed to open(2):
 *     the file never exists with a wider mode, not even between create and chmod, and
 *     a symbolic link (or any file) already at the name makes the open fail instead of
 *     being followed or truncated;
 *   - replaced atomically by lib/state-file.ts (writeFileAtomic), on top of these;
 *   - a symbolic link at the target itself is refused (refuseSymlink), never replaced
 *     or followed: whoever planted it gets an error naming the path.
 * The modes given are upper bounds: the process umask can only narrow them.
 */

import { closeSync, constants, fsyncSync, lstatSync, openSync, rmSync, writeSync } from "node:fs";
import { WarrenError } from "./errors.ts";

/** open(2) flags of a file that must be new: never an existing file, never through a symlink. */
export const O_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** open(2) flags for reading a file that must not be a symbolic link. */
export const O_READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

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

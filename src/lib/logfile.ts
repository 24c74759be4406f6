/**
 * @module logfile
 * A log file with size-based rotation: `warren.log` is the live file; when the next
 * line would push it past `maxSize`, it becomes `warren.log.1`, the old `.1` becomes
 * `.2`, and so on up to `.keep`; the oldest falls off. With keep = 0 the file is just
 * truncated. Writes are synchronous appends (log lines are few and rate-limited on the
 * packet path), so a line is on disk before the next one is formatted.
 *
 * The rename plan is a pure function (`rotationPlan`), tested without a filesystem.
 * An external logrotate can rotate instead: it renames the file and sends SIGUSR1,
 * and `reopen` starts a new one at the path.
 */

import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError, errorCode, fsReason } from "./errors.ts";
import { got } from "./issues.ts";

/** Most rotated files warren manages (the config's upper bound for logKeep). */
export const MAX_LOG_KEEP = 100;
const FILE_MODE = 0o640;

/** What one rotation does, in order: delete `remove` (if any), then each rename. */
export interface RotationPlan {
  remove: string | null;
  renames: Array<[from: string, to: string]>;
}

/**
 * The renames that rotate `path` keeping `keep` old files: `path.keep` is removed,
 * `path.(i)` -> `path.(i+1)` from the oldest down, then `path` -> `path.1`.
 * keep = 0: `path` itself is removed.
 */
export function rotationPlan(path: string, keep: number): RotationPlan {
  if (keep <= 0) return { remove: path, renames: [] };
  const renames: Array<[string, string]> = [];
  for (let i = keep - 1; i >= 1; i--) renames.push([`${path}.${i}`, `${path}.${i + 1}`]);
  renames.push([path, `${path}.1`]);
  return { remove: `${path}.${keep}`, renames };
}

/** True when writing `lineBytes` more to a file of `size` bytes must rotate it first. */
export function mustRotate(size: number, lineBytes: number, maxSize: number): boolean {
  return size > 0 && size + lineBytes > maxSize;
}

/** An append-only log file that rotates itself by size. */
export class RotatingFile {
  readonly path: string;
  readonly maxSize: number;
  readonly keep: number;
  #fd: number;
  #size: number;
  /** Lines that could not be written (disk full, file gone); reported once on stderr. */
  #failed = 0;

  /** Opens (creates, with its folder) `path` for appending; throws ConfigError (logFile) when it cannot. */
  constructor(path: string, maxSize: number, keep: number) {
    this.path = path;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    } catch {
      /* openLog reports the problem */
    }
    this.maxSize = maxSize;
    this.keep = Math.min(Math.max(0, Math.floor(keep)), MAX_LOG_KEEP);
    try {
      this.#fd = openLog(path);
    } catch (e) {
      throw logFileError(path, e);
    }
    this.#size = fstatSync(this.#fd).size;
    // Files beyond `keep` (left by an earlier run with a larger keep) are removed.
    for (let i = this.keep + 1; i <= MAX_LOG_KEEP; i++) removeQuietly(`${path}.${i}`);
  }

  /** Current size of the live file in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Appends one line (the caller includes the newline); rotates first when needed. Never throws. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    try {
      if (mustRotate(this.#size, bytes, this.maxSize)) this.rotate();
      this.#size += writeSync(this.#fd, line);
    } catch (e) {
      if (this.#failed++ === 0) process.stderr.write(`warren: cannot write log file ${this.path}: ${errorCode(e) ?? String(e)}\n`);
    }
  }

  /** Rotates now (also used by `write`). */
  rotate(): void {
    closeSync(this.#fd);
    const plan = rotationPlan(this.path, this.keep);
    if (plan.remove !== null) removeQuietly(plan.remove);
    for (const [from, to] of plan.renames) if (existsSync(from)) renameSync(from, to);
    this.#fd = openLog(this.path);
    this.#size = 0;
  }

  /**
   * Closes the file and opens `path` again, created anew when an external logrotate
   * moved it away (SIGUSR1). When it cannot be opened, lines are dropped (reported once)
   * until the next reopen.
   */
  reopen(): void {
    this.close();
    try {
      this.#fd = openLog(this.path);
      this.#size = fstatSync(this.#fd).size;
      this.#failed = 0;
    } catch (e) {
      this.#size = 0;
      process.stderr.write(`warren: cannot open log file ${this.path}: ${errorCode(e) ?? String(e)}\n`);
    }
  }

  /** Closes the file; later writes are dropped. */
  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      /* already closed */
    }
    this.#fd = -1;
  }
}

/** Opens `path` for appending (created with FILE_MODE); throws the file system's error. */
function openLog(path: string): number {
  return openSync(path, "a", FILE_MODE);
}

/** A log file that cannot be opened at start: the setting (`logFile`), why in words, and the path. */
export function logFileError(path: string, e: unknown): ConfigError {
  return new ConfigError("logFile", `cannot open it: ${fsReason(e)}${got(path)}`);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* not there */
  }
}

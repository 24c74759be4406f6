/**
 * @module admin/capture-dir
 * Keeps `--capture-dir` under its size cap (`--capture-dir-max`, default 1G):
 *   1. only warren's own capture files count and are ever deleted: regular files named
 *      like capturePath() makes them (`<id>-<YYYYMMDDTHHMMSSZ>[-N].pcap`); anything else
 *      in the folder (other names, links, folders) is left alone and not counted;
 *   2. finished files are deleted oldest first (by mtime) until the total fits; a file
 *      being written is never deleted;
 *   3. when the running captures alone exceed the cap, the newest of them are stopped
 *      (their files stay until a later check needs the room).
 * A check runs when a capture starts in the folder and every CHECK_MS while one runs.
 * It is asynchronous (never blocks the packet path) and bounded: at most MAX_SCAN names
 * are looked at, and at most one check runs at a time (a request during one is merged
 * into a single follow-up).
 */

import { lstat, readdir, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Logger } from "../lib/log.ts";
import type { Session } from "../server/session.ts";
import { codeOrMessage } from "../lib/errors.ts";

/** The names warren gives capture files (see commands.ts capturePath). */
export const CAPTURE_NAME_RE = /^[A-Za-z0-9._-]+-\d{8}T\d{6}Z(?:-\d{1,3})?\.pcap$/;
/** Most directory entries one check looks at. */
export const MAX_SCAN = 10_000;
/** How often the folder is checked while a capture runs in it. */
export const CHECK_MS = 5_000;

/** One capture file found in the folder. */
interface Found {
  path: string;
  size: number;
  mtimeMs: number;
}

/** What one check did. */
export interface DirCheck {
  /** Bytes of warren's capture files left in the folder. */
  total: number;
  /** Files deleted (oldest first). */
  deleted: string[];
  /** Running captures stopped because they alone were over the cap. */
  stopped: string[];
}

/** What the keeper needs from the capture manager. */
export interface CaptureHost {
  /** Running captures, oldest first. */
  running(): Array<{ session: Session; file: string }>;
  stop(s: Session, why: string): Promise<unknown>;
}

/** Warren's capture files in `dir` (at most MAX_SCAN entries looked at). */
async function listCaptures(dir: string): Promise<Found[]> {
  const names = (await readdir(dir)).slice(0, MAX_SCAN).filter((n) => CAPTURE_NAME_RE.test(n));
  const out: Found[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = await lstat(path);
      if (st.isFile()) out.push({ path, size: st.size, mtimeMs: st.mtimeMs });
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

/** The cap of one capture folder. */
export class CaptureDirKeeper {
  readonly dir: string;
  readonly #host: CaptureHost;
  readonly #log: Logger;
  readonly #maxBytes: () => number;
  readonly #checkMs: number;
  #running: Promise<DirCheck> | null = null;
  #again = false;
  #timer: ReturnType<typeof setInterval> | null = null;

  /** `maxBytes` is read at every check (it can change on reload). */
  constructor(dir: string, maxBytes: () => number, host: CaptureHost, log: Logger, checkMs = CHECK_MS) {
    this.dir = resolve(dir);
    this.#maxBytes = maxBytes;
    this.#host = host;
    this.#log = log;
    this.#checkMs = checkMs;
  }

  /** A capture started in the folder: check now, and periodically while captures run. */
  started(): void {
    void this.check();
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      if (this.#mine().length === 0) return this.stop();
      void this.check();
    }, this.#checkMs);
    this.#timer.unref?.();
  }

  /** Stops the periodic check. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Runs one check (or joins the one running and schedules one more). Never rejects. */
  check(): Promise<DirCheck> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    const run = this.#checkOnce()
      .catch((e: unknown): DirCheck => {
        this.#log.warn(`capture dir ${this.dir}: cannot check its size: ${codeOrMessage(e)}`);
        return { total: 0, deleted: [], stopped: [] };
      })
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          void this.check();
        }
      });
    this.#running = run;
    return run;
  }

  /** Running captures whose file is in this folder, oldest first. */
  #mine(): Array<{ session: Session; file: string }> {
    return this.#host.running().filter((r) => dirname(resolve(r.file)) === this.dir);
  }

  async #checkOnce(): Promise<DirCheck> {
    const cap = this.#maxBytes();
    const files = await listCaptures(this.dir);
    const active = new Set(this.#mine().map((r) => resolve(r.file)));
    let total = files.reduce((n, f) => n + f.size, 0);
    const done: DirCheck = { total, deleted: [], stopped: [] };
    const finished = files.filter((f) => !active.has(f.path)).sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of finished) {
      if (total <= cap) break;
      try {
        await unlink(f.path);
        total -= f.size;
        done.deleted.push(f.path);
      } catch (e) {
        if (codeOrMessage(e) === "ENOENT") total -= f.size;
        else this.#log.warn(`capture dir ${this.dir}: cannot delete ${f.path}: ${codeOrMessage(e)}`);
      }
    }
    if (done.deleted.length > 0) this.#log.info(`capture dir ${this.dir} over ${cap} bytes: deleted ${done.deleted.length} oldest capture file(s)`);
    if (total > cap) await this.#stopNewest(files, total - cap, done);
    done.total = total;
    return done;
  }

  /**
   * Stops running captures of this folder, newest first, until their files cover
   * `excess` bytes. The files stay on disk until a later check needs the room.
   */
  async #stopNewest(files: Found[], excess: number, done: DirCheck): Promise<void> {
    const sizes = new Map(files.map((f) => [f.path, f.size]));
    let covered = 0;
    for (const r of this.#mine().reverse()) {
      if (covered >= excess) break;
      covered += sizes.get(resolve(r.file)) ?? 0;
      done.stopped.push(r.file);
      await this.#host.stop(r.session, `stopped: capture dir over its limit (${this.#maxBytes()} bytes)`);
    }
  }
}

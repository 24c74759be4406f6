/**
 * @module lib/pidfile
 * Pid files and lock files: a file holding one process id, created atomically, that
 * names the process which owns something (the server's pid file, the watchdog's lock).
 *
 * Creating: the content goes into a private temp file first (O_EXCL|O_NOFOLLOW, mode
 * 0600 from the first byte: lib/secure-file.ts), which is then hard-linked to the final
 * name. link(2) fails with EEXIST when the name exists, so exactly one of several
 * racing processes wins, and nobody ever reads a half-written file (the same guarantee
 * as O_EXCL, without the window between create and write). A symbolic link at the name
 * is never followed: reading it fails (ELOOP) and the claim is refused with an error.
 *
 * Stale files: when the named process is gone (or is no longer warren: pids get
 * reused), the file is stale. Removing it is itself guarded by a second file,
 * `<path>.break`, created the same way, and the stale file is only removed when it
 * still names the same dead pid; so two processes breaking the same stale file cannot
 * delete each other's fresh one. A `.break` file older than BREAK_STALE_MS (its holder
 * died in the microseconds it holds it) is removed by whoever finds it.
 *
 * Liveness reads /proc: the process exists, is not a zombie, and its command line is
 * warren's (`warren <command>` or `bun .../main.ts <command>`), see isWarrenProcess.
 */

import { linkSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname } from "node:path";
import { codeOrMessage, ConfigError, errorCode, fsReason, WarrenError } from "./errors.ts";
import { got } from "./issues.ts";
import { O_READ_NOFOLLOW, writeNewFile } from "./secure-file.ts";

/** Age after which a leftover `<path>.break` file is removed. */
export const BREAK_STALE_MS = 10_000;
const CLAIM_ATTEMPTS = 4;

/** Decides whether the process `pid` still owns a pid file. */
export type Liveness = (pid: number) => boolean;

/** Result of claimFile: ours, or held by the live process `holder`. */
export type Claim = { ok: true } | { ok: false; holder: number };

/**
 * The pid in `path`: null when the file does not exist, 0 when it holds no valid pid.
 * Throws WarrenError when it cannot be read, or is a symbolic link (never followed).
 */
export function readPid(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, { encoding: "utf8", flag: O_READ_NOFOLLOW });
  } catch (e) {
    const code = codeOrMessage(e);
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new WarrenError("ERR_PIDFILE", `refusing ${path}: it is a symbolic link`);
    throw fileError("read", path, e);
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : 0;
  return pid > 0 && pid < 2 ** 31 ? pid : 0;
}

function fileError(verb: string, path: string, e: unknown): WarrenError {
  const code = codeOrMessage(e);
  return new WarrenError("ERR_PIDFILE", `cannot ${verb} ${path}: ${code}`);
}

/** Creates `path` holding `content` unless it exists. True when created. */
function createExclusive(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    rmSync(tmp, { force: true }); // a leftover of an earlier process with our pid (unlinked, never followed)
    writeNewFile(tmp, content, 0o600);
  } catch (e) {
    throw fileError("create", path, e);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if (errorCode(e) === "EEXIST") return false;
    throw fileError("create", path, e);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
}

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (errorCode(e) !== "ENOENT") throw fileError("remove", path, e);
  }
}

/** Removes `path` if it still names `stalePid`, under the `.break` guard described above. */
function breakStale(path: string, stalePid: number): void {
  const guard = `${path}.break`;
  if (!createExclusive(guard, `${process.pid}\n`)) {
    try {
      if (Date.now() - statSync(guard).mtimeMs > BREAK_STALE_MS) unlinkIfExists(guard);
    } catch {
      /* removed meanwhile */
    }
    Bun.sleepSync(20);
    return;
  }
  try {
    if (readPid(path) === stalePid) unlinkIfExists(path);
  } finally {
    unlinkIfExists(guard);
  }
}

/**
 * Claims `path` for this process: creates it with our pid, replacing a stale file.
 * Returns `{ ok: false, holder }` when a live process (by `isLive`) holds it.
 * Throws WarrenError (one line) when the file cannot be created at all (EACCES, ENOENT dir).
 */
export function claimFile(path: string, isLive: Liveness): Claim {
  let holder = 0;
  for (let i = 0; i < CLAIM_ATTEMPTS; i++) {
    if (createExclusive(path, `${process.pid}\n`)) return { ok: true };
    const pid = readPid(path);
    if (pid === null) continue; // removed meanwhile: try again
    if (pid === process.pid) return { ok: true };
    holder = pid;
    if (pid > 0 && isLive(pid)) return { ok: false, holder: pid };
    breakStale(path, pid);
  }
  return { ok: false, holder };
}

/** Removes `path` if it names this process. Never throws. */
export function releaseFile(path: string): void {
  try {
    if (readPid(path) === process.pid) unlinkSync(path);
  } catch {
    /* gone or unreadable: nothing of ours to remove */
  }
}

/**
 * Claims the server's pid file for the life of this process (removed on exit).
 * Throws `already running (pid N, pid file P)` when a live warren server holds it.
 */
export function holdPidFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new ConfigError("pidFile", `cannot create its folder: ${fsReason(e)}${got(path)}`);
  }
  const claim = claimFile(path, (pid) => isWarrenProcess(pid, "server"));
  if (!claim.ok) {
    throw new WarrenError("ERR_RUNNING", `already running (pid ${claim.holder}, pid file ${path})`);
  }
  process.once("exit", () => releaseFile(path));
}

/**
 * Whether argv/exe describe a warren process running `command`: argv[1] (compiled
 * binary) or argv[2] (`bun main.ts`) is the command, and the program is warren (name
 * starts with "warren", or the same executable as this process, e.g. the same bun).
 */
export function looksLikeWarren(argv: readonly string[], exe: string, ownExe: string, command: string): boolean {
  if (argv[1] !== command && argv[2] !== command) return false;
  const program = basename(argv[0] ?? "");
  return program.startsWith("warren") || (exe !== "" && exe.replace(/ \(deleted\)$/, "") === ownExe);
}

/** Whether process `pid` exists and is not a zombie (reads /proc/PID/stat). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Whether `pid` is a live (non-zombie) warren process running `command` (reads /proc). */
export function isWarrenProcess(pid: number, command: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    let exe = "";
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      /* not ours to inspect: decide by argv */
    }
    return looksLikeWarren(argv, exe, process.execPath, command);
  } catch {
    return false;
  }
}

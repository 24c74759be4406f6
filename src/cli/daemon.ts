/**
 * @module cli/daemon
 * `warren server --daemon` and the watchdog's way of starting a server: run this same
 * program again (`process.execPath`, plus the script for `bun src/main.ts`) as a
 * detached child in its own session (setsid), stdin closed and stdout/stderr appended
 * to the log file (or /dev/null), then wait for it to report.
 *
 * Handshake over Bun's IPC channel (JSON): the child sends `{ kind: "ready", summary }`
 * once the server runs, or `{ kind: "error", line }` from main.ts's error path, then
 * disconnects. The parent prints the summary (so a generated secret reaches the
 * terminal, not the log file) and exits 0; on an error it exits with the child's line
 * and status. A child that exits or stays silent past the timeout is an error too
 * (a silent one is killed). The child's environment carries DAEMON_ENV=1.
 */

import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type { Subprocess } from "bun";
import { ConfigError, WarrenError } from "../lib/errors.ts";
import { logFileError } from "../lib/logfile.ts";
import { isWarrenProcess, readPid } from "../lib/pidfile.ts";

/** Environment marker of a child started by spawnDaemon. */
export const DAEMON_ENV = "WARREN_DAEMON_CHILD";
/** How long the parent waits for the child's report. */
export const READY_TIMEOUT_MS = 30_000;

/** Messages from the child. */
type ChildMessage = { kind: "ready"; summary: string } | { kind: "error"; line: string };

/** A started daemon: its pid and the startup summary it reported. */
export interface Daemon {
  pid: number;
  summary: string;
}

/** argv that runs this program again with `args`: compiled binary, or bun + script. */
export function selfCommand(args: readonly string[]): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

function isChildMessage(m: unknown): m is ChildMessage {
  if (m === null || typeof m !== "object") return false;
  const o = m as Record<string, unknown>;
  return (o.kind === "ready" && typeof o.summary === "string") || (o.kind === "error" && typeof o.line === "string");
}

/**
 * Starts `command` (normally `selfCommand(["server", ...])`) as a detached daemon and
 * resolves once it reports ready.
 * Rejects with the child's own error line (ConfigError when it exited 2), or with
 * `server exited with status N during startup` / `did not report ready within N s`.
 */
export async function spawnDaemon(command: readonly string[], opts: { logFile?: string; cwd?: string; timeoutMs?: number } = {}): Promise<Daemon> {
  let out: number | "ignore" = "ignore";
  if (opts.logFile) {
    try {
      mkdirSync(dirname(opts.logFile), { recursive: true, mode: 0o755 });
      out = openSync(opts.logFile, "a", 0o640);
    } catch (e) {
      throw logFileError(opts.logFile, e);
    }
  }
  let settle: (m: ChildMessage | { kind: "exit"; code: number } | { kind: "timeout" }) => void = () => {};
  const outcome = new Promise<ChildMessage | { kind: "exit"; code: number } | { kind: "timeout" }>((r) => (settle = r));
  let child: Subprocess;
  try {
    child = Bun.spawn([...command], {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, [DAEMON_ENV]: "1" },
      stdio: ["ignore", out, out],
      detached: true,
      serialization: "json",
      ipc: (m: unknown) => {
        if (isChildMessage(m)) settle(m);
      },
    });
  } finally {
    if (typeof out === "number") closeSync(out);
  }
  const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS;
  const timer = setTimeout(() => settle({ kind: "timeout" }), timeoutMs);
  void child.exited.then((code) => settle({ kind: "exit", code }));
  const first = await outcome;
  clearTimeout(timer);

  if (first.kind === "ready") {
    child.unref();
    return { pid: child.pid, summary: first.summary };
  }
  if (first.kind === "timeout") {
    child.kill("SIGTERM");
    throw new WarrenError("ERR_DAEMON", `the server (pid ${child.pid}) did not report ready within ${Math.round(timeoutMs / 1000)} s; stopped it${opts.logFile ? `; see ${opts.logFile}` : ""}`);
  }
  const code = first.kind === "exit" ? first.code : await exitCodeWithin(child, 5000);
  if (first.kind === "error") {
    const text = first.line.replace(/^warren: /, "");
    throw code === 2 ? new ConfigError("", text) : new WarrenError("ERR_DAEMON", text);
  }
  throw new WarrenError("ERR_DAEMON", `the server exited with status ${code} during startup${opts.logFile ? `; see ${opts.logFile}` : ""}`);
}

/**
 * `warren server --daemon ...` (argv after "server"): refuses early when the pid file names a live server,
 * starts the same command line without --daemon in the background, prints the
 * child's summary and where it runs. Returns the exit status.
 */
export async function runInBackground(argv: readonly string[], cfg: { pidFile?: string | undefined; logFile?: string | undefined }): Promise<number> {
  if (cfg.pidFile) {
    const pid = readPid(cfg.pidFile);
    if (pid && isWarrenProcess(pid, "server")) {
      throw new WarrenError("ERR_RUNNING", `already running (pid ${pid}, pid file ${cfg.pidFile})`);
    }
  }
  const d = await spawnDaemon(selfCommand(["server", ...argv.filter((a) => a !== "--daemon")]), cfg.logFile ? { logFile: cfg.logFile } : {});
  process.stdout.write(`${d.summary.trimEnd()}\n`);
  const where = [cfg.pidFile ? `pid file ${cfg.pidFile}` : "", cfg.logFile ? `log ${cfg.logFile}` : "no log file (--log-file)"].filter(Boolean).join(", ");
  process.stdout.write(`warren: running in the background, pid ${d.pid}; ${where}; stop it with: kill ${d.pid}\n`);
  return 0;
}

/** The child's exit status, or 1 when it has not exited within `ms` (no timer left behind). */
async function exitCodeWithin(child: Subprocess, ms: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<number>((r) => (timer = setTimeout(() => r(1), ms)));
  try {
    return await Promise.race([child.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

let channelOpen: boolean | undefined;
let pendingSummary = "";

/** True in a child started by spawnDaemon whose report is still due. */
function daemonChild(): boolean {
  if (channelOpen === undefined) {
    channelOpen = process.env[DAEMON_ENV] === "1" && typeof process.send === "function";
    delete process.env[DAEMON_ENV]; // not inherited by anything the server runs
  }
  return channelOpen;
}
daemonChild(); // at load: drop the marker before the server can start anything

function report(m: ChildMessage): void {
  channelOpen = false;
  const disconnect = () => {
    try {
      process.disconnect?.();
    } catch {
      /* the parent is gone already */
    }
  };
  try {
    process.send?.(m, undefined, undefined, disconnect);
  } catch {
    disconnect(); // the parent died before we reported: run on
  }
}

/**
 * The server's startup summary: on stdout, or, in a daemon child, kept for the
 * ready report (so a generated secret reaches the terminal, not the log file).
 */
export function emitSummary(text: string): void {
  if (daemonChild()) pendingSummary += text;
  else process.stdout.write(text);
}

/** In a daemon child: tells the parent the server is ready (with the summary). Else nothing. */
export function reportReady(): void {
  if (daemonChild()) report({ kind: "ready", summary: pendingSummary });
}

/** In a daemon child that has not reported yet: sends the fatal error line. Else nothing. */
export function reportFailure(line: string): void {
  if (daemonChild()) report({ kind: "error", line });
}

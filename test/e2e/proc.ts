/**
 * @module proc
 * Processes for the e2e harness: run a command to completion (bounded), start one in the
 * background with its output in a log file, stop it by PID (SIGTERM, SIGKILL after 3 s), and
 * wait, always with a timeout, for a condition, a log line or an exit. No namespaces here:
 * netns.ts wraps these with `ip netns exec` (and re-exports them).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { pidAlive } from "../../src/lib/pidfile.ts";
import { sleep, waitFor as waitForValue } from "../lib/wait.ts";

/** How long a stopped process gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 3000;

/** Sleep `ms` milliseconds (test/lib/wait.ts). */
export { sleep };

/** Result of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `argv` to completion (killed after `timeoutMs`, default 20 s), capturing output. */
export async function run(argv: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: opts.cwd });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut };
}

/** Like `run`, but throws with the command and its output when it does not exit 0. */
export async function runOk(argv: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    throw new Error(`failed: ${argv.join(" ")} (exit ${r.code}${r.timedOut ? ", timed out" : ""}): ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

/**
 * test/lib/wait.ts's waitFor with the timeout spelled out and a 100 ms default interval:
 * e2e probes often run a command in a namespace.
 */
export function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs: number; intervalMs?: number; detail?: () => Promise<string> | string },
): Promise<T> {
  return waitForValue(what, probe, { intervalMs: 100, ...opts });
}

/** True while `pid` exists and is not a zombie (the server's own check). */
export { pidAlive };

/** SIGTERM `pid`, wait up to 3 s, then SIGKILL. By PID only. Resolves when it is gone (bounded). */
export async function killPid(pid: number, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + KILL_GRACE_MS;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    const hard = Date.now() + 2000;
    while (pidAlive(pid) && Date.now() < hard) await sleep(50);
  }
}

/**
 * A process started in the background. Its stdout and stderr are appended to `log`, unless
 * it was started with a separate stdout file: then `log` holds stderr only.
 */
export interface BgProcess {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  readonly proc: Subprocess;
  /** Exit code once it has exited (signals: 128 + n), else null. */
  exitCode(): number | null;
  /** Everything it printed so far: `log`, then the separate stdout file if there is one. */
  logText(): string;
  /** Only what is in `log` (stderr alone when stdout goes to its own file). */
  errText(): string;
}

/** Options of a background process. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Send stdout to its own file instead of `log` (e.g. to check that stderr holds only log lines). */
  separateStdout?: boolean;
}

/**
 * Starts `argv` in the background, stdout and stderr appended to `logFile` (stdout to
 * `<logFile minus .log>.stdout.log` with `separateStdout`).
 */
export function spawnLogged(name: string, argv: string[], logFile: string, opts: SpawnOptions = {}): BgProcess {
  const outFile = opts.separateStdout ? logFile.replace(/(\.log)?$/, ".stdout.log") : logFile;
  const fd = openSync(logFile, "a");
  const outFd = outFile === logFile ? fd : openSync(outFile, "a");
  let proc: Subprocess;
  try {
    proc = Bun.spawn(argv, {
      stdin: "ignore",
      stdout: outFd,
      stderr: fd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
  } finally {
    closeSync(fd);
    if (outFd !== fd) closeSync(outFd);
  }
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  let code: number | null = null;
  void proc.exited.then((c) => {
    code = c;
  });
  return {
    name,
    pid: proc.pid,
    log: logFile,
    proc,
    exitCode: () => code ?? proc.exitCode ?? (proc.signalCode ? 128 + signalNumber(proc.signalCode) : null),
    logText: () => (outFile === logFile ? read(logFile) : read(logFile) + read(outFile)),
    errText: () => read(logFile),
  };
}

/** Stops `p`: `signal` (default SIGTERM), up to 3 s, then SIGKILL. Resolves to its exit code. */
export async function stopProcess(p: BgProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (p.exitCode() === null) {
    p.proc.kill(signal);
    const exited = await Promise.race([p.proc.exited.then(() => true), sleep(KILL_GRACE_MS).then(() => false)]);
    if (!exited) {
      p.proc.kill("SIGKILL");
      await Promise.race([p.proc.exited, sleep(2000)]);
    }
  }
  return p.exitCode();
}

function signalNumber(sig: string | number): number {
  if (typeof sig === "number") return sig;
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return table[sig] ?? 0;
}

/** The last `n` lines of a process's log, indented, for error messages. */
export function tail(p: BgProcess, n = 25): string {
  const lines = p.logText().trimEnd().split("\n");
  return `--- ${p.name} (pid ${p.pid}, exit ${p.exitCode() ?? "running"}), last ${Math.min(n, lines.length)} lines of ${p.log}:\n`
    + lines.slice(-n).map((l) => `  | ${l}`).join("\n");
}

/**
 * Waits until a line of `p`'s log matches `pattern` and returns it; fails early, with the log
 * tail, when the process exits first.
 */
export async function waitForLog(p: BgProcess, pattern: RegExp | string, timeoutMs: number, from = 0): Promise<string> {
  const test = (l: string) => (typeof pattern === "string" ? l.includes(pattern) : pattern.test(l));
  let exitedOnce = false;
  return waitFor(
    `${String(pattern)} in the log of ${p.name}`,
    () => {
      const line = p.logText().slice(from).split("\n").find(test);
      if (line !== undefined) return line;
      if (p.exitCode() !== null) {
        if (exitedOnce) throw new Error(`${p.name} exited before logging ${String(pattern)}\n${tail(p)}`);
        exitedOnce = true; // one more look: output may land just after exit
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 50, detail: () => tail(p) },
  );
}

/** Waits until `p` has exited (bounded) and returns its exit code. */
export async function waitForExit(p: BgProcess, timeoutMs: number): Promise<number> {
  return waitFor(`${p.name} to exit`, () => p.exitCode() ?? undefined, { timeoutMs, intervalMs: 50, detail: () => tail(p) });
}

/** Every line of `p`'s log that parses as a JSON object (the helpers' and toyclient's output). */
export function jsonLines(p: BgProcess): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of p.logText().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v !== null && typeof v === "object" && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** Modification time of the newest file under `dir` (recursive), 0 if none. */
export function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Runs `fn`; when it throws, appends the log tails of `procs` (the server, clients) to the
 * error message, so a failing assertion shows what the processes said.
 */
export async function withLogs<T>(procs: Array<BgProcess | undefined>, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const tails = procs.filter((p): p is BgProcess => p !== undefined).map((p) => tail(p, 30)).join("\n");
    if (e instanceof Error) e.message += `\n${tails}`;
    throw e;
  }
}

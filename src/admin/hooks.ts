/**
 * @module admin/hooks
 * `--on-connect CMD` / `--on-disconnect CMD`: an operator's command run when a session
 * comes up or goes down. The command runs as `/bin/sh -c CMD` (so it may use
 * redirections and pipes) with the client described in the environment:
 *
 *   WARREN_EVENT          connect | disconnect
 *   WARREN_CLIENT_ID      device id, else #serial (never the secret)
 *   WARREN_CLIENT_ADDR    tunnel IPv4 address
 *   WARREN_CLIENT_ADDR6   tunnel IPv6 address, or empty
 *   WARREN_ENDPOINT       the client's UDP endpoint, 1.2.3.4:5555
 *   WARREN_DEVICE_ID, WARREN_USER   or empty
 *   WARREN_PROTOCOL       toyvpn | wireguard
 *   disconnect only: WARREN_REASON (idle|kicked|replaced|shutdown|revoked|removed|failed),
 *   WARREN_BYTES_IN / WARREN_BYTES_OUT (from / to the client), WARREN_PACKETS_IN / _OUT,
 *   WARREN_DURATION (seconds)
 *
 * Nothing else of the server's environment reaches a hook (hookBaseEnv): only PATH,
 * HOME, the locale, TZ, USER/LOGNAME, TMPDIR and WARREN_CONTROL_SOCKET are passed on,
 * so WARREN_SECRET and whatever tokens, keys or passwords the server was started with
 * stay in the server. A hook that needs more reads it from a file or its command line.
 *
 * Hooks never block packets: the session event only queues the run (at most
 * MAX_QUEUED waiting, MAX_RUNNING at once; beyond that the run is dropped and logged).
 * A run is killed after the time limit. Failures are logged, never fatal.
 */

import type { Session } from "../server/session.ts";
import type { Logger } from "../lib/log.ts";
import { formatEndpoint, formatIpv4, formatIpv6 } from "../protocol/ip.ts";

/** Default time limit of one run. */
export const HOOK_TIMEOUT_MS = 10_000;
/** Hooks running at once, and waiting. */
export const MAX_RUNNING = 8;
export const MAX_QUEUED = 256;
const STDERR_SHOWN = 200;

/** Which hook. */
export type HookEvent = "connect" | "disconnect";

/** How a run ended. */
export interface HookOutcome {
  event: HookEvent;
  client: string;
  exitCode: number | null;
  timedOut: boolean;
  /** First bytes of stderr (for the log line). */
  stderr: string;
  error?: string;
}

/** Variables of the server's environment a hook inherits; everything else is left out. */
export const HOOK_INHERITED = ["PATH", "HOME", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "TMPDIR", "WARREN_CONTROL_SOCKET"] as const;
/** PATH of a hook when the server has none. */
export const DEFAULT_HOOK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The part of a hook's environment taken from the server's `env` (pure): the allowlist above plus LC_*. */
export function hookBaseEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = { PATH: DEFAULT_HOOK_PATH };
  for (const [k, val] of Object.entries(env)) {
    if (val === undefined) continue;
    if ((HOOK_INHERITED as readonly string[]).includes(k) || /^LC_[A-Z_]+$/.test(k)) out[k] = val;
  }
  return out;
}

/** The environment a hook sees for session `s` (pure). */
export function hookEnv(s: Session, event: HookEvent, reason?: string, durationSec?: number): Record<string, string> {
  const env: Record<string, string> = {
    WARREN_EVENT: event,
    WARREN_CLIENT_ID: s.label,
    WARREN_CLIENT_ADDR: formatIpv4(s.addr4),
    WARREN_CLIENT_ADDR6: s.addr6 ? formatIpv6(s.addr6) : "",
    WARREN_ENDPOINT: formatEndpoint(s.address, s.port),
    WARREN_DEVICE_ID: s.deviceId ?? "",
    WARREN_USER: s.user ?? "",
    WARREN_PROTOCOL: s.protocol,
  };
  if (event === "disconnect") {
    env.WARREN_REASON = reason ?? "";
    env.WARREN_BYTES_IN = String(s.rxBytes);
    env.WARREN_BYTES_OUT = String(s.txBytes);
    env.WARREN_PACKETS_IN = String(s.rxPackets);
    env.WARREN_PACKETS_OUT = String(s.txPackets);
    env.WARREN_DURATION = String(Math.max(0, Math.round(durationSec ?? 0)));
  }
  return env;
}

interface Job {
  event: HookEvent;
  cmd: string;
  client: string;
  env: Record<string, string>;
}

/** Runs the connect/disconnect hooks. Commands can be changed at runtime (reload). */
export class Hooks {
  onConnect: string | null;
  onDisconnect: string | null;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #queue: Job[] = [];
  readonly #running = new Set<Promise<HookOutcome>>();
  /** Called after every run (tests). */
  onOutcome: (o: HookOutcome) => void = () => {};

  constructor(log: Logger, opts: { onConnect?: string | undefined; onDisconnect?: string | undefined; timeoutMs?: number } = {}) {
    this.#log = log;
    this.onConnect = opts.onConnect ?? null;
    this.onDisconnect = opts.onDisconnect ?? null;
    this.#timeoutMs = opts.timeoutMs ?? HOOK_TIMEOUT_MS;
  }

  /** A session came up: queue the connect hook (if any). Cheap; never throws. */
  connected(s: Session): void {
    if (this.onConnect !== null) this.#enqueue({ event: "connect", cmd: this.onConnect, client: s.label, env: hookEnv(s, "connect") });
  }

  /** A session ended: queue the disconnect hook (if any). */
  disconnected(s: Session, reason: string, durationSec: number): void {
    if (this.onDisconnect !== null) {
      this.#enqueue({ event: "disconnect", cmd: this.onDisconnect, client: s.label, env: hookEnv(s, "disconnect", reason, durationSec) });
    }
  }

  /** Hooks running or waiting. */
  get pending(): number {
    return this.#running.size + this.#queue.length;
  }

  /**
   * Resolves when every queued and running hook has finished, or after `maxMs` (shutdown
   * must not wait for hundreds of disconnect hooks); returns how many were left.
   */
  async drain(maxMs = this.#timeoutMs + 1000): Promise<number> {
    const end = Date.now() + maxMs;
    while (this.pending > 0 && Date.now() < end) await Promise.race([...this.#running, new Promise((r) => setTimeout(r, 50))]);
    if (this.pending > 0) this.#log.warn(`${this.pending} hooks still running or waiting; not waiting for them`);
    return this.pending;
  }

  #enqueue(job: Job): void {
    if (this.#queue.length >= MAX_QUEUED) {
      this.#log.warn(`hook ${job.event} for ${job.client} dropped: ${MAX_QUEUED} hooks already waiting`);
      return;
    }
    this.#queue.push(job);
    // Spawn outside the packet path's turn.
    setTimeout(() => this.#pump(), 0);
  }

  #pump(): void {
    while (this.#running.size < MAX_RUNNING && this.#queue.length > 0) {
      const job = this.#queue.shift() as Job;
      const p = this.run(job.event, job.cmd, job.client, job.env);
      this.#running.add(p);
      void p.then((o) => {
        this.#running.delete(p);
        this.#report(o);
        this.#pump();
      });
    }
  }

  /** Runs one command now and reports how it ended. Never rejects. */
  async run(event: HookEvent, cmd: string, client: string, env: Record<string, string>): Promise<HookOutcome> {
    let proc: ReturnType<typeof Bun.spawn<"ignore", "ignore", "pipe">>;
    try {
      proc = Bun.spawn(["/bin/sh", "-c", cmd], { env: { ...hookBaseEnv(process.env), ...env }, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    } catch (e) {
      return { event, client, exitCode: null, timedOut: false, stderr: "", error: e instanceof Error ? e.message : String(e) };
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, this.#timeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    // A grandchild may still hold stderr open: read what is there, but do not wait for it.
    const stderr = await Promise.race([new Response(proc.stderr).text(), new Promise<string>((r) => setTimeout(() => r(""), 100))]);
    return { event, client, exitCode: timedOut ? null : code, timedOut, stderr: stderr.trim().slice(0, STDERR_SHOWN) };
  }

  #report(o: HookOutcome): void {
    const what = `hook ${o.event} for ${o.client}`;
    if (o.error !== undefined) this.#log.warn(`${what} could not start: ${o.error}`);
    else if (o.timedOut) this.#log.warn(`${what} killed after ${this.#timeoutMs} ms`);
    else if (o.exitCode !== 0) this.#log.warn(`${what} failed: exit ${o.exitCode}${o.stderr ? `: ${o.stderr.replace(/\s*\n\s*/g, "; ")}` : ""}`);
    else this.#log.debug(`${what} ok`);
    this.onOutcome(o);
  }
}

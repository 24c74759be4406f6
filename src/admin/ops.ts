/**
 * @module admin/ops
 * Wires the operator's tools to a running Server, and takes them down again:
 *
 *   1. prepare (before Server.start, so nothing is opened yet): create the --capture-dir
 *      folder (ConfigError naming captureDir when it cannot be made), and claim the
 *      control socket path: when another live server answers there, or the path cannot
 *      be used, the server does not start (one line, exit 1); a second warren on one
 *      host needs its own --control-socket, or `--control-socket none` for no socket.
 *   2. start (right after Server.start, before any packet is handled): session
 *      listeners (hooks, --capture-dir), the control socket, the HTTP listener
 *      (--metrics), the throughput history (history.ts, every 10 s), SIGHUP = reload,
 *      SIGUSR1 = reopen the log file (after an external logrotate).
 *   3. ready / stopping: tell systemd (Type=notify, platform/linux/sd-notify.ts) that the
 *      server serves, and that it is going down; a reload says RELOADING=1 ... READY=1.
 *   4. stop (after Server.stop, so disconnect hooks and final capture bytes still run):
 *      signal handlers, HTTP, control socket (file removed), captures flushed and closed,
 *      hooks given their time limit to finish.
 */

import { mkdirSync } from "node:fs";
import type { ServerConfig } from "../config/server-schema.ts";
import type { Server } from "../server/server.ts";
import type { Session } from "../server/session.ts";
import { got } from "../config/fields.ts";
import { ConfigError, fsReason, oneLine } from "../lib/errors.ts";
import { logFileInfo, type Logger, reopenLogFile } from "../lib/log.ts";
import { logEvent } from "../lib/log-event.ts";
import { readProcessStats } from "../platform/linux/proc-self.ts";
import { type ServiceNotifier, systemdNotifier } from "../platform/linux/sd-notify.ts";
import { versionLine } from "../lib/version.ts";
import { CaptureManager } from "./capture.ts";
import { CaptureDirKeeper } from "./capture-dir.ts";
import { type CommandContext, capturePath, handle, reload } from "./commands.ts";
import { claimSocket, type ControlServer, listenControl } from "./control.ts";
import { formatBitRate, HISTORY_INTERVAL_MS, type HistoryJson, ThroughputHistory } from "./history.ts";
import { Hooks } from "./hooks.ts";
import { type HttpListener, listenHttp } from "./http.ts";
import { readTokenFile } from "./http-access.ts";
import type { LiveTarget } from "./settings.ts";
import { buildSnapshot, type Snapshot } from "./snapshot.ts";

/** What ops needs from the CLI. */
export interface OpsOptions {
  config: ServerConfig;
  /** Re-reads file + env + flags, validated (throws ConfigError). */
  reloadConfig(): ServerConfig;
  /** The --config file, for messages. */
  configFile: string | null;
  /** The Clock the server runs on (converts session times to wall time). */
  now(): number;
  log: Logger;
  /** The service manager to tell about readiness (default: systemd's NOTIFY_SOCKET, if set). */
  notifier?: ServiceNotifier;
}

/** The running operator tools of one server. */
export class Ops {
  readonly #opts: OpsOptions;
  readonly #log: Logger;
  #controlPath: string | null;
  #control: ControlServer | null = null;
  #http: HttpListener | null = null;
  #hooks: Hooks;
  #captures: CaptureManager | null = null;
  #keeper: CaptureDirKeeper | null = null;
  #ctx: CommandContext | null = null;
  #onHup: (() => void) | null = null;
  #onUsr1: (() => void) | null = null;
  readonly #notifier: ServiceNotifier;
  readonly #history = new ThroughputHistory();
  #historyTimer: ReturnType<typeof setInterval> | null = null;
  /** Wall clock minus engine clock, fixed once so reported times do not jitter. */
  readonly #wallOffset: number;

  private constructor(opts: OpsOptions, controlPath: string | null) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#controlPath = controlPath;
    this.#wallOffset = Date.now() - opts.now();
    this.#hooks = new Hooks(opts.log, { onConnect: opts.config.onConnect, onDisconnect: opts.config.onDisconnect });
    this.#notifier = opts.notifier ?? systemdNotifier(process.env, (line) => opts.log.warn(line));
  }

  /**
   * Step 1: the capture folder and the control socket path (see the module comment).
   * Throws ConfigError (field captureDir), or claimSocket's ERR_CONTROL_IN_USE / ERR_CONTROL.
   */
  static async prepare(opts: OpsOptions): Promise<Ops> {
    const dir = opts.config.captureDir;
    if (dir !== undefined) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new ConfigError("captureDir", `cannot create the folder: ${fsReason(e)}${got(dir)}`);
      }
    }
    const path = opts.config.controlSocket;
    if (path !== null) await claimSocket(path);
    return new Ops(opts, path);
  }

  /** The current snapshot. */
  snapshot(): Snapshot {
    const ctx = this.#ctx;
    if (!ctx) throw new Error("ops not started");
    const caps = this.#captures as CaptureManager;
    ctx.server.dataPath.sync(); // a data-path shortcut's counts, folded in first
    return buildSnapshot(ctx.server, {
      version: versionLine(),
      pid: process.pid,
      logFile: logFileInfo(),
      captureOf: (s) => caps.fileOf(s),
      captureActive: caps.active,
      captureDropped: caps.dropped,
      controlSocket: this.#control?.path ?? null,
      metrics: this.#http?.url ?? null,
      process: readProcessStats(),
    }, this.#opts.now(), this.#opts.now() + this.#wallOffset);
  }

  /** The throughput history (/api/history). */
  history(): HistoryJson {
    return this.#history.toJSON();
  }

  /** Step 2: attach to the started server. Throws (one line) when the control socket or --metrics cannot bind, or the token file is unusable. */
  start(server: Server): void {
    const cfg = this.#opts.config;
    const captures = new CaptureManager(server.router, this.#log);
    this.#captures = captures;
    const hooks = this.#hooks;
    const live: LiveTarget = {
      live: () => server.live(),
      setLive: (c) => server.setLive(c),
      hooks,
      capture: { maxBytes: cfg.captureMaxBytes, dirMaxBytes: cfg.captureDirMax },
    };
    const captureDir = cfg.captureDir;
    if (captureDir !== undefined) {
      mkdirSync(captureDir, { recursive: true, mode: 0o700 });
      this.#keeper = new CaptureDirKeeper(captureDir, () => live.capture.dirMaxBytes, captures, this.#log);
    }
    const ctx: CommandContext = {
      server, live, captures, log: this.#log,
      snapshot: () => this.snapshot(),
      reloadConfig: () => this.#opts.reloadConfig(),
      configFile: this.#opts.configFile,
      config: cfg,
      keeper: this.#keeper,
      wallOffset: this.#wallOffset,
      pid: process.pid,
      version: versionLine(),
      service: this.#notifier,
    };
    this.#ctx = ctx;
    server.sessionListeners.push({
      up: (s) => {
        hooks.connected(s);
        if (captureDir !== undefined) this.#autoCapture(captures, s, captureDir, live.capture.maxBytes);
      },
      down: (s, reason) => {
        hooks.disconnected(s, reason, (this.#opts.now() - s.createdAt) / 1000);
        void captures.stop(s, `stopped (session ${reason})`);
      },
    });
    if (this.#controlPath !== null) {
      this.#control = listenControl(this.#controlPath, (req) => handle(ctx, req), this.#log);
      this.#log.info(`control socket ${this.#controlPath}`);
    }
    if (cfg.metrics) {
      const token = cfg.metricsTokenFile !== undefined ? readTokenFile(cfg.metricsTokenFile, this.#log) : null;
      const guard = { hosts: cfg.metricsHost, token, publicProbes: cfg.metricsPublic };
      this.#http = listenHttp(cfg.metrics.host, cfg.metrics.port, () => this.snapshot(), this.#log, guard, () => this.history());
      const needs = token === null ? "" : cfg.metricsPublic ? " (token required, except /metrics and /healthz)" : " (token required)";
      this.#log.info(`metrics and dashboard on http://${this.#http.url}/${needs}`);
    }
    this.#onHup = () => void reload(ctx, "SIGHUP");
    process.on("SIGHUP", this.#onHup);
    this.#onUsr1 = () => this.#reopenLog();
    process.on("SIGUSR1", this.#onUsr1);
    this.#sample(server);
    this.#historyTimer = setInterval(() => this.#sample(server), HISTORY_INTERVAL_MS);
  }

  /** Step 3: the server serves; tells systemd (READY=1). */
  ready(status: string): void {
    this.#notifier.ready(status);
  }

  /** Step 3: shutdown has begun; tells systemd (STOPPING=1). */
  stopping(): void {
    this.#notifier.stopping();
  }

  #sample(server: Server): void {
    server.dataPath.sync();
    const st = server.stats;
    const s = this.#history.sample(this.#opts.now() + this.#wallOffset, st, server.sessions.size);
    if (s !== null) this.#notifier.status(`${s.sessions} client${s.sessions === 1 ? "" : "s"}; in ${formatBitRate(s.rxBits)}, out ${formatBitRate(s.txBits)}`);
  }

  #reopenLog(): void {
    const file = logFileInfo()?.path;
    if (!reopenLogFile()) return this.#log.info("SIGUSR1: no log file to reopen (logging to stderr)");
    this.#log.info(logEvent("log-reopened", { file }, `log file reopened: ${file} (SIGUSR1)`));
  }

  #autoCapture(captures: CaptureManager, s: Session, dir: string, maxBytes: number): void {
    try {
      captures.start(s, capturePath(dir, s.label, Date.now()), maxBytes, true);
      this.#keeper?.started();
    } catch (e) {
      this.#log.warn(`capture of ${s.label} not started: ${oneLine(e)}`);
    }
  }

  /** Step 4: take everything down (after Server.stop). Idempotent. */
  async stop(): Promise<void> {
    if (this.#onHup) process.off("SIGHUP", this.#onHup);
    this.#onHup = null;
    if (this.#onUsr1) process.off("SIGUSR1", this.#onUsr1);
    this.#onUsr1 = null;
    if (this.#historyTimer !== null) clearInterval(this.#historyTimer);
    this.#historyTimer = null;
    this.#http?.stop();
    this.#http = null;
    this.#control?.stop();
    this.#control = null;
    this.#keeper?.stop();
    await this.#captures?.stopAll();
    await this.#hooks.drain();
  }
}

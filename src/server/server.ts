/**
 * @module server/server
 * Server lifecycle: open the TUN and one UDP transport per listen address, build the
 * front doors on them, wire sessions and router, run the idle sweep; stop in reverse
 * order. The OS is reached only through the factories in ServerDeps, so tests run the
 * whole server on fakes.
 *
 * States: new -> running (start) -> stopped (stop; idempotent). A TUN read failure is
 * fatal: the server stops and `failure` resolves, so the process exits 1 and systemd
 * or the watchdog restarts it. Every runtime change goes through `setLive`. With a
 * lease store (ServerDeps.leases), sticky addresses are restored before the first
 * handshake and saved in the background and on stop (leases.ts).
 */

import { getLogLevel, type Logger, setLogLevel } from "../lib/log.ts";
import type { Clock } from "../lib/clock.ts";
import { oneLine } from "../lib/errors.ts";
import { formatIpv4, formatIpv6 } from "../protocol/ip.ts";
import type { TunDevice } from "../tun/device.ts";
import type { Transport } from "../transport/transport.ts";
import type { DataPath, DataPathPools } from "./datapath.ts";
import { DataPathHost } from "./datapath-host.ts";
import { sessionDownEvent, sessionUpEvent } from "./describe.ts";
import { checkLive, type LiveChange, type LiveResult, type LiveSettings } from "./live.ts";
import type { DoorContext, DoorSpec, FrontDoor } from "./door.ts";
import { DEFAULT_LEASE_MAX_AGE, LeaseKeeper, type LeaseStore } from "./leases.ts";
import { Pool4 } from "./pool.ts";
import { Pool6 } from "./pool6.ts";
import { Router } from "./router.ts";
import type { CloseReason, Session } from "./session.ts";
import { SessionTable } from "./sessions.ts";
import { listenKey, openSockets, startSockets } from "./sockets.ts";
import { newServerStats, type ServerStats } from "./stats.ts";

/** The settings the server itself reads (the CLI passes its validated config). */
export interface ServerSettings {
  tun: string;
  mtu: number;
  pool: { address: number; prefixLen: number };
  pool6?: { bytes: Uint8Array; prefixLen: number } | undefined;
  isolate: boolean;
  /** Seconds without traffic before a session ends. */
  idleTimeout: number;
  /** Most sessions at once, 0 = the pool size. */
  maxClients: number;
  /** Most sessions of one user or token, 0 = no cap (absent: none). */
  maxSessionsPerIdentity?: number;
  /** Seconds an unused persisted lease is kept (default 30 days). */
  leaseMaxAge?: number;
}

/** How to open the TUN. */
export interface TunSpec {
  name: string;
  mtu: number;
  ipv4: { address: string; prefixLen: number };
  ipv6?: { address: string; prefixLen: number };
}

/** Credential sources that can be re-read while running (users file, token keys). */
export interface ReloadableAuth {
  /** Re-reads them and ends sessions they no longer allow; returns a one-line report. */
  reload(): string;
}

/** OS access and environment, injected. */
export interface ServerDeps {
  openTun(spec: TunSpec): TunDevice;
  openTransport(host: string, port: number): Promise<Transport>;
  /** The front doors, in order; doors on one address share its transport (the first takes junk). */
  doors: readonly DoorSpec[];
  clock: Clock;
  log: Logger;
  auth?: ReloadableAuth;
  /** Persisted sticky addresses; without it they last as long as the process. */
  leases?: { store: LeaseStore; wallNow: () => number };
  /**
   * Opens the data-path shortcut (`--data-path fast`) once the TUN and the sockets are
   * open; throwing means the simple path (logged). Absent: the simple path.
   */
  openDataPath?(pools: DataPathPools): DataPath;
}

/** Observes sessions coming up and going down (hooks, capture, ...). */
export interface SessionListener {
  up?(s: Session): void;
  down?(s: Session, reason: CloseReason): void;
}

/** Longest gap between idle sweeps. */
export const SWEEP_INTERVAL_MS = 5000;

/** A running warren server. */
export class Server {
  readonly settings: Readonly<ServerSettings>;
  readonly stats: ServerStats;
  readonly sessions: SessionTable;
  readonly pool4: Pool4;
  readonly pool6: Pool6 | null;
  readonly router: Router;
  readonly tun: TunDevice;
  readonly transports: ReadonlyMap<string, Transport>;
  readonly doors: readonly FrontDoor[];
  /** Session observers, called after the log line, in order; one that throws is logged and skipped. */
  readonly sessionListeners: SessionListener[] = [];
  /** Resolves with the error that stopped the server on its own (a TUN read failure). */
  readonly failure: Promise<Error>;
  /** The data-path shortcut, if one runs (see server/datapath-host.ts). */
  readonly dataPath: DataPathHost;
  readonly #deps: ServerDeps;
  #idleTimeoutMs: number;
  #fail: (e: Error) => void = () => {};
  #stopSweep: () => void = () => {};
  #leases: LeaseKeeper | null = null;
  #stopped = false;
  #leasesSaved: Promise<void> = Promise.resolve();

  private constructor(settings: ServerSettings, deps: ServerDeps, tun: TunDevice, transports: Map<string, Transport>, pools: [Pool4, Pool6 | null]) {
    this.settings = settings;
    this.#deps = deps;
    this.tun = tun;
    this.transports = transports;
    [this.pool4, this.pool6] = pools;
    this.#idleTimeoutMs = settings.idleTimeout * 1000;
    this.stats = newServerStats(deps.clock.now());
    this.sessions = new SessionTable(this.pool4, this.pool6);
    this.sessions.maxClients = settings.maxClients;
    this.sessions.maxPerIdentity = settings.maxSessionsPerIdentity ?? 0;
    this.router = new Router({ sessions: this.sessions, pool4: this.pool4, pool6: this.pool6, tun, stats: this.stats });
    this.router.isolate = settings.isolate;
    this.failure = new Promise((resolve) => (this.#fail = resolve));
    this.doors = deps.doors.map((spec) => spec.create(this.#context(spec)));
    this.router.setDoors(this.doors);
    this.dataPath = new DataPathHost({
      router: this.router, stats: this.stats, log: deps.log, now: () => deps.clock.now(),
      startTunReader: () => tun.start(this.router, (err) => this.#fatal(err)), running: () => !this.#stopped, doors: this.doors,
    });
    this.sessions.onUp = (s) => {
      this.dataPath.up(s);
      deps.log.info(sessionUpEvent(s));
      for (const l of this.sessionListeners) this.#notify(() => l.up?.(s));
    };
    this.sessions.onDown = (s, reason) => {
      this.dataPath.down(s);
      deps.log.info(sessionDownEvent(s, reason, deps.clock.now()));
      for (const l of this.sessionListeners) this.#notify(() => l.down?.(s, reason));
    };
  }

  #context(spec: DoorSpec): DoorContext {
    const d = this.#deps;
    const transport = this.transports.get(listenKey(spec.listen)) as Transport;
    const pool4 = this.pool4;
    return {
      sessions: this.sessions, router: this.router, transport, stats: this.stats, clock: d.clock, log: d.log,
      reserveAddresses: (addrs) => pool4.reserve(`door:${spec.protocol}`, addrs),
    };
  }

  #notify(call: () => void): void {
    try {
      call();
    } catch (e) {
      this.#deps.log.warn(`session listener failed: ${oneLine(e)}`);
    }
  }

  /** Opens everything and starts moving packets. Cleans up what it opened if a step fails. */
  static async start(settings: ServerSettings, deps: ServerDeps): Promise<Server> {
    const pool4 = new Pool4(settings.pool.address, settings.pool.prefixLen, undefined, deps.leases?.wallNow);
    const pool6 = settings.pool6 ? new Pool6(settings.pool6.bytes, settings.pool6.prefixLen, 32 - settings.pool.prefixLen) : null;
    const tun = deps.openTun(tunSpec(settings, pool4, pool6));
    const listens = deps.doors.map((d) => d.listen);
    const transports = await openSockets(listens, deps.openTransport).catch((e: unknown) => {
      tun.close();
      throw e;
    });
    const server = new Server(settings, deps, tun, transports, [pool4, pool6]);
    const maxAgeMs = (settings.leaseMaxAge ?? DEFAULT_LEASE_MAX_AGE) * 1000;
    if (deps.leases) server.#leases = LeaseKeeper.begin(pool4, { ...deps.leases, maxAgeMs, clock: deps.clock, log: deps.log });
    const sinks = startSockets(transports, server.doors, listens);
    const open = deps.openDataPath;
    const pools = { pool4, pool6, mtu: settings.mtu };
    server.dataPath.start(open && (() => open(pools)), (listen) => sinks.get(listenKey(listen)));
    const sweepMs = Math.min(SWEEP_INTERVAL_MS, Math.max(250, Math.floor(server.#idleTimeoutMs / 4)));
    server.#stopSweep = deps.clock.every(sweepMs, () => server.sweep());
    return server;
  }

  /** The current live settings. */
  live(): LiveSettings {
    return { isolate: this.router.isolate, maxClients: this.sessions.maxClients, idleTimeout: this.#idleTimeoutMs / 1000, logLevel: getLogLevel() };
  }

  /** Validates and applies one runtime change: the only way settings change while running. */
  setLive(c: LiveChange): LiveResult {
    const error = checkLive(c);
    if (error !== null) return { ok: false, error };
    switch (c.key) {
      case "isolate":
        this.router.isolate = c.value;
        return { ok: true };
      case "maxClients":
        this.sessions.maxClients = c.value;
        return { ok: true };
      case "idleTimeout":
        this.#idleTimeoutMs = c.value * 1000;
        return { ok: true };
      case "logLevel":
        setLogLevel(c.value);
        return { ok: true };
      case "secret":
        return this.#toDoors(c);
      case "reloadAuth":
        return { ok: true, note: this.#deps.auth?.reload() ?? "nothing to reload" };
    }
  }

  #toDoors(c: LiveChange & { key: "secret" }): LiveResult {
    let applied = false;
    for (const d of this.doors) {
      const r = d.change(c);
      if (typeof r === "object") return { ok: false, error: r.error };
      applied ||= r === "applied";
    }
    return applied ? { ok: true } : { ok: false, error: "no front door uses a shared secret" };
  }

  /** Expires idle sessions now and runs the doors' upkeep (also on a timer). */
  sweep(): number {
    this.dataPath.sync(); // sessions the shortcut served get their lastSeen here
    const now = this.#deps.clock.now();
    const n = this.sessions.expire(now, this.#idleTimeoutMs);
    for (const d of this.doors) d.tick(now);
    return n;
  }

  /** Handshake sources locked out now, over all doors. */
  lockouts(): Array<{ protocol: string; source: string; leftMs: number }> {
    const now = this.#deps.clock.now();
    return this.doors.flatMap((d) => (d.lockouts?.(now) ?? []).map((l) => ({ protocol: d.protocol, ...l })));
  }

  /** Lifts the lockout of the source `address` belongs to, at every door; false when none had one. */
  unlock(address: string): boolean {
    let any = false;
    for (const d of this.doors) any = (d.unlock?.(address) ?? false) || any;
    return any;
  }

  /** Ends one session now (control socket "kick", revocation); `banMs` keeps its device out that long. */
  kick(s: Session, reason: CloseReason = "kicked", banMs = 0): void {
    const now = this.#deps.clock.now();
    if (banMs > 0) this.sessions.ban(s, now + banMs);
    this.sessions.close(s, reason, now);
  }

  /** Stops the sweep, closes every session, the doors, sockets and TUN (now); resolves once leases are saved. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopped) return this.#leasesSaved;
    this.#stopped = true;
    this.#stopSweep();
    for (const d of this.doors) d.close();
    this.dataPath.sync();
    const now = this.#deps.clock.now();
    for (const s of this.sessions.all()) this.sessions.close(s, "shutdown", now);
    this.dataPath.close();
    for (const t of this.transports.values()) t.close();
    this.tun.close();
    if (this.#leases) this.#leasesSaved = this.#leases.stop();
    return this.#leasesSaved;
  }

  #fatal(err: Error): void {
    if (this.#stopped) return;
    this.#deps.log.error(`tun ${this.tun.name} failed, stopping: ${oneLine(err)}`);
    void this.stop();
    this.#fail(err);
  }
}

/** The server's own IPv6 tunnel address: prefix::1. */
export function serverAddress6(pool6: Pool6): Uint8Array {
  const a = pool6.prefix.slice();
  a[15] = (a[15] as number) | 1;
  return a;
}

function tunSpec(settings: ServerSettings, pool4: Pool4, pool6: Pool6 | null): TunSpec {
  return {
    name: settings.tun,
    mtu: settings.mtu,
    ipv4: { address: formatIpv4(pool4.serverAddress), prefixLen: settings.pool.prefixLen },
    ...(pool6 ? { ipv6: { address: formatIpv6(serverAddress6(pool6)), prefixLen: pool6.prefixLen } } : {}),
  };
}

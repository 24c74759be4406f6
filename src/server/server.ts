/**
 * @module server/server
 * Server lifecycle: open the TUN and the UDP transport, wire sessions, handshaker
 * and router, run the idle sweep; stop in reverse order. The OS is reached only
 * through the factories in ServerDeps, so tests run the whole server on fakes.
 *
 * States: new -> running (start) -> stopped (stop; idempotent).
 */

import { formatCidr, formatIpv4, formatIpv6, type Cidr } from "../protocol/ip.ts";
import { buildParamsDatagram, encodeParams, type Params } from "../protocol/toyvpn.ts";
import type { Authenticator } from "../auth/secret.ts";
import { HandshakeLimiter } from "../auth/ratelimit.ts";
import { handshakeLimits } from "../config/auth-schema.ts";
import type { ServerConfig } from "../config/server-schema.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { TunDevice } from "../tun/device.ts";
import type { Transport } from "../transport/transport.ts";
import { displayEndpoint, Handshaker } from "./doors/toyvpn-handshake.ts";
import { Pool4 } from "./pool.ts";
import { Pool6 } from "./pool6.ts";
import { Router } from "./router.ts";
import { type CloseReason, type Session, SessionTable } from "./sessions.ts";
import { newServerStats, type ServerStats } from "./stats.ts";

/** How to open the TUN. */
export interface TunSpec {
  name: string;
  mtu: number;
  ipv4: { address: string; prefixLen: number };
  ipv6?: { address: string; prefixLen: number };
}

/** OS access and environment, injected. */
export interface ServerDeps {
  openTun(spec: TunSpec): TunDevice;
  openTransport(host: string, port: number): Promise<Transport>;
  auth: Authenticator;
  clock: Clock;
  log: Logger;
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
  readonly config: ServerConfig;
  readonly stats: ServerStats;
  readonly sessions: SessionTable;
  readonly pool4: Pool4;
  readonly pool6: Pool6 | null;
  readonly router: Router;
  readonly handshaker: Handshaker;
  readonly tun: TunDevice;
  readonly transport: Transport;
  /** Text of the parameters with `<client>` in place of the address (for the summary). */
  readonly paramsTemplate: string;
  /** Idle timeout in ms; changeable at runtime. */
  idleTimeoutMs: number;
  /** Session observers, called after the log line, in order; one that throws is logged and skipped. */
  readonly sessionListeners: SessionListener[] = [];
  readonly #deps: ServerDeps;
  #stopSweep: () => void = () => {};
  #stopped = false;

  private constructor(config: ServerConfig, deps: ServerDeps, tun: TunDevice, transport: Transport, pool4: Pool4, pool6: Pool6 | null) {
    this.config = config;
    this.#deps = deps;
    this.tun = tun;
    this.transport = transport;
    this.pool4 = pool4;
    this.pool6 = pool6;
    this.idleTimeoutMs = config.idleTimeout * 1000;
    this.stats = newServerStats(deps.clock.now());
    this.sessions = new SessionTable(pool4, pool6);
    const base = paramsFor(config, pool6);
    this.paramsTemplate = encodeParams({ ...base, addresses: [{ address: "<client>", prefixLen: 32 }, ...(pool6 ? [{ address: "<client6>", prefixLen: 128 }] : [])] });
    this.handshaker = new Handshaker({
      sessions: this.sessions,
      transport,
      clock: deps.clock,
      stats: this.stats,
      log: deps.log,
      auth: deps.auth,
      limiter: new HandshakeLimiter(handshakeLimits(config), deps.clock.now()),
      params: (a4, a6) =>
        buildParamsDatagram(
          encodeParams({
            ...base,
            addresses: [{ address: formatIpv4(a4), prefixLen: 32 }, ...(a6 ? [{ address: formatIpv6(a6), prefixLen: 128 }] : [])],
          }),
        ),
    });
    this.handshaker.maxClients = config.maxClients;
    this.router = new Router({ sessions: this.sessions, pool4, pool6, tun, transport, clock: deps.clock, stats: this.stats, handshakes: this.handshaker });
    this.router.isolate = config.isolate;
    this.sessions.onUp = (s) => {
      deps.log.info(`session up ${describe(s)}`);
      for (const l of this.sessionListeners) this.#notify(() => l.up?.(s));
    };
    this.sessions.onDown = (s, reason) => {
      deps.log.info(`session down ${describe(s)} reason=${reason} ${traffic(s)}`);
      for (const l of this.sessionListeners) this.#notify(() => l.down?.(s, reason));
    };
  }

  #notify(call: () => void): void {
    try {
      call();
    } catch (e) {
      this.#deps.log.warn(`session listener failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Opens everything and starts moving packets. Cleans up what it opened if a step fails. */
  static async start(config: ServerConfig, deps: ServerDeps): Promise<Server> {
    const pool4 = new Pool4(config.pool.address, config.pool.prefixLen);
    const pool6 = config.pool6 ? new Pool6(config.pool6.bytes, config.pool6.prefixLen, 32 - config.pool.prefixLen) : null;
    const tun = deps.openTun({
      name: config.tun,
      mtu: config.mtu,
      ipv4: { address: formatIpv4(pool4.serverAddress), prefixLen: config.pool.prefixLen },
      ...(pool6 ? { ipv6: { address: formatIpv6(serverAddress6(pool6)), prefixLen: pool6.prefixLen } } : {}),
    });
    let transport: Transport;
    try {
      transport = await deps.openTransport(config.listen.host, config.listen.port);
    } catch (e) {
      tun.close();
      throw e;
    }
    const server = new Server(config, deps, tun, transport, pool4, pool6);
    transport.start(server.router);
    tun.start(server.router);
    const sweepMs = Math.min(SWEEP_INTERVAL_MS, Math.max(250, Math.floor(server.idleTimeoutMs / 4)));
    server.#stopSweep = deps.clock.every(sweepMs, () => server.sweep());
    return server;
  }

  /** Expires idle sessions now (also runs on a timer). */
  sweep(): number {
    return this.sessions.expire(this.#deps.clock.now(), this.idleTimeoutMs);
  }

  /** Ends one session now (control socket "kick"). */
  kick(s: Session, reason: CloseReason = "kicked"): void {
    this.sessions.close(s, reason, this.#deps.clock.now());
  }

  /** Stops the sweep, closes every session, the socket and the TUN. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopSweep();
    this.handshaker.close();
    const now = this.#deps.clock.now();
    for (const s of this.sessions.all()) this.sessions.close(s, "shutdown", now);
    this.transport.close();
    this.tun.close();
  }
}

/** The server's own IPv6 tunnel address: prefix::1. */
export function serverAddress6(pool6: Pool6): Uint8Array {
  const a = pool6.prefix.slice();
  a[15] = (a[15] as number) | 1;
  return a;
}

/** Parameters common to every client (everything but the addresses). */
export function paramsFor(config: ServerConfig, pool6: Pool6 | null): Omit<Params, "addresses"> & { addresses: [] } {
  const routes: Cidr[] = [...config.routes];
  if (pool6 && !routes.some((r) => r.family === 6)) {
    const hasDefault4 = routes.some((r) => r.family === 4 && r.prefixLen === 0);
    routes.push(hasDefault4 ? { family: 6, bytes: new Uint8Array(16), prefixLen: 0 } : { family: 6, bytes: pool6.prefix, prefixLen: pool6.prefixLen });
  }
  return {
    mtu: config.mtu,
    addresses: [],
    routes: routes.map((r) => {
      const [address, prefixLen] = formatCidr(r).split("/") as [string, string];
      return { address, prefixLen: Number(prefixLen) };
    }),
    dns: config.dns,
    searchDomains: config.searchDomains,
  };
}

/** `device=phone1 endpoint=1.2.3.4:5555 address=10.8.0.2` (never a secret). */
export function describe(s: Session): string {
  const parts = [s.deviceId !== null ? `device=${s.deviceId}` : `session=${s.label}`];
  if (s.user !== null) parts.push(`user=${s.user}`);
  parts.push(`endpoint=${displayEndpoint(s.address, s.port)}`, `address=${formatIpv4(s.addr4)}`);
  if (s.addr6) parts.push(`address6=${formatIpv6(s.addr6)}`);
  return parts.join(" ");
}

function traffic(s: Session): string {
  const drops = Object.entries(s.drops)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}:${n}`)
    .join(",");
  return `in=${s.rxPackets}pkt/${s.rxBytes}B out=${s.txPackets}pkt/${s.txBytes}B${drops ? ` drops=${drops}` : ""}`;
}

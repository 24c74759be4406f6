/**
 * @module admin/snapshot
 * A running server's state as plain JSON: the one view the control socket, the
 * Prometheus text and the dashboard all read. The valibot schemas below are the
 * single source of the snapshot types; the CLI validates what the socket returns
 * against them.
 *
 * Building one is pure: it reads the Server's counters and sessions (never writes),
 * and converts engine times (the Clock's milliseconds) to wall-clock milliseconds with
 * the `now` / `wallNow` pair the caller passes in. Secrets never appear here.
 */

import * as v from "valibot";
import type { Server } from "../server/server.ts";
import type { Session } from "../server/session.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../lib/version.ts";
import type { ProcessStats } from "../platform/linux/proc-self.ts";
import { formatCidr, formatEndpoint, formatIpv4, formatIpv6 } from "../protocol/ip.ts";

const count = v.number();
const Counts = v.record(v.string(), v.number());

/** One connected client. Times are wall-clock milliseconds since the Unix epoch. */
export const ClientSchema = v.object({
  /** Device id, else `#serial` (what `warren kick` takes). */
  id: v.string(),
  serial: count,
  deviceId: v.nullable(v.string()),
  user: v.nullable(v.string()),
  /** Front door: `toyvpn` or `wireguard`. */
  protocol: v.string(),
  /** UDP endpoint, `1.2.3.4:5555` or `[2001:db8::1]:5555`. */
  endpoint: v.string(),
  address: v.string(),
  address6: v.nullable(v.string()),
  connectedAt: count,
  lastSeen: count,
  /** Nothing heard for longer than IDLE_AFTER_MS when the snapshot was taken (isIdle). */
  idle: v.boolean(),
  /** From the client (rx) and to the client (tx). */
  rxPackets: count,
  rxBytes: count,
  txPackets: count,
  txBytes: count,
  drops: Counts,
  /** File being written when this client is captured. */
  capture: v.nullable(v.string()),
});
/** One connected client. */
export type ClientInfo = v.InferOutput<typeof ClientSchema>;

/** Resource use of the server process (platform/linux/proc-self.ts). */
export const ProcessSchema = v.object({ cpuSeconds: count, residentBytes: count, openFds: v.nullable(count), maxFds: v.nullable(count) });

/** Server-wide state. */
export const StatusSchema = v.object({
  /** `warren 0.1.0 (commit abc1234, built 2026-11-22)`. */
  version: v.string(),
  /** The same, in parts (absent from servers before 0.1.1). */
  build: v.optional(v.object({ version: v.string(), revision: v.string(), date: v.string() })),
  process: v.optional(ProcessSchema),
  pid: count,
  startedAt: count,
  uptimeSec: count,
  listen: v.string(),
  tun: v.string(),
  mtu: count,
  pool: v.object({ prefix: v.string(), total: count, used: count }),
  pool6: v.nullable(v.string()),
  sessions: count,
  totals: v.object({
    rxPackets: count,
    rxBytes: count,
    txPackets: count,
    txBytes: count,
    hubPackets: count,
    keepalives: count,
    rehandshakeRequests: count,
    junk: count,
  }),
  drops: Counts,
  handshakes: v.object({ ok: count, rejected: count, refused: count, duplicate: count, limited: count, renewed: count }),
  /** Rejected and limited handshakes by reason (bad-secret, locked-out, ...). */
  rejections: Counts,
  /**
   * Datagrams a front door dropped silently, as `protocol:reason` (`wireguard:mac1`,
   * `wireguard:replay`, `wireguard:decrypt`, ...); absent from servers before WireGuard.
   */
  doorDrops: v.optional(Counts),
  settings: v.object({ logLevel: v.string(), idleTimeout: count, isolate: v.boolean(), maxClients: count }),
  log: v.object({ file: v.nullable(v.string()), size: v.nullable(count) }),
  capture: v.object({ active: count, droppedPackets: count }),
  controlSocket: v.nullable(v.string()),
  metrics: v.nullable(v.string()),
  /**
   * Who moves data packets (`simple`, or `fast (2 workers, ...)`), and packets the fast
   * path's workers handed to the main thread or dropped for a full hand-over queue (absent
   * from servers before the fast data path).
   */
  dataPath: v.optional(v.object({ name: v.string(), handoffs: count, handoffDrops: count })),
});

/** Everything at one instant: the server and its clients (sorted by tunnel address). */
export const SnapshotSchema = v.object({ time: count, status: StatusSchema, clients: v.array(ClientSchema) });
/** Everything at one instant. */
export type Snapshot = v.InferOutput<typeof SnapshotSchema>;

/** What the snapshot needs besides the Server itself. */
export interface SnapshotExtras {
  version: string;
  pid: number;
  logFile: { path: string; size: number } | null;
  /** The capture file of a session, or null. */
  captureOf(s: Session): string | null;
  captureActive: number;
  captureDropped: number;
  controlSocket: string | null;
  metrics: string | null;
  /** Resource use, when known. */
  process?: ProcessStats;
}

/**
 * A session is idle when nothing was heard from it for two keepalive intervals, taking the
 * longer interval of the two protocols: WireGuard's usual persistent keepalive (25 s; the
 * ToyVpn app's is 15 s). A live client that only keeps its tunnel open is never idle.
 */
export const IDLE_AFTER_MS = 2 * 25_000;

/** The one idle rule (the CLI table, the dashboard and the metrics all read `idle`): silent for more than IDLE_AFTER_MS. */
export function isIdle(lastSeen: number, now: number): boolean {
  return now - lastSeen > IDLE_AFTER_MS;
}

/**
 * One session as a ClientInfo; `wall(t)` converts an engine time to wall-clock ms, `now`
 * is the engine time of the snapshot (for `idle`).
 */
export function clientInfo(s: Session, wall: (t: number) => number, capture: string | null, now: number): ClientInfo {
  return {
    id: s.label,
    serial: s.serial,
    deviceId: s.deviceId,
    user: s.user,
    protocol: s.protocol,
    endpoint: formatEndpoint(s.address, s.port),
    address: formatIpv4(s.addr4),
    address6: s.addr6 ? formatIpv6(s.addr6) : null,
    connectedAt: wall(s.createdAt),
    lastSeen: wall(s.lastSeen),
    idle: isIdle(s.lastSeen, now),
    rxPackets: s.rxPackets,
    rxBytes: s.rxBytes,
    txPackets: s.txPackets,
    txBytes: s.txBytes,
    drops: { ...s.drops },
    capture,
  };
}

/** The data path in use and its hand-over counters (zero on the simple path). */
function dataPathInfo(server: Server): { name: string; handoffs: number; handoffDrops: number } {
  const dp = server.dataPath.current;
  if (dp === null) return { name: "simple", handoffs: 0, handoffDrops: 0 };
  return { name: dp.name, handoffs: dp.stats.handoffsRx + dp.stats.handoffsTx, handoffDrops: dp.stats.handoffDrops };
}

/**
 * Builds the snapshot. `now` is the server's Clock time, `wallNow` the wall clock
 * (Date.now()) at the same instant.
 */
export function buildSnapshot(server: Server, x: SnapshotExtras, now: number, wallNow: number): Snapshot {
  // Rounded apart, so a session's times read the same in every snapshot: the offset
  // (wallNow - now) is constant up to float error, which must not flip a rounding.
  const offset = Math.round(wallNow - now);
  const wall = (t: number) => Math.round(t) + offset;
  const c = server.settings;
  const st = server.stats;
  const live = server.live();
  const sessions = server.sessions.all().sort((a, b) => a.addr4 - b.addr4);
  return {
    time: wallNow,
    status: {
      version: x.version,
      build: { version: VERSION, revision: COMMIT, date: BUILD_DATE },
      ...(x.process ? { process: x.process } : {}),
      pid: x.pid,
      startedAt: wall(st.startedAt),
      uptimeSec: Math.max(0, Math.floor((now - st.startedAt) / 1000)),
      listen: [...server.transports.values()].map((t) => formatEndpoint(t.local.address, t.local.port)).join(", "),
      tun: server.tun.name,
      mtu: c.mtu,
      pool: { prefix: formatCidr({ family: 4, ...c.pool }), total: server.pool4.capacity, used: server.pool4.used },
      pool6: c.pool6 ? formatCidr({ family: 6, ...c.pool6 }) : null,
      sessions: sessions.length,
      totals: {
        rxPackets: st.rxPackets,
        rxBytes: st.rxBytes,
        txPackets: st.txPackets,
        txBytes: st.txBytes,
        hubPackets: st.hubPackets,
        keepalives: st.keepalives,
        rehandshakeRequests: st.rehandshakeRequests,
        junk: st.junk,
      },
      drops: { ...st.drops },
      handshakes: { ...st.handshakes },
      rejections: { ...st.rejections },
      doorDrops: { ...st.doorDrops },
      settings: { logLevel: live.logLevel, idleTimeout: live.idleTimeout, isolate: live.isolate, maxClients: live.maxClients },
      log: { file: x.logFile?.path ?? null, size: x.logFile?.size ?? null },
      capture: { active: x.captureActive, droppedPackets: x.captureDropped },
      controlSocket: x.controlSocket,
      metrics: x.metrics,
      dataPath: dataPathInfo(server),
    },
    clients: sessions.map((s) => clientInfo(s, wall, x.captureOf(s), now)),
  };
}

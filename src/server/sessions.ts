/**
 * @module server/sessions
 * The session table: the only owner of per-client state (endpoint, tunnel
 * addresses, counters). Indexed by endpoint (address, port), by tunnel address and
 * by device id; all lookups on the data path are allocation-free Map gets.
 *
 * A device id owns at most one session: a new handshake with the same id replaces
 * the old session at once (the old endpoint is no longer served) and keeps its
 * address. Closed endpoints are remembered for a while so a stray datagram from
 * one can be answered with a rehandshake request.
 */

import type { Pool4 } from "./pool.ts";
import type { Pool6 } from "./pool6.ts";

/** Why a packet was dropped; per session and in the global totals. */
export const DROP_REASONS = [
  "spoofed",
  /** IPv6 from the client's own link-local address (router solicitations, MLD): never routed. */
  "link-local",
  "isolated",
  "malformed",
  "no-session",
  "no-route",
  "tun-write",
  "send",
] as const;
/** One of DROP_REASONS. */
export type DropReason = (typeof DROP_REASONS)[number];

/** Per-reason drop counters. */
export type DropCounters = Record<DropReason, number>;

/** A fresh set of zeroed drop counters. */
export function newDropCounters(): DropCounters {
  const d = {} as DropCounters;
  for (const r of DROP_REASONS) d[r] = 0;
  return d;
}

/** Why a session ended. */
export type CloseReason = "idle" | "replaced" | "kicked" | "shutdown" | "revoked";

/** One connected client. Fields are written only by SessionTable and the router. */
export interface Session {
  /** Small unique number, also the label when there is no device id. */
  readonly serial: number;
  readonly deviceId: string | null;
  /** Authenticated user, when users/tokens are on. */
  readonly user: string | null;
  /** For logs: device id, else `#serial`. Never a secret. */
  readonly label: string;
  /** UDP endpoint as the socket reports it (IPv4 peers as ::ffff:a.b.c.d). */
  readonly address: string;
  readonly port: number;
  /** Tunnel IPv4 address (u32). */
  readonly addr4: number;
  /** Tunnel IPv6 address, or null when no IPv6 pool. */
  readonly addr6: Uint8Array | null;
  /** Low 32 bits of addr6, the key in the IPv6 index. */
  readonly addr6Key: number;
  readonly createdAt: number;
  lastSeen: number;
  /** When the parameters were last sent (duplicate handshakes within a second are not re-answered). */
  lastAnswer: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  readonly drops: DropCounters;
  /** The 1024-byte parameter datagram for this client. */
  readonly params: Uint8Array;
  open: boolean;
}

/** What it takes to open a session. */
export interface SessionSpec {
  address: string;
  port: number;
  deviceId: string | null;
  user: string | null;
  /** Fixed tunnel address for this user (u32), or null for a pool lease. */
  fixedAddr4: number | null;
  /** Builds the parameter datagram once the addresses are known. */
  params(addr4: number, addr6: Uint8Array | null): Uint8Array;
}

/** Result of opening a session. */
export type OpenResult =
  | { ok: true; session: Session; replaced: Session | null }
  | { ok: false; reason: "pool-full" | "address-taken" };

function tail32(b: Uint8Array): number {
  return (((b[12] as number) << 24) | ((b[13] as number) << 16) | ((b[14] as number) << 8) | (b[15] as number)) >>> 0;
}

/** How long a closed endpoint is remembered, and how many. */
export const RECENT_ENDPOINT_MS = 5 * 60_000;
const RECENT_ENDPOINT_CAP = 4096;
/** At most one rehandshake request per endpoint per this interval. */
export const REHANDSHAKE_INTERVAL_MS = 1000;

/** The session table. */
export class SessionTable {
  readonly #pool4: Pool4;
  readonly #pool6: Pool6 | null;
  readonly #byEndpoint = new Map<string, Map<number, Session>>();
  readonly #byAddr4 = new Map<number, Session>();
  readonly #byAddr6 = new Map<number, Session>();
  readonly #byDevice = new Map<string, Session>();
  /** "address|port" -> when it closed and when it was last asked to rehandshake. Insertion-ordered, bounded. */
  readonly #recent = new Map<string, { closedAt: number; askedAt: number }>();
  #serial = 0;
  /** Called after a session opened / closed (logging, hooks, metrics). */
  onUp: (s: Session) => void = () => {};
  onDown: (s: Session, reason: CloseReason) => void = () => {};

  constructor(pool4: Pool4, pool6: Pool6 | null = null) {
    this.#pool4 = pool4;
    this.#pool6 = pool6;
  }

  /** Open sessions. */
  get size(): number {
    return this.#byAddr4.size;
  }

  /** Session at this endpoint, or undefined. Allocation-free. */
  byEndpoint(address: string, port: number): Session | undefined {
    return this.#byEndpoint.get(address)?.get(port);
  }

  /** Session holding this tunnel IPv4 address. */
  byAddr4(addr: number): Session | undefined {
    return this.#byAddr4.get(addr);
  }

  /** Session whose IPv6 address ends in these 32 bits (the caller checked the prefix). */
  byAddr6Key(key: number): Session | undefined {
    return this.#byAddr6.get(key);
  }

  /** Session of a device id. */
  byDevice(deviceId: string): Session | undefined {
    return this.#byDevice.get(deviceId);
  }

  /** All open sessions (snapshot order: oldest first). */
  all(): Session[] {
    return [...this.#byAddr4.values()];
  }

  /**
   * Opens a session for a verified handshake. A session of the same device id, or at
   * the same endpoint, is replaced (closed with reason "replaced") and its address reused.
   */
  open(spec: SessionSpec, now: number): OpenResult {
    const atEndpoint = this.byEndpoint(spec.address, spec.port);
    const ofDevice = spec.deviceId !== null ? this.#byDevice.get(spec.deviceId) : undefined;
    // The session this handshake continues: same device, or same endpoint and same (or no) id.
    const cont = ofDevice ?? (atEndpoint?.deviceId === spec.deviceId ? atEndpoint : undefined);
    if (atEndpoint && atEndpoint !== cont) this.close(atEndpoint, "replaced", now);
    if (cont) this.#unlink(cont); // its address stays leased until we know whether it is reused
    let addr4: number | null;
    if (spec.fixedAddr4 !== null && spec.fixedAddr4 !== cont?.addr4) {
      if (cont) this.#pool4.release(cont.addr4);
      addr4 = this.#pool4.leaseExact(spec.fixedAddr4, spec.deviceId) ? spec.fixedAddr4 : null;
    } else {
      addr4 = cont ? cont.addr4 : this.#pool4.lease(spec.deviceId);
    }
    if (addr4 === null) {
      if (cont) this.#finish(cont, "replaced", now);
      return { ok: false, reason: spec.fixedAddr4 !== null ? "address-taken" : "pool-full" };
    }
    const addr6 = this.#pool6 ? this.#pool6.addressFor(addr4) : null;
    const serial = ++this.#serial;
    const s: Session = {
      serial,
      deviceId: spec.deviceId,
      user: spec.user,
      label: spec.deviceId ?? (spec.user !== null ? `${spec.user}#${serial}` : `#${serial}`),
      address: spec.address,
      port: spec.port,
      addr4,
      addr6,
      addr6Key: addr6 ? tail32(addr6) : 0,
      createdAt: now,
      lastSeen: now,
      lastAnswer: -Infinity,
      rxPackets: 0,
      rxBytes: 0,
      txPackets: 0,
      txBytes: 0,
      drops: newDropCounters(),
      params: spec.params(addr4, addr6),
      open: true,
    };
    this.#link(s);
    if (cont) this.#finish(cont, "replaced", now);
    this.onUp(s);
    return { ok: true, session: s, replaced: cont ?? atEndpoint ?? null };
  }

  /** Ends a session: unindexes it, returns its address, remembers its endpoint. */
  close(s: Session, reason: CloseReason, now: number): void {
    if (!s.open) return;
    this.#unlink(s);
    this.#releaseAddrs(s);
    this.#finish(s, reason, now);
  }

  /** Closes every session idle for at least `idleMs`; returns how many. */
  expire(now: number, idleMs: number): number {
    let n = 0;
    for (const s of this.#byAddr4.values()) {
      if (now - s.lastSeen >= idleMs) {
        this.close(s, "idle", now);
        n++;
      }
    }
    for (const [key, r] of this.#recent) {
      if (now - r.closedAt < RECENT_ENDPOINT_MS) break;
      this.#recent.delete(key);
    }
    return n;
  }

  /**
   * True when a datagram from this endpoint should be answered with a rehandshake
   * request: it had a session that closed within RECENT_ENDPOINT_MS, and it was not
   * asked within the last REHANDSHAKE_INTERVAL_MS.
   */
  shouldAskRehandshake(address: string, port: number, now: number): boolean {
    if (this.#recent.size === 0) return false;
    const r = this.#recent.get(`${address}|${port}`);
    if (r === undefined || now - r.closedAt >= RECENT_ENDPOINT_MS || now - r.askedAt < REHANDSHAKE_INTERVAL_MS) return false;
    r.askedAt = now;
    return true;
  }

  #link(s: Session): void {
    let ports = this.#byEndpoint.get(s.address);
    if (!ports) this.#byEndpoint.set(s.address, (ports = new Map()));
    ports.set(s.port, s);
    this.#byAddr4.set(s.addr4, s);
    if (s.addr6) this.#byAddr6.set(s.addr6Key, s);
    if (s.deviceId !== null) this.#byDevice.set(s.deviceId, s);
    this.#recent.delete(`${s.address}|${s.port}`);
  }

  #unlink(s: Session): void {
    const ports = this.#byEndpoint.get(s.address);
    if (ports?.get(s.port) === s) {
      ports.delete(s.port);
      if (ports.size === 0) this.#byEndpoint.delete(s.address);
    }
    if (this.#byAddr4.get(s.addr4) === s) this.#byAddr4.delete(s.addr4);
    if (s.addr6 && this.#byAddr6.get(s.addr6Key) === s) this.#byAddr6.delete(s.addr6Key);
    if (s.deviceId !== null && this.#byDevice.get(s.deviceId) === s) this.#byDevice.delete(s.deviceId);
  }

  #releaseAddrs(s: Session): void {
    if (this.#byAddr4.get(s.addr4) === undefined) this.#pool4.release(s.addr4);
  }

  #finish(s: Session, reason: CloseReason, now: number): void {
    if (!s.open) return;
    s.open = false;
    this.#rememberEndpoint(s, now);
    this.onDown(s, reason);
  }

  #rememberEndpoint(s: Session, now: number): void {
    const key = `${s.address}|${s.port}`;
    if (this.byEndpoint(s.address, s.port)) return; // a new session lives there now
    this.#recent.delete(key);
    this.#recent.set(key, { closedAt: now, askedAt: -Infinity });
    if (this.#recent.size > RECENT_ENDPOINT_CAP) this.#recent.delete(this.#recent.keys().next().value as string);
  }
}

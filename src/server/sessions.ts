/**
 * @module server/sessions
 * The session table: the only owner of the set of sessions and of their tunnel
 * addresses. Indexed by tunnel address (the router's lookups, allocation-free Map
 * gets) and by device (identity + device id). Protocol-independent: a front door finds
 * its own sessions (by UDP endpoint, by receiver index, ...) and calls `open`/`close`.
 *
 * A device owns at most one session: a handshake that continues a session (the door
 * says which) replaces it at once and keeps its address. New sessions beyond
 * `maxClients`, or beyond `maxPerIdentity` of one authenticated identity (a user, a
 * token; the shared secret is not capped), are refused; continuing ones never are.
 */

import type { Grant } from "../auth/secret.ts";
import type { Pool4 } from "./pool.ts";
import type { Pool6 } from "./pool6.ts";
import { type CloseReason, newDropCounters, type Session, type SessionDoor, tail32 } from "./session.ts";

/** What it takes to open a session (the door has authenticated the peer). */
export interface SessionSpec {
  door: SessionDoor;
  identity: string | null;
  deviceId: string | null;
  user: string | null;
  grant: Grant | null;
  address: string;
  port: number;
  /** Fixed tunnel address (u32), or null for a pool lease. */
  fixedAddr4: number | null;
  /** The open session this handshake continues (same device): replaced, its address reused. */
  continues: Session | null;
}

/** Why a session could not be opened. */
export type OpenRefusal = "pool-full" | "address-taken" | "max-clients" | "identity-limit" | "banned";

/** Most bans kept at once (the oldest is forgotten first). */
export const MAX_BANS = 4096;

/** Result of opening a session. */
export type OpenResult = { ok: true; session: Session } | { ok: false; reason: OpenRefusal };

/**
 * The device key: sessions and sticky addresses are per (identity, device id). With one
 * shared secret there is one identity (null) and the device id alone is the key.
 */
export function deviceKey(identity: string | null, deviceId: string | null): string | null {
  if (deviceId === null) return null;
  return identity === null ? deviceId : `${identity}\u0000${deviceId}`;
}

/** What a ban names: the device (identity + id), else the source address. */
function banKey(s: { identity: string | null; deviceId: string | null; address: string }): string {
  const dev = deviceKey(s.identity, s.deviceId);
  if (dev !== null) return `device ${dev}`;
  const a = s.address.startsWith("::ffff:") ? s.address.slice(7) : s.address;
  return `source ${a}`;
}

/** The session table. */
export class SessionTable {
  readonly #pool4: Pool4;
  readonly #pool6: Pool6 | null;
  readonly #byAddr4 = new Map<number, Session>();
  readonly #byAddr6 = new Map<number, Session>();
  readonly #byDevice = new Map<string, Session>();
  readonly #perIdentity = new Map<string, number>();
  /** Ban key (banKey) -> until when no session may open for it. */
  readonly #bans = new Map<string, number>();
  #serial = 0;
  #maxClients = 0;
  /** Most sessions of one identity (0 = no cap); the shared secret (identity null) is never capped. */
  maxPerIdentity = 0;
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

  /** Most sessions at once, 0 = only the pool limits. Set through Server.setLive. */
  get maxClients(): number {
    return this.#maxClients;
  }

  set maxClients(n: number) {
    this.#maxClients = n;
  }

  /** Session holding this tunnel IPv4 address. */
  byAddr4(addr: number): Session | undefined {
    return this.#byAddr4.get(addr);
  }

  /** Session whose IPv6 address ends in these 32 bits (the caller checked the prefix). */
  byAddr6Key(key: number): Session | undefined {
    return this.#byAddr6.get(key);
  }

  /** The session of a device (see deviceKey). */
  byDevice(identity: string | null, deviceId: string | null): Session | undefined {
    const key = deviceKey(identity, deviceId);
    return key === null ? undefined : this.#byDevice.get(key);
  }

  /** Open sessions of one identity. */
  countOf(identity: string): number {
    return this.#perIdentity.get(identity) ?? 0;
  }

  /** All open sessions (oldest first). */
  all(): Session[] {
    return [...this.#byAddr4.values()];
  }

  /** Opens a session for an authenticated peer; see the module comment. */
  open(spec: SessionSpec, now: number): OpenResult {
    const cont = spec.continues !== null && spec.continues.open ? spec.continues : null;
    if (this.#banned(banKey(spec), now)) return { ok: false, reason: "banned" };
    if (cont === null && this.#maxClients > 0 && this.size >= this.#maxClients) return { ok: false, reason: "max-clients" };
    if (cont === null && spec.identity !== null && this.maxPerIdentity > 0 && this.countOf(spec.identity) >= this.maxPerIdentity) {
      return { ok: false, reason: "identity-limit" };
    }
    if (cont) this.#unlink(cont); // its address stays leased until we know whether it is reused
    const addr4 = this.#address(spec, cont);
    if (addr4 === null) {
      if (cont) this.#finish(cont, "replaced", now);
      return { ok: false, reason: spec.fixedAddr4 !== null ? "address-taken" : "pool-full" };
    }
    const addr6 = this.#pool6 ? this.#pool6.addressFor(addr4) : null;
    const serial = ++this.#serial;
    const s: Session = {
      serial,
      protocol: spec.door.protocol,
      door: spec.door,
      identity: spec.identity,
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
      grant: spec.grant,
      rxPackets: 0,
      rxBytes: 0,
      txPackets: 0,
      txBytes: 0,
      drops: newDropCounters(),
      open: true,
    };
    this.#link(s);
    if (cont) this.#finish(cont, "replaced", now);
    this.onUp(s);
    return { ok: true, session: s };
  }

  /** Ends a session: unindexes it, returns its address, tells its door. Idempotent. */
  close(s: Session, reason: CloseReason, now: number): void {
    if (!s.open) return;
    this.#unlink(s);
    if (this.#byAddr4.get(s.addr4) === undefined) this.#pool4.release(s.addr4);
    this.#finish(s, reason, now);
  }

  /**
   * Keeps `s`'s device out until `until` (a kick with --ban): its device key, or for a
   * session without a device id, its source address.
   */
  ban(s: Session, until: number): void {
    const key = banKey(s);
    this.#bans.delete(key);
    this.#bans.set(key, until);
    if (this.#bans.size > MAX_BANS) this.#bans.delete(this.#bans.keys().next().value as string);
  }

  #banned(key: string, now: number): boolean {
    const until = this.#bans.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#bans.delete(key);
    return false;
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
    return n;
  }

  /** The tunnel address for a new session: its fixed one, the continued session's, or a lease. */
  #address(spec: SessionSpec, cont: Session | null): number | null {
    const key = deviceKey(spec.identity, spec.deviceId);
    if (spec.fixedAddr4 !== null && spec.fixedAddr4 !== cont?.addr4) {
      if (cont) this.#pool4.release(cont.addr4);
      return this.#pool4.leaseExact(spec.fixedAddr4, key) ? spec.fixedAddr4 : null;
    }
    return cont ? cont.addr4 : this.#pool4.lease(key);
  }

  #link(s: Session): void {
    if (s.identity !== null) this.#perIdentity.set(s.identity, this.countOf(s.identity) + 1);
    this.#byAddr4.set(s.addr4, s);
    if (s.addr6) this.#byAddr6.set(s.addr6Key, s);
    const key = deviceKey(s.identity, s.deviceId);
    if (key !== null) this.#byDevice.set(key, s);
  }

  #unlink(s: Session): void {
    if (this.#byAddr4.get(s.addr4) !== s) return; // not linked (already unlinked, or replaced)
    if (s.identity !== null) {
      const n = this.countOf(s.identity) - 1;
      if (n > 0) this.#perIdentity.set(s.identity, n);
      else this.#perIdentity.delete(s.identity);
    }
    this.#byAddr4.delete(s.addr4);
    if (s.addr6 && this.#byAddr6.get(s.addr6Key) === s) this.#byAddr6.delete(s.addr6Key);
    const key = deviceKey(s.identity, s.deviceId);
    if (key !== null && this.#byDevice.get(key) === s) this.#byDevice.delete(key);
  }

  #finish(s: Session, reason: CloseReason, now: number): void {
    if (!s.open) return;
    s.open = false;
    s.door.closed(s, reason, now);
    this.onDown(s, reason);
  }
}

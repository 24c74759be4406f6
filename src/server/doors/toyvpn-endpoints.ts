/**
 * @module server/doors/toyvpn-endpoints
 * ToyVpn finds a client's session by its UDP endpoint: the protocol has no session
 * id, so (address, port) is the identity of a datagram. This index keeps that map
 * (allocation-free lookups keyed by the socket's own strings), plus a bounded memory
 * of endpoints whose session closed recently, so a stray datagram from one can be
 * answered with a rehandshake request, at most once per REHANDSHAKE_INTERVAL_MS.
 */

import type { Session } from "../session.ts";

/** How long a closed endpoint is remembered, and how many. */
export const RECENT_ENDPOINT_MS = 5 * 60_000;
const RECENT_ENDPOINT_CAP = 4096;
/** At most one rehandshake request per endpoint per this interval. */
export const REHANDSHAKE_INTERVAL_MS = 1000;

/** Sessions by endpoint, and recently closed endpoints. */
export class EndpointIndex {
  readonly #byEndpoint = new Map<string, Map<number, Session>>();
  /** "address|port" -> when it closed and when it was last asked to rehandshake. Insertion-ordered, bounded. */
  readonly #recent = new Map<string, { closedAt: number; askedAt: number }>();

  /** Session at this endpoint, or undefined. Allocation-free. */
  get(address: string, port: number): Session | undefined {
    return this.#byEndpoint.get(address)?.get(port);
  }

  /** Indexes `s` at its endpoint (replacing whatever was there). */
  set(s: Session): void {
    let ports = this.#byEndpoint.get(s.address);
    if (!ports) this.#byEndpoint.set(s.address, (ports = new Map()));
    ports.set(s.port, s);
    this.#recent.delete(`${s.address}|${s.port}`);
  }

  /** Unindexes `s` if it is the one at its endpoint, and remembers the endpoint as recently closed. */
  delete(s: Session, now: number): void {
    const ports = this.#byEndpoint.get(s.address);
    if (ports?.get(s.port) !== s) return;
    ports.delete(s.port);
    if (ports.size === 0) this.#byEndpoint.delete(s.address);
    const key = `${s.address}|${s.port}`;
    this.#recent.delete(key);
    this.#recent.set(key, { closedAt: now, askedAt: -Infinity });
    if (this.#recent.size > RECENT_ENDPOINT_CAP) this.#recent.delete(this.#recent.keys().next().value as string);
  }

  /**
   * True when a datagram from this endpoint should be answered with a rehandshake
   * request: its session closed within RECENT_ENDPOINT_MS, and it was not asked
   * within the last REHANDSHAKE_INTERVAL_MS.
   */
  shouldAskRehandshake(address: string, port: number, now: number): boolean {
    if (this.#recent.size === 0) return false;
    const r = this.#recent.get(`${address}|${port}`);
    if (r === undefined || now - r.closedAt >= RECENT_ENDPOINT_MS || now - r.askedAt < REHANDSHAKE_INTERVAL_MS) return false;
    r.askedAt = now;
    return true;
  }

  /** Forgets closed endpoints older than RECENT_ENDPOINT_MS. */
  prune(now: number): void {
    for (const [key, r] of this.#recent) {
      if (now - r.closedAt < RECENT_ENDPOINT_MS) break;
      this.#recent.delete(key);
    }
  }
}

/**
 * @module engine/handshake
 * Turns a handshake datagram into a session, or into silence:
 *   1. parse the credential (C-string semantics, bounded)
 *   2. authenticate it (constant time, in auth/); a failure is logged as one
 *      greppable line `handshake rejected from ADDR:PORT reason=...` (rate-limited,
 *      never the credential) and gets no answer at all
 *   3. a copy of a handshake already answered within a second is absorbed
 *   4. open the session (replaces the device's or endpoint's old one), or refuse
 *      when the pool is full / max clients is reached (logged, no answer)
 *   5. answer with the 1024-byte parameter datagram, HANDSHAKE_REPEAT times
 */

import { HANDSHAKE_REPEAT, parseHandshake } from "../protocol/toyvpn.ts";
import type { Authenticator } from "../auth/secret.ts";
import type { Clock } from "../lib/clock.ts";
import { LogLimiter, type Logger } from "../lib/log.ts";
import type { Transport } from "../transport/transport.ts";
import type { HandshakeHandler } from "./router.ts";
import type { Session, SessionTable } from "./sessions.ts";
import type { ServerStats } from "./stats.ts";

/** A duplicate handshake from the same endpoint within this window is not answered again. */
export const REANSWER_INTERVAL_MS = 1000;

/** `::ffff:1.2.3.4` -> `1.2.3.4`; IPv6 in brackets for `addr:port` display. */
export function displayEndpoint(address: string, port: number): string {
  const a = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
  return a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`;
}

/** What the handshaker needs. */
export interface HandshakeDeps {
  sessions: SessionTable;
  transport: Transport;
  clock: Clock;
  stats: ServerStats;
  log: Logger;
  auth: Authenticator;
  /** Builds a client's parameter datagram. */
  params(addr4: number, addr6: Uint8Array | null): Uint8Array;
}

/** The handshake stage of the router. */
export class Handshaker implements HandshakeHandler {
  /** Refuse new sessions beyond this many (0 = only the pool limits). Changeable at runtime. */
  maxClients = 0;
  /** Current authenticator; replaceable at runtime. */
  auth: Authenticator;
  readonly #d: HandshakeDeps;
  readonly #rejectLog = new LogLimiter(20);

  constructor(deps: HandshakeDeps) {
    this.#d = deps;
    this.auth = deps.auth;
  }

  handshake(d: Uint8Array, address: string, port: number): void {
    const deps = this.#d;
    const now = deps.clock.now();
    const payload = parseHandshake(d);
    if (!payload.ok) return this.#reject(address, port, `malformed-${payload.reason}`, now);
    const r = this.auth.check(payload.credential);
    if (!r.ok) return this.#reject(address, port, r.reason, now, r.user);

    const existing = deps.sessions.byEndpoint(address, port);
    if (existing !== undefined && existing.deviceId === r.deviceId && existing.user === r.user) {
      existing.lastSeen = now;
      if (now - existing.lastAnswer < REANSWER_INTERVAL_MS) {
        deps.stats.handshakes.duplicate++;
        return;
      }
      deps.stats.handshakes.ok++;
      return this.#answer(existing, now);
    }

    const replacing = existing !== undefined || (r.deviceId !== null && deps.sessions.byDevice(r.deviceId) !== undefined);
    if (this.maxClients > 0 && !replacing && deps.sessions.size >= this.maxClients) {
      deps.stats.handshakes.refused++;
      deps.log.warn(`handshake refused from ${displayEndpoint(address, port)}: max clients (${this.maxClients}) reached`);
      return;
    }
    const res = deps.sessions.open(
      { address, port, deviceId: r.deviceId, user: r.user, fixedAddr4: r.fixedAddr4, params: deps.params },
      now,
    );
    if (!res.ok) {
      deps.stats.handshakes.refused++;
      const why = res.reason === "pool-full" ? "address pool exhausted" : "fixed address in use";
      deps.log.warn(`handshake refused from ${displayEndpoint(address, port)}: ${why}`);
      return;
    }
    deps.stats.handshakes.ok++;
    this.#answer(res.session, now);
  }

  #answer(s: Session, now: number): void {
    s.lastAnswer = now;
    for (let i = 0; i < HANDSHAKE_REPEAT; i++) this.#d.transport.sendNow(s.params, s.port, s.address);
  }

  #reject(address: string, port: number, reason: string, now: number, user?: string): void {
    const deps = this.#d;
    deps.stats.handshakes.rejected++;
    const suppressed = this.#rejectLog.take(now);
    if (suppressed < 0) return;
    const more = suppressed > 0 ? ` (${suppressed} similar lines suppressed)` : "";
    const who = user !== undefined ? ` user=${user}` : "";
    deps.log.warn(`handshake rejected from ${displayEndpoint(address, port)} reason=${reason}${who}${more}`);
  }
}

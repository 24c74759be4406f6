/**
 * @module server/doors/toyvpn-handshake
 * Turns a handshake datagram into a session, or into silence:
 *   0. admit it (auth/ratelimit.ts): a locked-out source, one over its rate or a
 *      server over its handshake budget is rejected (reason=locked-out,
 *      rate-limited, busy) before any work
 *   1. parse the credential (C-string semantics, bounded)
 *   2. authenticate it (constant time, in auth/); a failure is logged as one
 *      greppable line `handshake rejected from ADDR:PORT reason=... [user=NAME]`
 *      (rate-limited, never the credential), counts towards the source's lockout
 *      and gets no answer at all. A slow check (a password hash) returns a promise:
 *      the datagram's turn ends there, and steps 3-5 run when it resolves, against
 *      the session table as it is then (at most MAX_PENDING_CHECKS wait at once)
 *   3. a copy of a handshake already answered within a second is absorbed
 *   4. open the session (replaces the device's or endpoint's old one), or refuse
 *      when the pool is full / max clients is reached (logged, no answer)
 *   5. answer with the 1024-byte parameter datagram, HANDSHAKE_REPEAT times
 */

import { HANDSHAKE_REPEAT, parseHandshake } from "../../protocol/toyvpn.ts";
import type { AuthResult, Authenticator, Grant } from "../../auth/secret.ts";
import { type Admission, credentialFingerprint, type HandshakeLimiter, sourceKey } from "../../auth/ratelimit.ts";
import type { Clock } from "../../lib/clock.ts";
import { LogLimiter, type Logger } from "../../lib/log.ts";
import type { Transport } from "../../transport/transport.ts";
import type { HandshakeHandler } from "../router.ts";
import type { Session, SessionTable } from "../sessions.ts";
import type { ServerStats } from "../stats.ts";

/** A duplicate handshake from the same endpoint within this window is not answered again. */
export const REANSWER_INTERVAL_MS = 1000;
/** Most slow credential checks awaited at once; more are rejected as `busy`. */
export const MAX_PENDING_CHECKS = 1024;
/** Reasons that mean "not now" rather than "wrong": they do not count towards a lockout. */
const NOT_FAILURES: ReadonlySet<string> = new Set(["busy", "rate-limited", "locked-out"]);

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
  /** Handshake rate limits and lockouts; none when absent. */
  limiter?: HandshakeLimiter;
  /** Builds a client's parameter datagram. */
  params(addr4: number, addr6: Uint8Array | null): Uint8Array;
}

/** The handshake stage of the router. */
export class Handshaker implements HandshakeHandler {
  /** Refuse new sessions beyond this many (0 = only the pool limits). Changeable at runtime. */
  maxClients = 0;
  /** Current authenticator; replaceable at runtime. */
  auth: Authenticator;
  /** Rate limits and lockouts (null = none). */
  readonly limiter: HandshakeLimiter | null;
  readonly #d: HandshakeDeps;
  readonly #rejectLog = new LogLimiter(20);
  readonly #lockLog = new LogLimiter(5);
  /** What each session's credential proved (for reloads that revoke). */
  readonly #grants = new WeakMap<Session, Grant>();
  #pending = 0;
  #closed = false;

  constructor(deps: HandshakeDeps) {
    this.#d = deps;
    this.auth = deps.auth;
    this.limiter = deps.limiter ?? null;
  }

  /** Slow credential checks being awaited. */
  get pendingChecks(): number {
    return this.#pending;
  }

  /** What `s`'s credential proved (user or token), if it was more than the shared secret. */
  grantOf(s: Session): Grant | undefined {
    return this.#grants.get(s);
  }

  /** Ignores checks that resolve from now on (the server is stopping). */
  close(): void {
    this.#closed = true;
  }

  handshake(d: Uint8Array, address: string, port: number): void {
    const deps = this.#d;
    const now = deps.clock.now();
    const gate: Admission = this.limiter === null ? "ok" : this.limiter.admit(address, now);
    if (gate !== "ok") return this.#reject(address, port, gate, now);
    const payload = parseHandshake(d);
    if (!payload.ok) return this.#reject(address, port, `malformed-${payload.reason}`, now);
    if (this.#pending >= MAX_PENDING_CHECKS) return this.#reject(address, port, "busy", now);
    const r = this.auth.check(payload.credential, sourceKey(address));
    const print = this.limiter === null ? 0 : credentialFingerprint(payload.credential);
    if (!(r instanceof Promise)) return this.#accept(r, address, port, now, print);
    this.#pending++;
    r.then(
      (res) => {
        this.#pending--;
        if (!this.#closed) this.#accept(res, address, port, deps.clock.now(), print);
      },
      () => {
        this.#pending--;
        if (!this.#closed) this.#reject(address, port, "busy", deps.clock.now());
      },
    );
  }

  /** Steps 3-5 for a judged credential (now, or when a slow check resolved). */
  #accept(r: AuthResult, address: string, port: number, now: number, print: number): void {
    const deps = this.#d;
    if (!r.ok) return this.#reject(address, port, r.reason, now, r.user, print);
    this.limiter?.success(address);

    const existing = deps.sessions.byEndpoint(address, port);
    if (existing !== undefined && existing.deviceId === r.deviceId && existing.user === r.user) {
      existing.lastSeen = now;
      if (r.grant !== undefined) this.#grants.set(existing, r.grant);
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
    const fixedAddr4 = r.fixedAddrs4 !== undefined && r.fixedAddrs4.length > 1 ? this.#pickFixed(r.fixedAddrs4, existing, r.deviceId) : r.fixedAddr4;
    const res = deps.sessions.open(
      { address, port, deviceId: r.deviceId, user: r.user, fixedAddr4, params: deps.params },
      now,
    );
    if (!res.ok) {
      deps.stats.handshakes.refused++;
      const why = res.reason === "pool-full" ? "address pool exhausted" : "fixed address in use";
      deps.log.warn(`handshake refused from ${displayEndpoint(address, port)}: ${why}`);
      return;
    }
    deps.stats.handshakes.ok++;
    if (r.grant !== undefined) this.#grants.set(res.session, r.grant);
    this.#answer(res.session, now);
  }

  /** One of a user's fixed addresses: the one this device (or endpoint) holds, else a free one. */
  #pickFixed(addrs: readonly number[], atEndpoint: Session | undefined, deviceId: string | null): number {
    const sessions = this.#d.sessions;
    const mine = deviceId !== null ? sessions.byDevice(deviceId) : atEndpoint;
    if (mine !== undefined && addrs.includes(mine.addr4)) return mine.addr4;
    return addrs.find((a) => sessions.byAddr4(a) === undefined) ?? (addrs[0] as number);
  }

  #answer(s: Session, now: number): void {
    s.lastAnswer = now;
    for (let i = 0; i < HANDSHAKE_REPEAT; i++) this.#d.transport.sendNow(s.params, s.port, s.address);
  }

  #reject(address: string, port: number, reason: string, now: number, user?: string, print = 0): void {
    const deps = this.#d;
    if (NOT_FAILURES.has(reason)) deps.stats.handshakes.limited++;
    else deps.stats.handshakes.rejected++;
    if (this.limiter !== null && !NOT_FAILURES.has(reason) && this.limiter.failure(address, port, now, print)) {
      const l = this.limiter.limits;
      if (this.#lockLog.take(now) >= 0) {
        deps.log.warn(`handshake source ${sourceKey(address)} locked out for ${Math.round(l.lockoutMs / 1000)} s after ${l.lockoutFailures} failed handshakes within ${Math.round(l.lockoutWindowMs / 1000)} s`);
      }
    }
    const suppressed = this.#rejectLog.take(now);
    if (suppressed < 0) return;
    const more = suppressed > 0 ? ` (${suppressed} similar lines suppressed)` : "";
    const who = user !== undefined ? ` user=${user}` : "";
    deps.log.warn(`handshake rejected from ${displayEndpoint(address, port)} reason=${reason}${who}${more}`);
  }
}

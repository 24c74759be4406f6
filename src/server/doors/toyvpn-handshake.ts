/**
 * @module server/doors/toyvpn-handshake
 * Turns a ToyVpn handshake datagram into a session, or into silence:
 *   1. parse the credential (C-string semantics, bounded)
 *   2. authenticate it (constant time, in auth/). The shared secret and tokens are
 *      checked for every handshake, whatever the source's history: a source address
 *      can be spoofed, so no limit may stand between a valid cheap credential and its
 *      session. Expensive work (an argon2 password check) first asks the handshake
 *      limiter (auth/ratelimit.ts: lockout, per-source rate, global budget). A failure
 *      is logged as one greppable line `handshake rejected from ADDR:PORT reason=...
 *      [user=NAME]` (rate-limited per second; what the limit holds back is summed up per
 *      source address a second later, never the credential), counts towards the source's
 *      lockout and gets no answer at all. A slow check returns a promise: the
 *      datagram's turn ends there, and steps 3-5 run when it resolves, against the
 *      session table as it is then (at most MAX_PENDING_CHECKS wait at once)
 *   3. a copy of a handshake already answered within a second is absorbed; a later one
 *      from the same device at the same endpoint renews its session (counted `renewed`)
 *   4. open the session (it continues the device's or the endpoint's old one), or
 *      refuse when the pool is full, max clients or the identity's session cap is
 *      reached (logged as `handshake refused from ADDR:PORT reason=...`, no answer)
 *   5. answer with the 1024-byte parameter datagram, HANDSHAKE_REPEAT times
 */

import { type AuthResult, type Authenticator, identityOf } from "../../auth/secret.ts";
import { type Admission, credentialFingerprint, type HandshakeLimiter, sourceKey } from "../../auth/ratelimit.ts";
import { formatEndpoint } from "../../protocol/ip.ts";
import { HANDSHAKE_REPEAT, parseHandshake } from "../../protocol/toyvpn.ts";
import type { Clock } from "../../lib/clock.ts";
import { LogLimiter, type Logger } from "../../lib/log.ts";
import { logEvent } from "../../lib/log-event.ts";
import { KeyedLogLimiter } from "../../lib/log-limit.ts";
import { endpointField } from "../describe.ts";
import type { Session } from "../session.ts";
import type { OpenRefusal, SessionSpec, SessionTable } from "../sessions.ts";
import type { ServerStats } from "../stats.ts";

/** A duplicate handshake from the same endpoint within this window is not answered again. */
export const REANSWER_INTERVAL_MS = 1000;
/** Most slow credential checks awaited at once; more are rejected as `busy`. */
export const MAX_PENDING_CHECKS = 1024;
/** Reasons that mean "not now" rather than "wrong": they do not count towards a lockout. */
const NOT_FAILURES: ReadonlySet<string> = new Set(["busy", "rate-limited", "locked-out", "error"]);

/** What the handshaker needs from its door. */
export interface HandshakeHost {
  sessions: SessionTable;
  clock: Clock;
  stats: ServerStats;
  log: Logger;
  /** The session at this endpoint. */
  atEndpoint(address: string, port: number): Session | undefined;
  /** Opens a session of this door (also indexes it and builds its parameters); null if refused (logged). */
  open(spec: Omit<SessionSpec, "door">, now: number): { ok: true; session: Session } | { ok: false; reason: OpenRefusal | "params" };
  /** When `s` was last sent its parameters (-Infinity: never). */
  lastAnswer(s: Session): number;
  /** Records that `s` is being answered now. */
  markAnswered(s: Session, now: number): void;
  /** Sends `s` its parameter datagram now (once). */
  sendParams(s: Session): void;
}

/** The handshake stage of the ToyVpn door. */
export class Handshaker {
  /** Current authenticator; replaced through the door's `change`. */
  auth: Authenticator;
  /** Rate limits and lockouts (null = none). */
  readonly limiter: HandshakeLimiter | null;
  readonly #h: HandshakeHost;
  readonly #rejectLog = new KeyedLogLimiter<{ port: number; reason: string; user: string | undefined }>(20);
  readonly #lockLog = new LogLimiter(5);
  #pending = 0;
  #closed = false;

  constructor(host: HandshakeHost, auth: Authenticator, limiter: HandshakeLimiter | null) {
    this.#h = host;
    this.auth = auth;
    this.limiter = limiter;
  }

  /** Slow credential checks being awaited. */
  get pendingChecks(): number {
    return this.#pending;
  }

  /** Ignores checks that resolve from now on (the server is stopping). */
  close(): void {
    this.#closed = true;
  }

  /** One handshake datagram (first byte 0x00, more than one byte). */
  handshake(d: Uint8Array, address: string, port: number): void {
    const h = this.#h;
    const now = h.clock.now();
    const payload = parseHandshake(d);
    if (!payload.ok) return this.#reject(address, port, `malformed-${payload.reason}`, now);
    if (this.#pending >= MAX_PENDING_CHECKS) return this.#reject(address, port, "busy", now);
    const limiter = this.limiter;
    const admit = (): Admission => (limiter === null ? "ok" : limiter.admit(address, now));
    let r: AuthResult | Promise<AuthResult>;
    try {
      r = this.auth.check(payload.credential, sourceKey(address), admit);
    } catch (e) {
      return this.#checkFailed(e, address, port, now);
    }
    const print = limiter === null ? 0 : credentialFingerprint(payload.credential);
    if (!(r instanceof Promise)) return this.#accept(r, address, port, now, print);
    this.#pending++;
    r.then(
      (res) => {
        this.#pending--;
        if (!this.#closed) this.#accept(res, address, port, h.clock.now(), print);
      },
      (e: unknown) => {
        this.#pending--;
        if (!this.#closed) this.#checkFailed(e, address, port, h.clock.now());
      },
    );
  }

  /** An authenticator that threw or rejected: logged with its stack, the handshake refused unanswered. */
  #checkFailed(e: unknown, address: string, port: number, now: number): void {
    this.#h.log.error(`credential check failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    this.#reject(address, port, "error", now);
  }

  /** Steps 3-5 for a judged credential (now, or when a slow check resolved). */
  #accept(r: AuthResult, address: string, port: number, now: number, print: number): void {
    const h = this.#h;
    if (!r.ok) return this.#reject(address, port, r.reason, now, r.user, print);
    this.limiter?.success(address);
    const identity = identityOf(r.grant);
    const existing = h.atEndpoint(address, port);
    if (existing !== undefined && existing.deviceId === r.deviceId && existing.identity === identity) {
      return this.#renew(existing, r, now);
    }
    const cont = h.sessions.byDevice(identity, r.deviceId) ?? null;
    if (existing !== undefined) h.sessions.close(existing, "replaced", now);
    const fixedAddr4 = r.fixedAddrs4 !== undefined && r.fixedAddrs4.length > 1 ? this.#pickFixed(r.fixedAddrs4, cont) : r.fixedAddr4;
    const res = h.open({ identity, deviceId: r.deviceId, user: r.user, grant: r.grant ?? null, address, port, fixedAddr4, continues: cont }, now);
    if (!res.ok) {
      h.stats.handshakes.refused++;
      const who = r.user !== null ? ` user=${r.user}` : "";
      const fields = { endpoint: endpointField(address, port), reason: res.reason, user: r.user ?? undefined };
      h.log.warn(logEvent("handshake-refused", fields, `handshake refused from ${formatEndpoint(address, port)} reason=${res.reason}${who} (${REFUSALS[res.reason]})`));
      return;
    }
    h.stats.handshakes.ok++;
    this.#answer(res.session, now);
  }

  /** The same device at the same endpoint again: a copy of the last handshake, or a renewal. */
  #renew(s: Session, r: AuthResult & { ok: true }, now: number): void {
    const h = this.#h;
    s.lastSeen = now;
    if (r.grant !== undefined) s.grant = r.grant;
    if (now - h.lastAnswer(s) < REANSWER_INTERVAL_MS) {
      h.stats.handshakes.duplicate++;
      return;
    }
    h.stats.handshakes.renewed++;
    this.#answer(s, now);
  }

  /** One of a user's fixed addresses: the one this device holds, else a free one. */
  #pickFixed(addrs: readonly number[], mine: Session | null): number {
    if (mine !== null && addrs.includes(mine.addr4)) return mine.addr4;
    return addrs.find((a) => this.#h.sessions.byAddr4(a) === undefined) ?? (addrs[0] as number);
  }

  #answer(s: Session, now: number): void {
    this.#h.markAnswered(s, now);
    for (let i = 0; i < HANDSHAKE_REPEAT; i++) this.#h.sendParams(s);
  }

  #reject(address: string, port: number, reason: string, now: number, user?: string, print = 0): void {
    const h = this.#h;
    if (NOT_FAILURES.has(reason)) h.stats.handshakes.limited++;
    else h.stats.handshakes.rejected++;
    h.stats.rejections[reason] = (h.stats.rejections[reason] ?? 0) + 1;
    if (this.limiter !== null && !NOT_FAILURES.has(reason) && this.limiter.failure(address, port, now, print)) {
      const l = this.limiter.limits;
      if (this.#lockLog.take(now) >= 0) {
        const source = sourceKey(address);
        const fields = { source, lockoutSec: Math.round(l.lockoutMs / 1000), failures: l.lockoutFailures, windowSec: Math.round(l.lockoutWindowMs / 1000) };
        h.log.warn(logEvent("locked-out", fields, `handshake source ${source} locked out for ${fields.lockoutSec} s after ${l.lockoutFailures} failed handshakes within ${fields.windowSec} s`));
      }
    }
    this.tick(now);
    const ep = endpointField(address, port);
    if (!this.#rejectLog.take(ep.src, now, { port, reason, user })) return;
    const fields = { endpoint: ep, reason, user };
    h.log.warn(logEvent("handshake-rejected", fields, `handshake rejected from ${formatEndpoint(address, port)} reason=${reason}${user !== undefined ? ` user=${user}` : ""}`));
  }

  /**
   * Logs what the rejection limit held back, one line per source address (so a fail2ban
   * filter still counts it): `handshake rejected from ADDR:PORT reason=R (N similar lines
   * suppressed)`. Called on each rejection and by the door's tick.
   */
  tick(now: number): void {
    const d = this.#rejectLog.drain(now);
    if (d === null) return;
    const log = this.#h.log;
    for (const k of d.keys) {
      const { port, reason, user } = k.last;
      const fields = { endpoint: { src: k.key, port }, reason, user, suppressed: k.count };
      const who = user !== undefined ? ` user=${user}` : "";
      log.warn(logEvent("handshake-rejected", fields, `handshake rejected from ${formatEndpoint(k.key, port)} reason=${reason}${who} (${k.count} similar lines suppressed)`));
    }
    if (d.others.lines > 0) {
      log.warn(logEvent("handshake-rejected", { suppressed: d.others.lines, sources: d.others.keys }, `handshake rejected: ${d.others.lines} more lines from ${d.others.keys} other sources suppressed`));
    }
  }
}

/** Log wording of each refusal. */
const REFUSALS: Record<OpenRefusal | "params", string> = {
  "pool-full": "address pool exhausted",
  "address-taken": "fixed address in use",
  "max-clients": "max clients reached",
  "identity-limit": "this user or token has its maximum of sessions",
  banned: "kicked with --ban, the ban has not run out",
  params: "its parameters do not fit in one datagram",
};

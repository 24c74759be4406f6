/**
 * @module auth/ratelimit
 * Abuse resistance for handshakes, pure (time is a parameter, no timers). A source
 * address can be spoofed, so nothing here may stop a valid credential that is cheap to
 * check: the handshaker checks the shared secret and tokens for every handshake, and
 * consults this limiter only for the expensive work (an argon2 password check) and to
 * count failures. `admit` says whether expensive work may start for a source:
 *
 *   1. lockout: a source with `lockoutFailures` failed handshakes within
 *      `lockoutWindowMs` is throttled for `lockoutMs`: one expensive check per
 *      LOCKED_CHECK_INTERVAL_MS, the rest "locked-out". Not none: the source may be
 *      spoofed, or shared (CGNAT), so a lockout bounds the rate of failed checks
 *      without shutting a valid password out (it gets through within about a second
 *      once the burst that caused the lock is over)
 *   2. per-source token bucket: `perSourceRate` checks a second with bursts of
 *      `perSourceBurst` ("rate-limited")
 *   3. global token bucket: `globalRate` checks a second over all sources ("busy")
 *
 * A source is an IPv4 address, or an IPv6 /64 (one subscriber's prefix). The table
 * of sources is an LRU capped at `maxSources` entries, so a flood from many
 * addresses costs bounded memory; the least recently seen source is forgotten first.
 * Lockouts live apart (at most `maxSources` of them, the oldest dropped first): a flood
 * of new sources evicting table entries never lifts a running lockout.
 *
 * The Android app sends every handshake three times and, when idle, reconnects
 * about every 23 s: the defaults let that through with a wide margin. Its three
 * copies of a wrong secret count as one failure (the same credential from the same
 * port within FAILURE_MERGE_MS is merged; the handshaker passes a fingerprint).
 */

import { Deadlines } from "../lib/deadlines.ts";
import { parseIpv6 } from "../protocol/ip.ts";

/** Tuning of the handshake limiter. A rate or count of 0 turns that stage off. */
export interface HandshakeLimits {
  /** Handshakes a second per source (token refill rate). */
  perSourceRate: number;
  /** Bucket size per source. */
  perSourceBurst: number;
  /** Handshakes a second over all sources (bucket size = one second's worth). */
  globalRate: number;
  /** Failures within the window that lock a source out. */
  lockoutFailures: number;
  lockoutWindowMs: number;
  lockoutMs: number;
  /** Most sources remembered at once. */
  maxSources: number;
}

/** The defaults (see the module comment). */
export const DEFAULT_LIMITS: HandshakeLimits = {
  perSourceRate: 2,
  perSourceBurst: 30,
  globalRate: 1000,
  lockoutFailures: 10,
  lockoutWindowMs: 60_000,
  lockoutMs: 5 * 60_000,
  maxSources: 16384,
};

/** While a source is locked out, at most one expensive check per this many ms. */
export const LOCKED_CHECK_INTERVAL_MS = 1000;

/** Failures from one endpoint (same port) this close together count once (the app's copies). */
export const FAILURE_MERGE_MS = 1000;

/** Verdict for one handshake. */
export type Admission = "ok" | "rate-limited" | "locked-out" | "busy";

/** A token bucket on caller-supplied time. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  /** Starts full. */
  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    if (now > this.#last) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
      this.#last = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

interface Source {
  tokens: number;
  refilledAt: number;
  failures: number;
  windowStart: number;
  lastFailPort: number;
  lastFailPrint: number;
  lastFailAt: number;
  /** When a check last started while the source was locked out. */
  lockedCheckAt: number;
}

/** A 32-bit FNV-1a fingerprint of a credential: tells the app's copies apart from new guesses. Not a secret hash. */
export function credentialFingerprint(credential: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < credential.length; i++) h = Math.imul(h ^ credential.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The key a client address is limited by: `a.b.c.d` for IPv4 (also when the socket
 * reports `::ffff:a.b.c.d`), the /64 prefix for IPv6.
 */
export function sourceKey(address: string): string {
  if (address.startsWith("::ffff:") && address.includes(".")) return address.slice(7);
  if (!address.includes(":")) return address;
  const b = parseIpv6(address);
  if (b === null) return address;
  let k = "";
  for (let i = 0; i < 8; i += 2) k += (((b[i] as number) << 8) | (b[i + 1] as number)).toString(16) + ":";
  return `${k}:/64`;
}

/** A locked-out source, for `warren lockouts`. */
export interface Lockout {
  source: string;
  /** Milliseconds left. */
  leftMs: number;
}

/** The handshake limiter: one per front door, used only by its handshaker. */
export class HandshakeLimiter {
  readonly limits: HandshakeLimits;
  readonly #sources = new Map<string, Source>();
  /** Locked-out source keys (all locks last as long, so the oldest set is the first to end). */
  readonly #locks: Deadlines<string>;
  readonly #global: TokenBucket | null;

  constructor(limits: Partial<HandshakeLimits> = {}, now = 0) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.#locks = new Deadlines(this.limits.maxSources);
    const g = this.limits.globalRate;
    this.#global = g > 0 ? new TokenBucket(g, g, now) : null;
  }

  /** Sources remembered now. */
  get size(): number {
    return this.#sources.size;
  }

  /** May expensive work (a password check) start for `address` now? Takes a token when it may. */
  admit(address: string, now: number): Admission {
    const l = this.limits;
    const key = sourceKey(address);
    const s = this.#touch(key, now);
    if (this.#isLocked(key, now)) {
      if (now - s.lockedCheckAt < LOCKED_CHECK_INTERVAL_MS) return "locked-out";
      if (this.#global !== null && !this.#global.take(now)) return "busy";
      s.lockedCheckAt = now;
      return "ok";
    }
    if (l.perSourceRate > 0) {
      if (now > s.refilledAt) {
        s.tokens = Math.min(l.perSourceBurst, s.tokens + ((now - s.refilledAt) * l.perSourceRate) / 1000);
        s.refilledAt = now;
      }
      if (s.tokens < 1) return "rate-limited";
      s.tokens -= 1;
    }
    if (this.#global !== null && !this.#global.take(now)) return "busy";
    return "ok";
  }

  /**
   * Records a failed handshake from `address:port` (`print`: credentialFingerprint of
   * what it sent). Returns true when this failure locked the source out (log it once).
   */
  failure(address: string, port: number, now: number, print = 0): boolean {
    const l = this.limits;
    if (l.lockoutFailures <= 0) return false;
    const key = sourceKey(address);
    const s = this.#touch(key, now);
    if (port === s.lastFailPort && print === s.lastFailPrint && now - s.lastFailAt < FAILURE_MERGE_MS) return false;
    s.lastFailPort = port;
    s.lastFailPrint = print;
    s.lastFailAt = now;
    if (now - s.windowStart >= l.lockoutWindowMs) {
      s.windowStart = now;
      s.failures = 0;
    }
    s.failures++;
    if (s.failures < l.lockoutFailures || this.#isLocked(key, now)) return false;
    s.failures = 0;
    this.#locks.set(key, now + l.lockoutMs);
    return true;
  }

  /** A successful handshake clears the source's failures (not a running lockout). */
  success(address: string): void {
    const s = this.#sources.get(sourceKey(address));
    if (s !== undefined) s.failures = 0;
  }

  /** True while `address` is locked out. */
  lockedOut(address: string, now: number): boolean {
    return this.#isLocked(sourceKey(address), now);
  }

  /** Sources locked out now, with the time left (expired locks are forgotten). */
  lockouts(now: number): Lockout[] {
    return this.#locks.active(now).map((l) => ({ source: l.key, leftMs: l.leftMs }));
  }

  /** Lifts the lockout of a source (an address, or an IPv6 /64 given by any address in it). */
  unlock(address: string): boolean {
    const key = sourceKey(address);
    const s = this.#sources.get(key);
    if (s !== undefined) s.failures = 0;
    return this.#locks.delete(key);
  }

  #isLocked(key: string, now: number): boolean {
    return this.#locks.has(key, now);
  }

  /** The entry of `key`, created or moved to the young end of the LRU. */
  #touch(key: string, now: number): Source {
    const m = this.#sources;
    let s = m.get(key);
    if (s !== undefined) {
      m.delete(key);
    } else {
      s = { tokens: this.limits.perSourceBurst, refilledAt: now, failures: 0, windowStart: -Infinity, lastFailPort: -1, lastFailPrint: 0, lastFailAt: -Infinity, lockedCheckAt: -Infinity };
      if (m.size >= this.limits.maxSources) m.delete(m.keys().next().value as string);
    }
    m.set(key, s);
    return s;
  }
}

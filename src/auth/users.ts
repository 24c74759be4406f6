/**
 * @module auth/users
 * Per-user credentials: the handshake carries `user:password` or
 * `user:password:deviceid`, checked against the argon2id hashes of the users file.
 *
 * An argon2id check costs tens of milliseconds of CPU and ~19-64 MiB of memory, so:
 *   1. it runs off the event loop (Bun.password.verify's promise); the handshaker
 *      awaits it and re-checks the endpoint when it resolves
 *   2. at most `maxInFlight` run at once, at most `maxQueued` wait; beyond that, and
 *      beyond `maxPerSource` pending checks of one source, the answer is `busy`
 *   3. concurrent checks of the same user+password share one verification (the
 *      app's three copies); results are cached, keyed by an HMAC-SHA256 of
 *      user+password under a per-process random key: successes for `cacheTtlMs`
 *      (the app reconnects every ~23 s), failures for `failCacheTtlMs`
 *   4. each user has a token bucket of password checks per minute (`handshakesPerMinute`
 *      in the file, else `defaultPerMinute`): guessing one user's password from many
 *      addresses stays slow. Sources the user logged in from before (within
 *      `goodSourceTtlMs`) do not draw on it, so forged attempts from elsewhere cannot
 *      shut the user out of her usual network
 *   5. before an argon2 run the handshake limiter is asked (`admit`): a locked-out source
 *      starts at most one a second, an over-budget one none; a cached success needs no
 *      run and no permission
 *
 * A user that does not exist is refused at once, without a hash check: user names
 * are not secret, and an unknown name must not cost an argon2 run. The reason then
 * carries no user name, so a mistyped secret never lands in the log.
 */

import { createHmac, randomBytes } from "node:crypto";
import type { Clock } from "../lib/clock.ts";
import { type Admission, TokenBucket } from "./ratelimit.ts";
import { type AuthResult, type Authenticator, DEVICE_ID_RE, type Grant } from "./secret.ts";
import type { UserRecord } from "./users-file.ts";

/** Tuning of UsersAuth; every field has a default. */
export interface UsersAuthOptions {
  /** Checks a password against a PHC hash (default Bun.password.verify). Must not throw synchronously. */
  verify?: (password: string, hash: string) => Promise<boolean>;
  maxInFlight?: number;
  maxQueued?: number;
  maxPerSource?: number;
  cacheTtlMs?: number;
  failCacheTtlMs?: number;
  cacheCap?: number;
  defaultPerMinute?: number;
  goodSourceTtlMs?: number;
}

const DEFAULTS: Required<Omit<UsersAuthOptions, "verify">> = {
  maxInFlight: 2,
  maxQueued: 32,
  maxPerSource: 2,
  cacheTtlMs: 10 * 60_000,
  failCacheTtlMs: 60_000,
  cacheCap: 4096,
  defaultPerMinute: 30,
  goodSourceTtlMs: 24 * 3600_000,
};

/** A handshake credential split into its fields. */
export interface UserCredential {
  user: string;
  password: string;
  deviceId: string | null;
}

/** `user:password` or `user:password:deviceid` (passwords contain no `:`); null otherwise. */
export function parseUserCredential(credential: string): UserCredential | null {
  const parts = credential.split(":");
  if (parts.length < 2 || parts.length > 3) return null;
  const [user, password, deviceId] = parts as [string, string, string | undefined];
  if (user === "" || password === "") return null;
  return { user, password, deviceId: deviceId ?? null };
}

interface CacheEntry {
  hash: string;
  until: number;
}

/** The users-file authenticator. */
export class UsersAuth implements Authenticator {
  readonly #o: Required<Omit<UsersAuthOptions, "verify">>;
  readonly #verify: (password: string, hash: string) => Promise<boolean>;
  readonly #clock: Clock;
  readonly #cacheKey = randomBytes(32);
  #users: ReadonlyMap<string, UserRecord>;
  readonly #ok = new Map<string, CacheEntry>();
  readonly #bad = new Map<string, CacheEntry>();
  readonly #pending = new Map<string, Promise<boolean>>();
  readonly #perSource = new Map<string, number>();
  readonly #buckets = new Map<string, TokenBucket>();
  /** `user NUL source` -> until when that source counts as the user's own (a success came from it). */
  readonly #goodSources = new Map<string, number>();
  readonly #queue: Array<() => void> = [];
  #inFlight = 0;
  /** Argon2 verifications run so far (tests, metrics). */
  verifications = 0;

  constructor(users: ReadonlyMap<string, UserRecord>, clock: Clock, opts: UsersAuthOptions = {}) {
    this.#users = users;
    this.#clock = clock;
    const { verify, ...rest } = opts;
    this.#o = { ...DEFAULTS, ...rest };
    this.#verify = verify ?? ((pw, hash) => Bun.password.verify(pw, hash));
  }

  /** Replaces the users (reload). Cached results stay valid only while a user's hash is unchanged. */
  setUsers(users: ReadonlyMap<string, UserRecord>): void {
    this.#users = users;
    for (const name of this.#buckets.keys()) if (!users.has(name)) this.#buckets.delete(name);
  }

  /** The current users. */
  get users(): ReadonlyMap<string, UserRecord> {
    return this.#users;
  }

  /** True when `name` is a user of the file. */
  has(name: string): boolean {
    return this.#users.has(name);
  }

  /** Verifications running plus waiting. */
  get pending(): number {
    return this.#inFlight + this.#queue.length;
  }

  /** Whether a session with this grant is still allowed (user present, enabled, same password). */
  allows(grant: Grant): boolean {
    if (grant.kind !== "user") return true;
    const u = this.#users.get(grant.id);
    return u !== undefined && u.enabled && u.hash === grant.hash;
  }

  check(credential: string, source = "?", admit?: () => Admission): AuthResult | Promise<AuthResult> {
    const c = parseUserCredential(credential);
    const rec = c === null ? undefined : this.#users.get(c.user);
    if (c === null || rec === undefined) return { ok: false, reason: "bad-credentials" };
    if (c.deviceId !== null && !DEVICE_ID_RE.test(c.deviceId)) return { ok: false, reason: "bad-device-id", user: rec.name };
    if (!rec.enabled) return { ok: false, reason: "user-disabled", user: rec.name };
    const now = this.#clock.now();
    const key = createHmac("sha256", this.#cacheKey).update(`${c.user}\u0000${c.password}`).digest("base64");
    const hit = this.#ok.get(key);
    if (hit !== undefined && hit.hash === rec.hash && hit.until > now) {
      hit.until = now + this.#o.cacheTtlMs; // refreshed on use: a user who keeps coming back is not re-verified
      this.#markGood(rec.name, source, now);
      return grantFor(rec, c.deviceId);
    }
    const miss = this.#bad.get(key);
    if (miss !== undefined && miss.hash === rec.hash && miss.until > now) return { ok: false, reason: "bad-credentials", user: rec.name };
    const p = this.#pending.get(key) ?? this.#start(key, rec, c.password, source, now, admit);
    if (!(p instanceof Promise)) return p;
    return p.then((ok) => this.#result(ok, c, rec.hash, source));
  }

  /** Starts one argon2 run when the limits allow it; else the refusal. */
  #start(key: string, rec: UserRecord, password: string, source: string, now: number, admit?: () => Admission): Promise<boolean> | AuthResult {
    const gate = admit?.() ?? "ok";
    if (gate !== "ok") return { ok: false, reason: gate, user: rec.name };
    if (!this.#isGood(rec.name, source, now) && !this.#bucket(rec, now).take(now)) return { ok: false, reason: "rate-limited", user: rec.name };
    if ((this.#perSource.get(source) ?? 0) >= this.#o.maxPerSource) return { ok: false, reason: "busy", user: rec.name };
    if (this.#inFlight >= this.#o.maxInFlight && this.#queue.length >= this.#o.maxQueued) return { ok: false, reason: "busy", user: rec.name };
    return this.#run(key, rec.hash, password, source);
  }

  /** After a verification: judge against the users as they are now (a reload may have happened). */
  #result(ok: boolean, c: UserCredential, hashAtStart: string, source: string): AuthResult {
    const now = this.#users.get(c.user);
    if (now === undefined) return { ok: false, reason: "bad-credentials" };
    if (!now.enabled) return { ok: false, reason: "user-disabled", user: now.name };
    if (!ok || now.hash !== hashAtStart) return { ok: false, reason: "bad-credentials", user: now.name };
    this.#markGood(now.name, source, this.#clock.now());
    return grantFor(now, c.deviceId);
  }

  #isGood(user: string, source: string, now: number): boolean {
    return (this.#goodSources.get(`${user}\u0000${source}`) ?? -Infinity) > now;
  }

  #markGood(user: string, source: string, now: number): void {
    const k = `${user}\u0000${source}`;
    this.#goodSources.delete(k);
    if (this.#goodSources.size >= this.#o.cacheCap) this.#goodSources.delete(this.#goodSources.keys().next().value as string);
    this.#goodSources.set(k, now + this.#o.goodSourceTtlMs);
  }

  #bucket(rec: UserRecord, now: number): TokenBucket {
    const perMinute = rec.perMinute ?? this.#o.defaultPerMinute;
    let b = this.#buckets.get(rec.name);
    if (b === undefined || b.burst !== perMinute) {
      b = new TokenBucket(perMinute / 60, perMinute, now);
      this.#buckets.set(rec.name, b);
    }
    return b;
  }

  #run(key: string, hash: string, password: string, source: string): Promise<boolean> {
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    const start = (): Promise<boolean> => {
      this.verifications++;
      let v: Promise<boolean>;
      try {
        v = this.#verify(password, hash);
      } catch {
        v = Promise.resolve(false);
      }
      return v.then(
        (ok) => ok === true,
        () => false,
      );
    };
    // Start at once when a slot is free, else wait in the bounded queue.
    const started = this.#inFlight < this.#o.maxInFlight ? (this.#inFlight++, start()) : new Promise<void>((resolve) => this.#queue.push(resolve)).then(start);
    const p = started.then((ok) => {
      this.#release();
      const left = (this.#perSource.get(source) ?? 1) - 1;
      if (left <= 0) this.#perSource.delete(source);
      else this.#perSource.set(source, left);
      this.#pending.delete(key);
      const now = this.#clock.now();
      if (ok) remember(this.#ok, key, { hash, until: now + this.#o.cacheTtlMs }, this.#o.cacheCap);
      else remember(this.#bad, key, { hash, until: now + this.#o.failCacheTtlMs }, this.#o.cacheCap);
      return ok;
    });
    this.#pending.set(key, p);
    return p;
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) next();
    else this.#inFlight--;
  }
}

function grantFor(rec: UserRecord, deviceId: string | null): AuthResult {
  return {
    ok: true,
    deviceId,
    user: rec.name,
    fixedAddr4: rec.addrs4[0] ?? null,
    ...(rec.addrs4.length > 1 ? { fixedAddrs4: rec.addrs4 } : {}),
    grant: { kind: "user", id: rec.name, hash: rec.hash },
  };
}

function remember(m: Map<string, CacheEntry>, key: string, e: CacheEntry, cap: number): void {
  m.delete(key);
  if (m.size >= cap) m.delete(m.keys().next().value as string);
  m.set(key, e);
}

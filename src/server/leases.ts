/**
 * @module server/leases
 * Sticky addresses that survive a restart: the pool's device -> address memories are
 * kept in a LeaseStore (a JSON file in the state directory, see
 * platform/linux/lease-file.ts; tests use MemoryLeaseStore).
 *
 *  1. restore(): before the first handshake, the saved leases last used within
 *     `maxAgeMs` go back into the pool; older ones are dropped.
 *  2. every SAVE_INTERVAL_MS: memories unused for `maxAgeMs` are forgotten, and the
 *     store is rewritten when anything changed since the last save. Never per packet
 *     and never per handshake: at most one write per interval, one at a time, off the
 *     event loop (the store's save is asynchronous).
 *  3. stop(): one last save after the sessions have closed (their addresses stamped).
 * A `kill -9` loses at most the changes of the last interval. A failing save is logged
 * (once per distinct error) and retried at the next interval; the server keeps running.
 */

import type { Clock } from "../lib/clock.ts";
import { oneLine } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Pool4, PoolMemory } from "./pool.ts";

/** One saved lease: device key (see deviceKey) -> IPv4 address (u32), last in use at `lastUsed` (Unix ms). */
export type LeaseRecord = PoolMemory;

/** Where leases live between runs. */
export interface LeaseStore {
  /** The saved leases, oldest first; [] when there are none. Never throws: unreadable content is logged and ignored. */
  load(): LeaseRecord[];
  /** Replaces the saved leases atomically (a crash leaves the old or the new set). Rejects on failure. */
  save(records: readonly LeaseRecord[]): Promise<void>;
}

/** Default age after which an unused lease is forgotten: 30 days, in seconds. */
export const DEFAULT_LEASE_MAX_AGE = 30 * 86400;

/** Longest time between a lease change and its save. */
export const SAVE_INTERVAL_MS = 5000;

/** A LeaseStore in memory (tests; a server without a state directory). */
export class MemoryLeaseStore implements LeaseStore {
  /** What the last save stored. */
  records: LeaseRecord[] = [];
  /** How many saves ran. */
  saves = 0;

  load(): LeaseRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  async save(records: readonly LeaseRecord[]): Promise<void> {
    this.records = records.map((r) => ({ ...r }));
    this.saves++;
  }
}

/** What the keeper needs besides the pool. */
export interface LeaseKeeperOptions {
  store: LeaseStore;
  /** Unused leases older than this are forgotten. */
  maxAgeMs: number;
  /** Unix time in ms (lease ages survive restarts, unlike the monotonic Clock). */
  wallNow: () => number;
  clock: Clock;
  log: Logger;
}

/** Keeps one pool's memories in a LeaseStore; see the module comment. */
export class LeaseKeeper {
  readonly #pool: Pool4;
  readonly #o: LeaseKeeperOptions;
  #saved = -1;
  #saving: Promise<void> = Promise.resolve();
  #busy = false;
  #lastError = "";
  #stopTimer: () => void = () => {};
  #stopped = false;

  constructor(pool: Pool4, options: LeaseKeeperOptions) {
    this.#pool = pool;
    this.#o = options;
  }

  /** A keeper that has restored the saved leases and started its timer. */
  static begin(pool: Pool4, options: LeaseKeeperOptions): LeaseKeeper {
    const k = new LeaseKeeper(pool, options);
    k.restore();
    k.start();
    return k;
  }

  /** Puts the saved leases younger than maxAge back into the pool; returns how many were restored and dropped. */
  restore(): { restored: number; dropped: number } {
    const now = this.#o.wallNow();
    const cutoff = now - this.#o.maxAgeMs;
    let restored = 0;
    let dropped = 0;
    for (const r of this.#o.store.load()) {
      // a time in the future (the clock was wrong) counts as now, so it still ages out
      if (r.lastUsed >= cutoff && this.#pool.restore(r.device, r.addr4, Math.min(r.lastUsed, now))) restored++;
      else dropped++;
    }
    this.#saved = dropped > 0 ? -1 : this.#pool.version;
    if (restored + dropped > 0) this.#o.log.info(`leases: restored ${restored}${dropped > 0 ? `, dropped ${dropped} (aged out or outside the pool)` : ""}`);
    return { restored, dropped };
  }

  /** Starts the periodic age-out and save. */
  start(): void {
    this.#stopTimer = this.#o.clock.every(SAVE_INTERVAL_MS, () => this.tick());
  }

  /** Ages out old memories and starts a save when something changed and no save is running. */
  tick(): void {
    if (this.#stopped) return;
    this.#pool.forgetUnusedSince(this.#o.wallNow() - this.#o.maxAgeMs);
    if (this.#busy || this.#pool.version === this.#saved) return;
    this.#saving = this.#save();
  }

  /** Stops the timer and saves what changed, after any running save; resolves when written (never rejects). */
  stop(): Promise<void> {
    if (this.#stopped) return this.#saving;
    this.#stopped = true;
    this.#stopTimer();
    this.#saving = this.#saving.then(() => (this.#pool.version === this.#saved ? undefined : this.#save()));
    return this.#saving;
  }

  async #save(): Promise<void> {
    this.#busy = true;
    const version = this.#pool.version;
    try {
      await this.#o.store.save(this.#pool.memories(this.#o.wallNow()));
      this.#saved = version;
      if (this.#lastError !== "") this.#o.log.info("leases: saving works again");
      this.#lastError = "";
    } catch (e) {
      const msg = oneLine(e);
      if (msg !== this.#lastError) this.#o.log.warn(`leases: cannot save (${msg}); addresses may change at the next restart`);
      this.#lastError = msg;
    } finally {
      this.#busy = false;
    }
  }
}

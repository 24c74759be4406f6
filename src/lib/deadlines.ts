/**
 * @module lib/deadlines
 * A bounded set of keys that each hold until a deadline (lockouts, bans). Time is a
 * parameter; an entry past its deadline is forgotten when next looked at. At most `cap`
 * entries are kept: setting a new one beyond that forgets the one set longest ago.
 */

/** Keys with deadlines. */
export class Deadlines<K> {
  readonly #until = new Map<K, number>();
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Entries held (some may be past their deadline until looked at). */
  get size(): number {
    return this.#until.size;
  }

  /** Holds `key` until `until` (replacing an earlier deadline). */
  set(key: K, until: number): void {
    this.#until.delete(key);
    this.#until.set(key, until);
    if (this.#until.size > this.#cap) this.#until.delete(this.#until.keys().next().value as K);
  }

  /** True while `key` is held at `now`. */
  has(key: K, now: number): boolean {
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(key);
    return false;
  }

  /** Forgets `key`; false when it was not held. */
  delete(key: K): boolean {
    return this.#until.delete(key);
  }

  /** Every key held at `now`, with the time left. */
  active(now: number): Array<{ key: K; leftMs: number }> {
    const out: Array<{ key: K; leftMs: number }> = [];
    for (const [key, until] of this.#until) {
      if (until <= now) this.#until.delete(key);
      else out.push({ key, leftMs: until - now });
    }
    return out;
  }
}

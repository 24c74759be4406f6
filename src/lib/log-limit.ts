/**
 * @module lib/log-limit
 * A rate limit for log lines about many sources (failed handshakes) that never loses
 * who was suppressed: at most `perSecond` lines pass per one-second window; a line that
 * does not pass is counted under its key (the source address). A second after the first
 * suppressed line, `drain` returns one summary per key ("N similar lines from this address"), so
 * a summary line can still name the address for fail2ban. At most `maxKeys` keys are
 * kept per window; lines of further keys are only counted (`others`). Pure: time is a
 * parameter.
 */

/** Lines suppressed for one key in the last window, with the payload of the last one. */
export interface Suppressed<T> {
  key: string;
  count: number;
  last: T;
}

/** What `drain` returns: per-key summaries and the count of lines whose key was not kept. */
export interface Drained<T> {
  keys: Array<Suppressed<T>>;
  others: { lines: number; keys: number };
}

/** The keyed limiter; `T` is what the summary line needs of the last suppressed line. */
export class KeyedLogLimiter<T> {
  readonly #perSecond: number;
  readonly #maxKeys: number;
  #windowStart = -Infinity;
  #count = 0;
  #heldSince = 0;
  #held = new Map<string, Suppressed<T>>();
  #otherLines = 0;
  #otherKeys = new Set<string>();

  /** `perSecond` lines pass per window; summaries for at most `maxKeys` keys. */
  constructor(perSecond: number, maxKeys = 32) {
    this.#perSecond = perSecond;
    this.#maxKeys = maxKeys;
  }

  /** True: log this line now. False: it was counted under `key` for a later summary. */
  take(key: string, now: number, payload: T): boolean {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    if (this.#count < this.#perSecond) {
      this.#count++;
      return true;
    }
    return this.#hold(key, now, payload);
  }

  /**
   * Summaries of the lines suppressed since the last drain, once the first of them is a
   * second old (null: nothing to report yet). Call it before `take` and from a timer.
   */
  drain(now: number): Drained<T> | null {
    if ((this.#held.size === 0 && this.#otherLines === 0) || now - this.#heldSince < 1000) return null;
    const out: Drained<T> = { keys: [...this.#held.values()], others: { lines: this.#otherLines, keys: this.#otherKeys.size } };
    this.#held = new Map();
    this.#otherLines = 0;
    this.#otherKeys = new Set();
    return out;
  }

  #hold(key: string, now: number, payload: T): false {
    if (this.#held.size === 0 && this.#otherLines === 0) this.#heldSince = now;
    const h = this.#held.get(key);
    if (h !== undefined) {
      h.count++;
      h.last = payload;
    } else if (this.#held.size < this.#maxKeys) {
      this.#held.set(key, { key, count: 1, last: payload });
    } else {
      this.#otherLines++;
      if (this.#otherKeys.size < 65536) this.#otherKeys.add(key);
    }
    return false;
  }
}

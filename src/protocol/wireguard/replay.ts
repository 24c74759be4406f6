/**
 * @module protocol/wireguard/replay
 * The receive-side anti-replay window (paper 5.4.6, RFC 6479): a ring of 32-bit words, each
 * bit one counter. Moving the window forward clears whole words, so any advance costs at
 * most one pass over the ring. With 128 words the window spans (128 - 1) * 32 = 4064
 * counters behind the greatest one seen (one word is the slack RFC 6479 keeps so that an
 * advance never wipes bits still inside the window). Counters are JS numbers (exact below
 * 2^53); anything at or above the caller's limit is refused.
 */

import { REPLAY_WINDOW_WORDS } from "./constants.ts";

const WORD_BITS = 32;
/** How far behind the greatest counter a packet may arrive and still be accepted. */
export const REPLAY_WINDOW_SIZE = (REPLAY_WINDOW_WORDS - 1) * WORD_BITS;

/**
 * One keypair's sliding window. By default it owns its memory; a keypair whose transport data
 * the fast data path's workers also open keeps it in shared memory instead (`words` from word
 * `wordOff` on, `lastCell[lastIdx]` the greatest counter), so every thread uses one window.
 */
export class ReplayWindow {
  readonly #ring: Int32Array;
  readonly #off: number;
  readonly #lastCell: Float64Array;
  readonly #li: number;

  constructor(words: Int32Array = new Int32Array(REPLAY_WINDOW_WORDS), wordOff = 0, lastCell: Float64Array = new Float64Array(1), lastIdx = 0) {
    this.#ring = words;
    this.#off = wordOff;
    this.#lastCell = lastCell;
    this.#li = lastIdx;
  }

  /** Forgets every counter seen. */
  reset(): void {
    this.#lastCell[this.#li] = 0;
    this.#ring.fill(0, this.#off, this.#off + REPLAY_WINDOW_WORDS);
  }

  /** Greatest counter accepted so far (0 when none). */
  get last(): number {
    return this.#lastCell[this.#li] as number;
  }

  /**
   * Would `counter` be accepted? Changes nothing; lets a receiver skip decrypting an obvious
   * replay. Only {@link accept} (after authentication) may move the window.
   */
  check(counter: number, limit: number): boolean {
    if (!(counter < limit) || counter < 0) return false;
    const last = this.#lastCell[this.#li] as number;
    if (counter > last) return true;
    if (last - counter > REPLAY_WINDOW_SIZE) return false;
    const word = this.#ring[this.#off + (Math.floor(counter / WORD_BITS) % REPLAY_WINDOW_WORDS)] as number;
    return (word & (1 << counter % WORD_BITS)) === 0;
  }

  /**
   * Marks `counter` as received and returns true, or returns false when it is at or above
   * `limit`, too old, or seen before. Call only for authenticated packets.
   */
  accept(counter: number, limit: number): boolean {
    if (!(counter < limit) || counter < 0) return false;
    const ring = this.#ring;
    const o = this.#off;
    const last = this.#lastCell[this.#li] as number;
    const block = Math.floor(counter / WORD_BITS);
    if (counter > last) {
      const current = Math.floor(last / WORD_BITS);
      const diff = Math.min(block - current, REPLAY_WINDOW_WORDS);
      for (let i = 1; i <= diff; i++) ring[o + ((current + i) % REPLAY_WINDOW_WORDS)] = 0;
      this.#lastCell[this.#li] = counter;
    } else if (last - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    const index = o + (block % REPLAY_WINDOW_WORDS);
    const bit = 1 << counter % WORD_BITS;
    const old = ring[index] as number;
    if ((old & bit) !== 0) return false;
    ring[index] = old | bit;
    return true;
  }
}

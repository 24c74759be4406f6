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

/** One keypair's sliding window. Not shared; owned by its keypair. */
export class ReplayWindow {
  #last = 0;
  #ring = new Uint32Array(REPLAY_WINDOW_WORDS);

  /** Forgets every counter seen. */
  reset(): void {
    this.#last = 0;
    this.#ring.fill(0);
  }

  /** Greatest counter accepted so far (0 when none). */
  get last(): number {
    return this.#last;
  }

  /**
   * Would `counter` be accepted? Changes nothing; lets a receiver skip decrypting an obvious
   * replay. Only {@link accept} (after authentication) may move the window.
   */
  check(counter: number, limit: number): boolean {
    if (!(counter < limit) || counter < 0) return false;
    if (counter > this.#last) return true;
    if (this.#last - counter > REPLAY_WINDOW_SIZE) return false;
    const word = this.#ring[Math.floor(counter / WORD_BITS) % REPLAY_WINDOW_WORDS] as number;
    return (word & (1 << counter % WORD_BITS)) === 0;
  }

  /**
   * Marks `counter` as received and returns true, or returns false when it is at or above
   * `limit`, too old, or seen before. Call only for authenticated packets.
   */
  accept(counter: number, limit: number): boolean {
    if (!(counter < limit) || counter < 0) return false;
    const block = Math.floor(counter / WORD_BITS);
    if (counter > this.#last) {
      const current = Math.floor(this.#last / WORD_BITS);
      const diff = Math.min(block - current, REPLAY_WINDOW_WORDS);
      for (let i = 1; i <= diff; i++) this.#ring[(current + i) % REPLAY_WINDOW_WORDS] = 0;
      this.#last = counter;
    } else if (this.#last - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    const index = block % REPLAY_WINDOW_WORDS;
    const bit = 1 << counter % WORD_BITS;
    const old = this.#ring[index] as number;
    if ((old & bit) !== 0) return false;
    this.#ring[index] = old | bit;
    return true;
  }
}

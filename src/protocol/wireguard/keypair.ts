/**
 * @module protocol/wireguard/keypair
 * Transport keypairs and their rotation (paper 5.4.5-5.4.6, 6.1). A peer holds up to three:
 *
 * - `current`: the one new packets are sent with;
 * - `previous`: the one before, still accepted so packets in flight across a rekey are not lost;
 * - `next`: a responder's fresh keypair, unconfirmed. The responder may not send with it until
 *   the initiator proves it has it too, so it becomes `current` only when the first transport
 *   packet under it arrives (`confirmNext`).
 *
 * The initiator, having read the response, makes its new keypair `current` at once. Keypairs
 * leave through `onRetire`, which the owner uses to free the receiver index and the key objects.
 */

import type { AeadBackend, AeadKey } from "../../crypto/aead.ts";
import { ReplayWindow } from "./replay.ts";

/**
 * Where a shared keypair keeps its send counter: a 32-bit word of shared memory that every
 * thread sealing with the keypair advances atomically (the fast data path's workers and the
 * main thread), so no counter is ever used twice.
 */
export interface SharedCounter {
  readonly words: Int32Array;
  readonly index: number;
}

/**
 * Hands a fresh keypair's keys to whoever else moves its transport data (the fast data path),
 * before they are erased; it may give the keypair shared state with {@link Keypair.share}.
 */
export type KeypairShareHook = (kp: Keypair, sendKey: Uint8Array, receiveKey: Uint8Array) => void;

/** Largest counter a shared (32-bit) send counter hands out; beyond it the keypair is used up. */
export const SHARED_COUNTER_MAX = 0x7fffffff - 1;

/** One session's keys, counters and identity. Owned by a {@link Keypairs}. */
export class Keypair {
  /** Counters already received. */
  replay = new ReplayWindow();
  #sendCounter = 0;
  #shared: SharedCounter | null = null;
  readonly #send: AeadKey;
  readonly #receive: AeadKey;

  /**
   * Key objects are made from `sendKey` / `receiveKey`, which are then zeroed (after `share`,
   * if given, has seen them). `localIndex` is ours (peers put it in their transport headers),
   * `remoteIndex` theirs.
   */
  constructor(
    aead: AeadBackend,
    sendKey: Uint8Array,
    receiveKey: Uint8Array,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly isInitiator: boolean,
    readonly createdAt: number,
    share: KeypairShareHook | null = null,
  ) {
    this.#send = aead.key(sendKey);
    this.#receive = aead.key(receiveKey);
    share?.(this, sendKey, receiveKey);
    sendKey.fill(0);
    receiveKey.fill(0);
  }

  /** Moves the send counter and the replay window into shared memory (before any use). */
  share(counter: SharedCounter, replay: ReplayWindow): void {
    this.#shared = counter;
    this.replay = replay;
  }

  /** True when the counter and window live in shared memory. */
  get shared(): boolean {
    return this.#shared !== null;
  }

  /** Next counter to send with (the number of counters used so far). */
  get sendCounter(): number {
    const c = this.#shared;
    return c === null ? this.#sendCounter : Atomics.load(c.words, c.index);
  }

  /** Test hook: sets the next counter (a local keypair only). */
  set sendCounter(n: number) {
    this.#sendCounter = n;
  }

  /** The most counters this keypair can hand out, `limit` being the protocol's. */
  counterLimit(limit: number): number {
    return this.#shared === null ? limit : Math.min(limit, SHARED_COUNTER_MAX);
  }

  /** Takes the next send counter (atomically, when shared); -1 when a shared one is used up. */
  takeCounter(): number {
    const c = this.#shared;
    if (c === null) return this.#sendCounter++;
    const n = Atomics.add(c.words, c.index, 1);
    return n >= 0 && n <= SHARED_COUNTER_MAX ? n : -1;
  }

  /** The sending key (counter = {@link sendCounter}). */
  get send(): AeadKey {
    return this.#send;
  }

  /** The receiving key. */
  get receive(): AeadKey {
    return this.#receive;
  }

  /** Releases both key objects; the keypair must not be used afterwards. */
  dispose(): void {
    this.#send.dispose();
    this.#receive.dispose();
  }
}

/** The three keypair slots of one peer and the rotation rules between them. */
export class Keypairs {
  current: Keypair | null = null;
  previous: Keypair | null = null;
  next: Keypair | null = null;

  /** `onRetire` is called for every keypair that leaves the slots. */
  constructor(private readonly onRetire: (k: Keypair) => void) {}

  /**
   * Installs a keypair just derived. Initiator: it becomes current; the old current (or an
   * unconfirmed next, which is newer) becomes previous. Responder: it waits in next, and
   * previous is dropped so that at most three keypairs ever exist.
   */
  install(k: Keypair): void {
    if (k.isInitiator) {
      if (this.next !== null) {
        this.#retire(this.previous);
        this.previous = this.next;
        this.next = null;
        this.#retire(this.current);
      } else {
        this.#retire(this.previous);
        this.previous = this.current;
      }
      this.current = k;
    } else {
      this.#retire(this.next);
      this.next = k;
      this.#retire(this.previous);
      this.previous = null;
    }
  }

  /**
   * A packet authenticated under `k` arrived. When `k` is the unconfirmed next keypair it
   * becomes current (current moves to previous) and true is returned.
   */
  confirmNext(k: Keypair): boolean {
    if (k !== this.next) return false;
    this.#retire(this.previous);
    this.previous = this.current;
    this.current = k;
    this.next = null;
    return true;
  }

  /** Retires all three keypairs. */
  clear(): void {
    this.#retire(this.previous);
    this.#retire(this.current);
    this.#retire(this.next);
    this.previous = this.current = this.next = null;
  }

  #retire(k: Keypair | null): void {
    if (k !== null) this.onRetire(k);
  }
}

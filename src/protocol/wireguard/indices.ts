/**
 * @module protocol/wireguard/indices
 * A device's receiver indices (paper 5.4.2): each names a peer's pending handshake and then
 * the keypair derived from it, so a transport message finds its keypair with one lookup.
 * Indices are random; a {@link KeypairShare} (the fast data path) may bend them onto slots
 * of its own and sees every keypair's keys and every index freed.
 */

import type { RandomFill } from "./cookie.ts";
import type { Keypair } from "./keypair.ts";

/**
 * Whoever moves transport data beside the device (the fast data path's workers): it picks the
 * receiver indices (so that an index names its shared slot), sees every keypair's keys before
 * they are erased, and hears when an index is free again.
 */
export interface KeypairShare<P> {
  /** The receiver index to use, made from 32 random bits (it may set some of them); 0 = the random value itself. */
  index(random: number): number;
  /** A keypair of `peer` was derived for its `localIndex`; may call `kp.share`. */
  bind(peer: P, kp: Keypair, sendKey: Uint8Array, receiveKey: Uint8Array): void;
  /** `index` (a handshake's or a keypair's) is no longer in use. */
  free(index: number): void;
}

/** What an index points at. */
export interface IndexEntry<P> {
  readonly peer: P;
  keypair: Keypair | null;
}

/** A working CSPRNG finds a free 32-bit index at once; this many misses means it is broken. */
const MAX_INDEX_TRIES = 1000;

/** The index table of one device. */
export class IndexTable<P> {
  /** Who shares keypairs (the fast data path), or null. */
  share: KeypairShare<P> | null = null;
  readonly #map = new Map<number, IndexEntry<P>>();
  readonly #random: RandomFill;
  readonly #scratch = new Uint32Array(1);
  readonly #scratchBytes = new Uint8Array(this.#scratch.buffer);

  constructor(random: RandomFill) {
    this.#random = random;
  }

  /** Indices in use. */
  get size(): number {
    return this.#map.size;
  }

  /** What `index` points at. */
  get(index: number): IndexEntry<P> | undefined {
    return this.#map.get(index);
  }

  /** A fresh index pointing at `peer`'s pending handshake. Throws when the random source is broken. */
  allocate(peer: P): number {
    for (let tries = 0; tries < MAX_INDEX_TRIES; tries++) {
      this.#random(this.#scratchBytes);
      const random = this.#scratch[0] as number;
      const index = this.share === null ? random : this.share.index(random) || random;
      if (index !== 0 && !this.#map.has(index)) {
        this.#map.set(index, { peer, keypair: null });
        return index;
      }
    }
    throw new Error(`failed to allocate a receiver index: the random source repeated ${MAX_INDEX_TRIES} times`);
  }

  /** Points `index` at a keypair. */
  bind(index: number, keypair: Keypair): void {
    const entry = this.#map.get(index);
    if (entry !== undefined) entry.keypair = keypair;
  }

  /** Forgets `index`. */
  free(index: number): void {
    if (this.#map.delete(index)) this.share?.free(index);
  }
}

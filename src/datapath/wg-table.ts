/**
 * @module datapath/wg-table
 * The main thread's side of the WireGuard keypair table (layout.ts section 4): it is the only
 * writer of slots. A receiver index's low bits name its slot, so a worker finds a keypair with
 * one mask; `index()` bends a random index onto a free slot, `bind()` fills the slot when the
 * handshake derived the keys (and moves the keypair's send counter and replay window into it,
 * so the main thread and the workers share them), `free()` clears it when the keypair retires.
 * A keypair that finds no free slot simply stays with the main thread; while none does, the
 * workers drop messages for indices no slot holds themselves (KW_UNSHARED).
 */

import type { Keypair } from "../protocol/wireguard/keypair.ts";
import type { ReplayWindow } from "../protocol/wireguard/replay.ts";
import {
  K_COUNTER, K_EXPIRES, K_FLAGS, K_INDEX, K_RECV_KEY, K_REMOTE, K_SEND_KEY, K_SEQ, K_SLOT, KF_CONFIRMED, KW_MTU, KW_SLOTS, KW_UNSHARED,
} from "./layout.ts";
import { kpBase, kpTableBytes, sharedWindows } from "./wg-keys.ts";

/** Slots probed for a free one before an index is left as it came. */
const PROBES = 8;

/** The keypair table, main-thread side. */
export class WgKeypairTable {
  readonly sab: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  readonly #mask: number;
  readonly #windows: ReplayWindow[];
  /** Slots bound to a keypair, by local index (what free() gets). */
  readonly #bound = new Map<number, Keypair>();
  /** Local indices of keypairs that found their slot taken (the main thread serves them). */
  readonly #unshared = new Set<number>();

  /** `slots` a power of two; `mtu` caps the padding. */
  constructor(slots: number, mtu: number) {
    if (slots < 2 || (slots & (slots - 1)) !== 0) throw new RangeError(`keypair slots must be a power of two, got ${slots}`);
    this.sab = new SharedArrayBuffer(kpTableBytes(slots));
    this.#i32 = new Int32Array(this.sab);
    this.#f64 = new Float64Array(this.sab);
    this.#u8 = new Uint8Array(this.sab);
    this.#i32[KW_SLOTS] = slots;
    this.#i32[KW_MTU] = mtu;
    this.#mask = slots - 1;
    this.#windows = sharedWindows(this.sab);
  }

  /** Keypairs sharing a slot now. */
  get size(): number {
    return this.#bound.size;
  }

  /** `random` moved onto a free slot (its low bits replaced), or `random` itself when none is free nearby. */
  index(random: number): number {
    for (let i = 0; i < PROBES; i++) {
      const k = (random + i) & this.#mask;
      if (this.#i32[kpBase(k) + K_INDEX] === 0) return ((random & ~this.#mask) | k) >>> 0;
    }
    return random;
  }

  /**
   * Shares keypair `kp` of the session in forwarding slot `slot` (-1: none yet) through its
   * index's slot, if free: keys, remote index, expiry (Unix ms); its send counter and replay
   * window move into the slot. Initiators' keypairs are confirmed at once.
   */
  bind(kp: Keypair, slot: number, sendKey: Uint8Array, receiveKey: Uint8Array, expiresAt: number): boolean {
    const k = kp.localIndex & this.#mask;
    const base = kpBase(k);
    const w = this.#i32;
    if (w[base + K_INDEX] !== 0) {
      this.#unshared.add(kp.localIndex);
      Atomics.store(w, KW_UNSHARED, this.#unshared.size);
      return false;
    }
    this.#begin(base);
    w[base + K_INDEX] = kp.localIndex | 0;
    w[base + K_REMOTE] = kp.remoteIndex | 0;
    w[base + K_FLAGS] = kp.isInitiator ? KF_CONFIRMED : 0;
    w[base + K_SLOT] = slot;
    w[base + K_COUNTER] = 0;
    this.#f64[(base + K_EXPIRES) >>> 1] = expiresAt;
    this.#u8.set(sendKey, (base + K_SEND_KEY) * 4);
    this.#u8.set(receiveKey, (base + K_RECV_KEY) * 4);
    const win = this.#windows[k] as ReplayWindow;
    win.reset();
    this.#end(base);
    kp.share({ words: w, index: base + K_COUNTER }, win);
    this.#bound.set(kp.localIndex, kp);
    return true;
  }

  /** Marks `kp` confirmed (it may send: it became its peer's current keypair) and points it at forwarding slot `slot`. */
  confirm(kp: Keypair, slot: number): boolean {
    if (this.#bound.get(kp.localIndex) !== kp) return false;
    const base = kpBase(kp.localIndex & this.#mask);
    this.#begin(base);
    this.#i32[base + K_FLAGS] = (this.#i32[base + K_FLAGS] as number) | KF_CONFIRMED;
    this.#i32[base + K_SLOT] = slot;
    this.#end(base);
    return true;
  }

  /** The slot of `kp`, or -1 when it is not shared. */
  slotOf(kp: Keypair): number {
    return this.#bound.get(kp.localIndex) === kp ? kp.localIndex & this.#mask : -1;
  }

  /** Clears the slot of `index` (its keypair retired); its keys are erased. */
  free(index: number): void {
    if (this.#unshared.delete(index)) Atomics.store(this.#i32, KW_UNSHARED, this.#unshared.size);
    if (!this.#bound.delete(index)) return;
    const base = kpBase(index & this.#mask);
    const w = this.#i32;
    this.#begin(base);
    w[base + K_INDEX] = 0;
    w[base + K_FLAGS] = 0;
    w.fill(0, base + K_SEND_KEY, base + K_RECV_KEY + 8);
    this.#end(base);
  }

  #begin(base: number): void {
    Atomics.add(this.#i32, base + K_SEQ, 1);
  }

  #end(base: number): void {
    Atomics.add(this.#i32, base + K_SEQ, 1);
  }
}

/** Slots for a table serving `capacity` tunnel addresses: a few keypairs each, at least 256, at most 8192. */
export function keypairSlots(capacity: number): number {
  let n = 256;
  while (n < capacity * 4 && n < 8192) n *= 2;
  return n;
}

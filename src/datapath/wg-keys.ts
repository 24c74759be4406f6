/**
 * @module datapath/wg-keys
 * A worker's side of the WireGuard keypair table (layout.ts section 4): opening and sealing
 * transport data messages in place, with one OpenSSL context keyed per call, so a WireGuard
 * session's packets cross no thread, as a ToyVpn session's do not.
 *
 *   open: receiver index -> slot (its low bits) -> the slot still holds that index, the keypair
 *         has not expired -> replay check -> key copied under the seqlock -> decrypt in place
 *         -> the seqlock still holds -> the counter recorded in the shared window.
 *         HAND: the main thread must see the message as it came (an index only it may know,
 *         an expired keypair, a slot being rewritten); DROP: counted here (a bad tag, a replay,
 *         an index nobody has while every keypair has a slot), nothing is left to hand over:
 *         junk with made-up indices never reaches the main thread.
 *   seal: the slot still holds the index the forwarding table named and may send (confirmed,
 *         not expired) -> a counter (Atomics.add: every thread that seals with the keypair
 *         takes its own) -> key copied under the seqlock -> header, zero padding, seal in place.
 * `now` (Unix ms) is set once per turn by the loop: no clock read per packet.
 */

import { writeNonce } from "../crypto/aead.ts";
import type { EvpAeadContext } from "../platform/linux/libcrypto.ts";
import { COUNTER_LIMIT, TAG_LEN, TRANSPORT_HEADER_SIZE, TRANSPORT_OFF_COUNTER, TRANSPORT_OFF_RECEIVER, TYPE_TRANSPORT } from "../protocol/wireguard/constants.ts";
import { SHARED_COUNTER_MAX } from "../protocol/wireguard/keypair.ts";
import { readCounter, readU32, writeCounter, writeU32 } from "../protocol/wireguard/messages.ts";
import { ReplayWindow } from "../protocol/wireguard/replay.ts";
import { paddedLength } from "../protocol/wireguard/transport.ts";
import {
  G_WG_DECRYPT, G_WG_REPLAY, G_WG_UNKNOWN, K_COUNTER, K_EXPIRES, K_FLAGS, K_INDEX, K_LAST, K_RECV_KEY, K_REMOTE, K_REPLAY, K_SEND_KEY, K_SEQ, K_SLOT,
  KF_CONFIRMED, KP_HEADER_BYTES, KP_WORDS, KW_MTU, KW_SLOTS, KW_UNSHARED,
} from "./layout.ts";

/** open(): the main thread must see the message unchanged. */
export const WG_HAND = -1;
/** open(): dropped and counted (bad tag, replay); the bytes may be destroyed. */
export const WG_DROP = -2;
/** Bytes of a transport message's header (type, receiver, counter) and of its tag. */
export const WG_HEAD = TRANSPORT_HEADER_SIZE;
export const WG_TAG = TAG_LEN;

/** Word index of the first word of keypair slot `k`. */
export function kpBase(k: number): number {
  return KP_HEADER_BYTES / 4 + k * KP_WORDS;
}

/** One shared replay window per slot, over the table's memory (for both sides). */
export function sharedWindows(sab: SharedArrayBuffer): ReplayWindow[] {
  const i32 = new Int32Array(sab);
  const f64 = new Float64Array(sab);
  const n = i32[KW_SLOTS] as number;
  const out: ReplayWindow[] = [];
  for (let k = 0; k < n; k++) out.push(new ReplayWindow(i32, kpBase(k) + K_REPLAY, f64, (kpBase(k) + K_LAST) >>> 1));
  return out;
}

/** Bytes of a keypair table with `slots` slots. */
export function kpTableBytes(slots: number): number {
  return KP_HEADER_BYTES + slots * KP_WORDS * 4;
}

/** A worker's opener and sealer over the keypair table. */
export class WgKeys {
  /** Unix ms of this turn (set by the loop). */
  now = 0;
  /** After open(): the forwarding-table slot of the keypair's session. */
  slot = -1;
  /** After open(): the keypair was confirmed (else the main thread must confirm it). */
  confirmed = false;
  /** After open(): the receiver index (unsigned, as the device keys it). */
  index = 0;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #mask: number;
  readonly #mtu: number;
  readonly #windows: ReplayWindow[];
  readonly #ctx: EvpAeadContext;
  readonly #c: Float64Array;
  readonly #key = new Uint8Array(32);
  readonly #keyW = new Int32Array(this.#key.buffer);
  readonly #nonce = new Uint8Array(12);

  constructor(sab: SharedArrayBuffer, ctx: EvpAeadContext, counters: Float64Array) {
    this.#i32 = new Int32Array(sab);
    this.#f64 = new Float64Array(sab);
    this.#mask = (this.#i32[KW_SLOTS] as number) - 1;
    this.#mtu = this.#i32[KW_MTU] as number;
    this.#windows = sharedWindows(sab);
    this.#ctx = ctx;
    this.#c = counters;
  }

  /** Opens the transport message b[off, off + len) in place: the padded plaintext length (at off + WG_HEAD), WG_HAND or WG_DROP. */
  open(b: Uint8Array, off: number, len: number): number {
    if (len < WG_HEAD + WG_TAG) return WG_HAND;
    const w = this.#i32;
    const index = readU32(b, off + TRANSPORT_OFF_RECEIVER) | 0; // as the table's Int32 words hold it
    const k = index & this.#mask;
    const base = kpBase(k);
    const seq = Atomics.load(w, base + K_SEQ);
    if ((seq & 1) !== 0) return WG_HAND;
    if (w[base + K_INDEX] !== index) return Atomics.load(w, KW_UNSHARED) === 0 ? this.#drop(G_WG_UNKNOWN) : WG_HAND;
    if (!(this.now < (this.#f64[(base + K_EXPIRES) >>> 1] as number))) return WG_HAND;
    const counter = readCounter(b, off + TRANSPORT_OFF_COUNTER);
    const win = this.#windows[k] as ReplayWindow;
    if (!win.check(counter, COUNTER_LIMIT)) return this.#drop(G_WG_REPLAY);
    for (let i = 0; i < 8; i++) this.#keyW[i] = w[base + K_RECV_KEY + i] as number;
    this.slot = w[base + K_SLOT] as number;
    this.confirmed = ((w[base + K_FLAGS] as number) & KF_CONFIRMED) !== 0;
    if (Atomics.load(w, base + K_SEQ) !== seq) return WG_HAND;
    writeNonce(this.#nonce, counter);
    const n = len - WG_HEAD - WG_TAG;
    if (!this.#ctx.open(this.#nonce, b, off + WG_HEAD, n, null, b, off + WG_HEAD, this.#key)) return this.#drop(G_WG_DECRYPT);
    // The slot was rewritten while we decrypted: the key we used is void.
    if (Atomics.load(w, base + K_SEQ) !== seq) return this.#drop(G_WG_DECRYPT);
    if (!win.accept(counter, COUNTER_LIMIT)) return this.#drop(G_WG_REPLAY);
    this.index = index >>> 0;
    return n;
  }

  /**
   * Seals the packet b[p, p + n) in place with keypair slot `k`, which must still hold
   * `index`: the message starts at p - WG_HEAD (room the caller left) and its length is
   * returned; the caller left room for padding and the tag after the packet. -1: this keypair
   * cannot send now (the main thread decides: a handshake, another keypair).
   */
  seal(k: number, index: number, b: Uint8Array, p: number, n: number): number {
    const w = this.#i32;
    const base = kpBase(k);
    const seq = Atomics.load(w, base + K_SEQ);
    if ((seq & 1) !== 0 || w[base + K_INDEX] !== index || ((w[base + K_FLAGS] as number) & KF_CONFIRMED) === 0) return -1;
    if (!(this.now < (this.#f64[(base + K_EXPIRES) >>> 1] as number))) return -1;
    const counter = Atomics.add(w, base + K_COUNTER, 1);
    if (counter < 0 || counter > SHARED_COUNTER_MAX) return -1;
    for (let i = 0; i < 8; i++) this.#keyW[i] = w[base + K_SEND_KEY + i] as number;
    const remote = w[base + K_REMOTE] as number;
    if (Atomics.load(w, base + K_SEQ) !== seq) return -1; // rewritten: that counter is simply never used
    const padded = paddedLength(n, this.#mtu);
    b.fill(0, p + n, p + padded);
    const h = p - WG_HEAD;
    writeU32(b, h, TYPE_TRANSPORT); // the type byte and three zero bytes
    writeU32(b, h + TRANSPORT_OFF_RECEIVER, remote);
    writeCounter(b, h + TRANSPORT_OFF_COUNTER, counter);
    writeNonce(this.#nonce, counter);
    if (!this.#ctx.seal(this.#nonce, b, p, padded, null, b, p, this.#key)) return -1;
    return WG_HEAD + padded + WG_TAG;
  }

  /** Bytes a sealed message of an `n`-byte packet takes. */
  sealedLength(n: number): number {
    return WG_HEAD + paddedLength(n, this.#mtu) + WG_TAG;
  }

  /** True when keypair slot `k` holds `index` and may send now (seal() may still refuse later). */
  usable(k: number, index: number): boolean {
    const w = this.#i32;
    const base = kpBase(k);
    return w[base + K_INDEX] === index && ((w[base + K_FLAGS] as number) & KF_CONFIRMED) !== 0 && this.now < (this.#f64[(base + K_EXPIRES) >>> 1] as number);
  }

  #drop(g: number): number {
    this.#c[g] = (this.#c[g] as number) + 1;
    return WG_DROP;
  }
}

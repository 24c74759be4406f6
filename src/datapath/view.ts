/**
 * @module datapath/view
 * A worker's read-only view of the forwarding table and the per-packet decisions of
 * the fast path, as pure functions of (table, packet bytes): no I/O, so tests drive
 * them directly. Everything the router does for a packet that these functions do not
 * decide is left to the router itself: they answer SLOW, and the worker hands the
 * packet to the main thread unchanged.
 *
 * decideRx (client datagram -> TUN), fast only when all hold, else SLOW:
 *   IPv4/IPv6 header sane and the claimed length fits; the source address is a pool
 *   address whose slot is active, not F_SLOW, and was sent from exactly the slot's
 *   endpoint (anti-spoofing: the same test as the router's endpoint -> session ->
 *   source address, done in the other order); the destination is not a pool address
 *   (hub, no-route: the router's business); IPv6 source not link-local.
 * A WireGuard session's slot (F_WG) is never matched by a plain datagram: its packets
 * arrive sealed (decideRx with `wg`, after the worker opened them, for the keypair's slot).
 * decideTx (TUN packet -> client): the destination's slot; NO_SESSION when no session
 *   can own it (the router would drop it as "no-session"), SLOW when the slot is
 *   F_SLOW or lies beyond the table, or when the source is another client (isolation
 *   is the router's business).
 * A slot is read under its seqlock (see layout.ts); a torn reading is treated as SLOW.
 */

import {
  F_ACTIVE, F_HAS6, F_SLOW, F_WG, HEADER_BYTES, SLOT_WORDS, W_ADDR4, W_ADDR6, W_CAPACITY, W_FLAGS, W_NAME,
  W_NAMELEN, W_POOL4_MASK, W_POOL4_NET, W_POOL6, W_POOL6_LEN, W_SEQ, W_SERVER4, W_WG_INDEX, W_WG_KP,
} from "./layout.ts";

/** decide*: hand the packet to the main thread. */
export const SLOW = -1;
/** decideTx: no session owns the destination; drop and count "no-session". */
export const NO_SESSION = -2;

const SOCKADDR_IN = 16;
const HDR_WORDS = HEADER_BYTES / 4;

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

/** The worker side of the table. */
export class TableView {
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** Bytes of the packet a positive decideRx answer covers (the IP length; trailing bytes are cut). */
  len = 0;
  /** Bytes of the sockaddr a positive decideTx answer copied. */
  nameLen = 0;
  /** After a positive decideTx: the WireGuard keypair slot to seal with, or -1 (a ToyVpn session). */
  wgKp = -1;
  /** ... and that keypair's local index. */
  wgIndex = 0;
  readonly #net: number;
  readonly #mask: number;
  readonly #server: number;
  readonly #cap: number;
  /** Slots in the table. */
  get capacity(): number {
    return this.#cap;
  }
  readonly #p6len: number;
  readonly #p6: Uint8Array;

  constructor(sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.u8 = new Uint8Array(sab);
    this.#net = (this.i32[W_POOL4_NET] as number) >>> 0;
    this.#mask = (this.i32[W_POOL4_MASK] as number) >>> 0;
    this.#server = (this.i32[W_SERVER4] as number) >>> 0;
    this.#cap = this.i32[W_CAPACITY] as number;
    this.#p6len = this.i32[W_POOL6_LEN] as number;
    this.#p6 = this.u8.slice(W_POOL6 * 4, W_POOL6 * 4 + 16);
  }

  /** True when `b[o..o+16)` lies in the IPv6 pool. */
  #in6(b: Uint8Array, o: number): boolean {
    const len = this.#p6len;
    const full = len >>> 3;
    for (let i = 0; i < full; i++) if (b[o + i] !== this.#p6[i]) return false;
    const rest = len & 7;
    if (rest === 0) return true;
    const mask = (0xff << (8 - rest)) & 0xff;
    return (((b[o + full] as number) ^ (this.#p6[full] as number)) & mask) === 0;
  }

  /** A pool client address (not the server's), IPv4. */
  #client4(a: number): boolean {
    return ((a & this.#mask) >>> 0) === this.#net && a !== this.#server;
  }

  /**
   * Client datagram `b[off, off+n)` whose sender sockaddr is `names[nameOff..]`:
   * the slot to count it on (write `this.len` bytes to the TUN), or SLOW. With `wg` the
   * packet is the plaintext of a WireGuard message the worker opened, and only a WireGuard
   * session's slot matches (the caller checks it is the keypair's).
   */
  decideRx(b: Uint8Array, off: number, n: number, names: Int32Array, nameOff: number, wg = false): number {
    const v = (b[off] as number) >>> 4;
    let host: number;
    if (v === 4) {
      if (n < 20) return SLOW;
      const ihl = ((b[off] as number) & 15) * 4;
      const tot = ((b[off + 2] as number) << 8) | (b[off + 3] as number);
      if (ihl < 20 || tot < ihl || tot > n) return SLOW;
      const src = u32(b, off + 12);
      host = (src - this.#net) >>> 0;
      if (host >= this.#cap || this.#client4(u32(b, off + 16))) return SLOW;
      this.len = tot;
    } else if (v === 6) {
      if (n < 40 || this.#p6len === 0) return SLOW;
      const tot = 40 + (((b[off + 4] as number) << 8) | (b[off + 5] as number));
      if (tot > n || !this.#in6(b, off + 8)) return SLOW;
      host = u32(b, off + 20);
      if (host >= this.#cap) return SLOW;
      if (this.#in6(b, off + 24) && u32(b, off + 36) !== 1) return SLOW;
      this.len = tot;
    } else {
      return SLOW;
    }
    return this.#matchRx(host, v, b, off, names, nameOff, wg) ? host : SLOW;
  }

  /** Slot `host` is fast, of the right kind, owns the packet's source address and was sent from its endpoint. */
  #matchRx(host: number, v: number, b: Uint8Array, off: number, names: Int32Array, nameOff: number, wg: boolean): boolean {
    const w = this.i32;
    const base = HDR_WORDS + host * SLOT_WORDS;
    const seq = Atomics.load(w, base + W_SEQ);
    if ((seq & 1) !== 0) return false;
    const flags = w[base + W_FLAGS] as number;
    if ((flags & (F_ACTIVE | F_SLOW | F_WG)) !== (wg ? F_ACTIVE | F_WG : F_ACTIVE)) return false;
    if (v === 4) {
      if ((w[base + W_ADDR4] as number) >>> 0 !== u32(b, off + 12)) return false;
    } else {
      if ((flags & F_HAS6) === 0) return false;
      const a = (base + W_ADDR6) * 4;
      for (let i = 0; i < 16; i++) if (this.u8[a + i] !== b[off + 8 + i]) return false;
    }
    return this.#sameName(base, names, nameOff) && Atomics.load(w, base + W_SEQ) === seq;
  }

  /** The sender sockaddr `names[nameOff..]` is slot `slot`'s endpoint (a WireGuard keepalive: no roaming). */
  sameEndpoint(slot: number, names: Int32Array, nameOff: number): boolean {
    if (slot < 0 || slot >= this.#cap) return false;
    const w = this.i32;
    const base = HDR_WORDS + slot * SLOT_WORDS;
    const seq = Atomics.load(w, base + W_SEQ);
    if ((seq & 1) !== 0 || ((w[base + W_FLAGS] as number) & (F_ACTIVE | F_SLOW | F_WG)) !== (F_ACTIVE | F_WG)) return false;
    return this.#sameName(base, names, nameOff) && Atomics.load(w, base + W_SEQ) === seq;
  }

  #sameName(base: number, names: Int32Array, nameOff: number): boolean {
    const w = this.i32;
    const nw = base + W_NAME;
    if (names[nameOff] !== w[nw]) return false; // family + port
    if (w[base + W_NAMELEN] === SOCKADDR_IN) return names[nameOff + 1] === w[nw + 1];
    // sockaddr_in6: words 2..5 are the address (word 1 flowinfo, word 6 scope: not compared)
    for (let k = 2; k < 6; k++) if (names[nameOff + k] !== w[nw + k]) return false;
    return true;
  }

  /**
   * TUN packet `b[off, off+n)`: the slot to send it on (its sockaddr copied to
   * `names[nameOff..]`, its length in `this.nameLen`), SLOW or NO_SESSION.
   */
  decideTx(b: Uint8Array, off: number, n: number, names: Int32Array, nameOff: number): number {
    const v = (b[off] as number) >>> 4;
    let host: number;
    if (v === 4 && n >= 20) {
      const dst = u32(b, off + 16);
      if (((dst & this.#mask) >>> 0) !== this.#net) return NO_SESSION;
      host = (dst - this.#net) >>> 0;
      if (host >= this.#cap || this.#client4(u32(b, off + 12))) return SLOW;
    } else if (v === 6 && n >= 40) {
      if (this.#p6len === 0 || !this.#in6(b, off + 24)) return NO_SESSION;
      host = u32(b, off + 36);
      if (host >= this.#cap) return SLOW;
      if (this.#in6(b, off + 8) && u32(b, off + 20) !== 1) return SLOW;
    } else {
      return NO_SESSION;
    }
    return this.#copyTx(host, v, names, nameOff);
  }

  #copyTx(host: number, v: number, names: Int32Array, nameOff: number): number {
    const w = this.i32;
    const base = HDR_WORDS + host * SLOT_WORDS;
    const seq = Atomics.load(w, base + W_SEQ);
    if ((seq & 1) !== 0) return SLOW;
    const flags = w[base + W_FLAGS] as number;
    if ((flags & F_ACTIVE) === 0 || (v === 6 && (flags & F_HAS6) === 0)) return NO_SESSION;
    if ((flags & F_SLOW) !== 0) return SLOW;
    if ((flags & F_WG) !== 0) {
      this.wgKp = w[base + W_WG_KP] as number;
      this.wgIndex = w[base + W_WG_INDEX] as number;
      if (this.wgKp < 0) return SLOW;
    } else {
      this.wgKp = -1;
    }
    const nw = base + W_NAME;
    for (let k = 0; k < 7; k++) names[nameOff + k] = w[nw + k] as number;
    this.nameLen = w[base + W_NAMELEN] as number;
    return Atomics.load(w, base + W_SEQ) === seq ? host : SLOW;
  }
}

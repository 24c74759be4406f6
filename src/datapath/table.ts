/**
 * @module datapath/table
 * The main thread's side of the forwarding table (layout in `layout.ts`): it is the
 * only writer of slots. Also the two
 * translations between the socket's text endpoints (what Bun reports: `1.2.3.4` on an
 * IPv4 socket, `::ffff:1.2.3.4` or `2001:db8::1` on a dual-stack one) and the sockaddr
 * words the kernel uses in recvmmsg/sendmmsg.
 */

import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, prefixMask4 } from "../protocol/ip.ts";
import {
  F_ACTIVE, F_HAS6, F_SLOW, F_WG, HEADER_BYTES, MAX_CAPACITY, NAME_WORDS, SLOT_BYTES, SLOT_WORDS, W_ADDR4, W_ADDR6,
  W_CAPACITY, W_FLAGS, W_NAME, W_NAMELEN, W_POOL4_MASK, W_POOL4_NET, W_POOL6, W_POOL6_LEN, W_SEQ, W_SERIAL, W_SERVER4, W_WG_INDEX, W_WG_KP,
} from "./layout.ts";

/** AF_INET / AF_INET6 (Linux). */
const AF_INET = 2;
const AF_INET6 = 10;
/** sockaddr_in / sockaddr_in6 sizes. */
const SOCKADDR_IN = 16;
const SOCKADDR_IN6 = 28;

/** What the table needs to know about the pools. */
export interface TableSpec {
  pool4Network: number;
  pool4PrefixLen: number;
  server4: number;
  /** IPv6 pool prefix bytes and length, or null. */
  pool6: { prefix: Uint8Array; prefixLen: number } | null;
}

/** A client endpoint as sockaddr words (as `W_NAME` holds them) and their length in bytes. */
export interface EndpointName {
  words: Int32Array;
  len: number;
}

/**
 * The sockaddr a socket of `family` uses for `address:port`, or null when it cannot be
 * expressed (an IPv6 peer on an IPv4 socket, a scoped link-local address, text that is
 * not a literal): such a session simply stays on the slow path.
 */
export function encodeEndpoint(address: string, port: number, family: number): EndpointName | null {
  const words = new Int32Array(NAME_WORDS);
  const b = new Uint8Array(words.buffer);
  const dv = new DataView(words.buffer);
  if (family === AF_INET) {
    const a = parseIpv4(address);
    if (a === null) return null;
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, port, false);
    dv.setUint32(4, a, false);
    return { words, len: SOCKADDR_IN };
  }
  if (family !== AF_INET6) return null;
  const a6 = parseIpv6(address);
  if (a6 === null) return null;
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, port, false);
  b.set(a6, 8);
  return { words, len: SOCKADDR_IN6 };
}

/** The text endpoint Bun would report for sockaddr words at `w[off..]`, or null. */
export function decodeEndpoint(w: Int32Array, off: number): { address: string; port: number } | null {
  const b = new Uint8Array(w.buffer, w.byteOffset + off * 4, NAME_WORDS * 4);
  const family = (b[0] as number) | ((b[1] as number) << 8);
  const port = ((b[2] as number) << 8) | (b[3] as number);
  if (family === AF_INET) return { address: formatIpv4((((b[4] as number) << 24) | ((b[5] as number) << 16) | ((b[6] as number) << 8) | (b[7] as number)) >>> 0), port };
  if (family === AF_INET6) return { address: formatIpv6(b, 8), port };
  return null;
}

/** The forwarding table, main-thread side. */
export class FastTable {
  readonly sab: SharedArrayBuffer;
  /** Slots; host indexes from 0 to capacity - 1 can be fast. */
  readonly capacity: number;
  readonly #i32: Int32Array;
  readonly #spec: TableSpec;

  constructor(spec: TableSpec, poolHosts: number) {
    this.#spec = spec;
    this.capacity = Math.min(poolHosts, MAX_CAPACITY);
    this.sab = new SharedArrayBuffer(HEADER_BYTES + this.capacity * SLOT_BYTES);
    this.#i32 = new Int32Array(this.sab);
    const h = this.#i32;
    h[W_POOL4_NET] = spec.pool4Network | 0;
    h[W_POOL4_MASK] = prefixMask4(spec.pool4PrefixLen) | 0;
    h[W_SERVER4] = spec.server4 | 0;
    h[W_CAPACITY] = this.capacity;
    if (spec.pool6 !== null) {
      h[W_POOL6_LEN] = spec.pool6.prefixLen;
      new Uint8Array(this.sab, W_POOL6 * 4, 16).set(spec.pool6.prefix);
    }
  }

  /** The slot of tunnel address `addr4`, or -1 when it cannot have one. */
  slotOf(addr4: number): number {
    const host = (addr4 - this.#spec.pool4Network) >>> 0;
    return host < this.capacity ? host : -1;
  }

  /**
   * Gives slot `slot` to session `serial`: endpoint `name` (null = no fast path for it),
   * tunnel addresses, slow flag, WireGuard (`wg`: sealed with the keypair `setWg` names, none
   * yet). Workers see the whole entry or none of it (seqlock).
   */
  set(slot: number, serial: number, name: EndpointName | null, addr4: number, addr6: Uint8Array | null, slow: boolean, wg = false): void {
    const base = slot * SLOT_WORDS + HEADER_BYTES / 4;
    const w = this.#i32;
    const keep = wg && w[base + W_SERIAL] === serial; // the same session moved: keep its keypair
    this.#begin(base);
    w[base + W_SERIAL] = serial;
    if (!keep) {
      w[base + W_WG_KP] = -1;
      w[base + W_WG_INDEX] = 0;
    }
    w[base + W_NAMELEN] = name?.len ?? 0;
    for (let k = 0; k < NAME_WORDS; k++) w[base + W_NAME + k] = name?.words[k] ?? 0;
    w[base + W_ADDR4] = addr4 | 0;
    if (addr6 !== null) new Uint8Array(this.sab, (base + W_ADDR6) * 4, 16).set(addr6);
    // No endpoint the workers can use: the session is served, but only by the main thread.
    w[base + W_FLAGS] = F_ACTIVE | (slow || name === null ? F_SLOW : 0) | (addr6 !== null ? F_HAS6 : 0) | (wg ? F_WG : 0);
    this.#end(base);
  }

  /** Session `serial` (WireGuard) sends with keypair slot `kp` of local index `index` (-1: none). */
  setWg(slot: number, serial: number, kp: number, index: number): void {
    const base = slot * SLOT_WORDS + HEADER_BYTES / 4;
    if (this.#i32[base + W_SERIAL] !== serial) return;
    this.#begin(base);
    this.#i32[base + W_WG_KP] = kp;
    this.#i32[base + W_WG_INDEX] = index | 0;
    this.#end(base);
  }

  /** Frees slot `slot` if session `serial` still owns it. */
  clear(slot: number, serial: number): void {
    const base = slot * SLOT_WORDS + HEADER_BYTES / 4;
    if (this.#i32[base + W_SERIAL] !== serial) return;
    this.#begin(base);
    this.#i32[base + W_FLAGS] = 0;
    this.#i32[base + W_SERIAL] = 0;
    this.#end(base);
  }

  /** Sets or clears F_SLOW of session `serial`'s slot. */
  setSlow(slot: number, serial: number, slow: boolean): void {
    const base = slot * SLOT_WORDS + HEADER_BYTES / 4;
    if (this.#i32[base + W_SERIAL] !== serial) return;
    const f = this.#i32[base + W_FLAGS] as number;
    this.#begin(base);
    const keepSlow = slow || this.#i32[base + W_NAMELEN] === 0;
    this.#i32[base + W_FLAGS] = keepSlow ? f | F_SLOW : f & ~F_SLOW;
    this.#end(base);
  }

  #begin(base: number): void {
    Atomics.add(this.#i32, base + W_SEQ, 1); // odd: being written
  }

  #end(base: number): void {
    Atomics.add(this.#i32, base + W_SEQ, 1); // even: stable
  }
}

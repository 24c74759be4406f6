/**
 * @module server/pool6
 * IPv6 addresses for sessions, derived from their IPv4 lease: the client whose IPv4
 * address has host part H gets prefix::H in the IPv6 pool, so the two stay paired
 * without a second allocator. The server's TUN gets prefix::1.
 */

import { ipv6HasPrefix } from "../protocol/ip.ts";

/** Longest IPv6 pool prefix (the low 32 bits carry the host part). */
export const MAX_POOL6_PREFIX = 96;

/** IPv6 pool, paired with an IPv4 pool's host numbering. */
export class Pool6 {
  readonly prefix: Uint8Array;
  readonly prefixLen: number;
  readonly #hostMask4: number;

  /** @param hostBits4 host bits of the IPv4 pool (32 - its prefix length). */
  constructor(prefix: Uint8Array, prefixLen: number, hostBits4: number) {
    if (prefixLen > MAX_POOL6_PREFIX) throw new Error(`IPv6 pool /${prefixLen} is too small: at most /${MAX_POOL6_PREFIX}`);
    this.prefix = prefix;
    this.prefixLen = prefixLen;
    this.#hostMask4 = hostBits4 >= 32 ? 0xffffffff : 2 ** hostBits4 - 1;
  }

  /** The IPv6 address paired with a client's IPv4 address. */
  addressFor(addr4: number): Uint8Array {
    const out = this.prefix.slice();
    const host = (addr4 & this.#hostMask4) >>> 0;
    out[12] = (out[12] as number) | (host >>> 24);
    out[13] = (out[13] as number) | ((host >>> 16) & 255);
    out[14] = (out[14] as number) | ((host >>> 8) & 255);
    out[15] = (out[15] as number) | (host & 255);
    return out;
  }

  /** True when the address at `pkt[off..off+16]` lies in the pool. */
  containsAt(pkt: Uint8Array, off: number): boolean {
    return ipv6HasPrefix(pkt, off, this.prefix, this.prefixLen);
  }
}

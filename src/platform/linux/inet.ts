/**
 * @module platform/linux/inet
 * IP addresses as byte arrays for the Linux platform layer (ioctl structs want bytes),
 * on top of the text parsers in `protocol/ip.ts`. Pure: bad text yields `null`.
 */

import { formatIpv6 as formatIpv6Text, parseIpv4 as parseIpv4Number, parseIpv6 as parseIpv6Bytes } from "../../protocol/ip.ts";

/** Bytes in an IPv4 address. */
export const IPV4_LEN = 4;
/** Bytes in an IPv6 address. */
export const IPV6_LEN = 16;

/** `"10.8.0.1"` -> 4 bytes in network order, or null. */
export function parseIpv4(text: string): Uint8Array | null {
  const n = parseIpv4Number(text);
  return n === null ? null : new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** 4 bytes -> `"10.8.0.1"` (reads `bytes[off..off+4)`). */
export function formatIpv4(bytes: Uint8Array, off = 0): string {
  return `${bytes[off] ?? 0}.${bytes[off + 1] ?? 0}.${bytes[off + 2] ?? 0}.${bytes[off + 3] ?? 0}`;
}

/** `"fd00::1"`, `"::ffff:10.0.0.1"` -> 16 bytes in network order, or null (zone ids are rejected). */
export const parseIpv6: (text: string) => Uint8Array | null = parseIpv6Bytes;

/** 16 bytes -> RFC 5952 text; IPv4-mapped addresses get a dotted tail. */
export const formatIpv6: (bytes: Uint8Array, off?: number) => string = formatIpv6Text;

/** A netmask of `prefixLen` leading one bits in `size` bytes (4 or 16). Caller checks the range. */
export function prefixMask(prefixLen: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - 8 * i));
    out[i] = (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

/** `addr` with all bits past `prefixLen` cleared (a new array). */
export function networkOf(addr: Uint8Array, prefixLen: number): Uint8Array {
  const mask = prefixMask(prefixLen, addr.length);
  return addr.map((b, i) => b & (mask[i] ?? 0));
}

/** True when every byte is zero (`0.0.0.0`, `::`). */
export function isUnspecified(addr: Uint8Array): boolean {
  return addr.every((b) => b === 0);
}

/**
 * @module protocol/ip
 * IPv4/IPv6 header peeking for the data path, and address text <-> number helpers
 * for configuration. Pure: no I/O, never throws on wire input (callers check lengths
 * with the `*_MIN_HEADER` constants or the `peek*` results first).
 *
 * IPv4 addresses are carried as unsigned 32-bit numbers (no allocation per packet);
 * IPv6 addresses as 16-byte Uint8Arrays outside the hot path.
 */

// --- specification (RFC 791, RFC 8200) ---
/** Minimum IPv4 header (no options). */
export const IPV4_MIN_HEADER = 20;
/** Fixed IPv6 header. */
export const IPV6_HEADER = 40;
const IPV4_TOTAL_LENGTH_OFF = 2;
const IPV4_SRC_OFF = 12;
const IPV4_DST_OFF = 16;
const IPV6_PAYLOAD_LENGTH_OFF = 4;
/** Offset of the IPv6 source address. */
export const IPV6_SRC_OFF = 8;
/** Offset of the IPv6 destination address. */
export const IPV6_DST_OFF = 24;

/** IP version from the first nibble (4, 6, or anything else for junk). */
export function ipVersion(pkt: Uint8Array): number {
  return pkt.length === 0 ? 0 : (pkt[0] as number) >>> 4;
}

/**
 * Length the packet claims for itself (IPv4 total length, IPv6 40 + payload length),
 * or -1 when the buffer is too short to hold the header or the claim.
 * A packet is well-formed for warren when `claimedLength(p) !== -1`.
 */
export function claimedLength(pkt: Uint8Array): number {
  const v = ipVersion(pkt);
  let n: number;
  if (v === 4) {
    if (pkt.length < IPV4_MIN_HEADER) return -1;
    const ihl = ((pkt[0] as number) & 0x0f) * 4;
    n = ((pkt[IPV4_TOTAL_LENGTH_OFF] as number) << 8) | (pkt[IPV4_TOTAL_LENGTH_OFF + 1] as number);
    if (ihl < IPV4_MIN_HEADER || n < ihl) return -1;
  } else if (v === 6) {
    if (pkt.length < IPV6_HEADER) return -1;
    n = IPV6_HEADER + (((pkt[IPV6_PAYLOAD_LENGTH_OFF] as number) << 8) | (pkt[IPV6_PAYLOAD_LENGTH_OFF + 1] as number));
  } else {
    return -1;
  }
  return n <= pkt.length ? n : -1;
}

function u32At(b: Uint8Array, off: number): number {
  return (
    (((b[off] as number) << 24) | ((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number)) >>> 0
  );
}

/** IPv4 source address as u32. Caller checked `pkt.length >= IPV4_MIN_HEADER`. */
export function ipv4Src(pkt: Uint8Array): number {
  return u32At(pkt, IPV4_SRC_OFF);
}

/** IPv4 destination address as u32. Caller checked `pkt.length >= IPV4_MIN_HEADER`. */
export function ipv4Dst(pkt: Uint8Array): number {
  return u32At(pkt, IPV4_DST_OFF);
}

/** The low 32 bits of an IPv6 address at `off` (interface-id tail), as u32. */
export function ipv6Tail32(pkt: Uint8Array, off: number): number {
  return u32At(pkt, off + 12);
}

/** True when the first `prefixLen` bits at `pkt[off..]` equal those of `prefix`. */
export function ipv6HasPrefix(pkt: Uint8Array, off: number, prefix: Uint8Array, prefixLen: number): boolean {
  const full = prefixLen >>> 3;
  for (let i = 0; i < full; i++) if (pkt[off + i] !== prefix[i]) return false;
  const rest = prefixLen & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((pkt[off + full] as number) ^ (prefix[full] as number)) & mask) === 0;
}

// --- text forms (configuration, logs, control messages; not the hot path) ---

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted quad -> u32, or null when it is not a canonical IPv4 address. */
export function parseIpv4(text: string): number | null {
  const m = IPV4_RE.exec(text);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string;
    if (part.length > 1 && part[0] === "0") return null; // no octal-looking octets
    const o = Number(part);
    if (o > 255) return null;
    n = n * 256 + o;
  }
  return n;
}

/** u32 -> dotted quad. */
export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Bytes in an IPv4 address. */
export const IPV4_LEN = 4;
/** Bytes in an IPv6 address. */
export const IPV6_LEN = 16;

/** Dotted quad -> 4 bytes in network order (what ioctl structs want), or null. */
export function parseIpv4Bytes(text: string): Uint8Array | null {
  const n = parseIpv4(text);
  return n === null ? null : new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** 4 bytes at `bytes[off..off+4)` -> dotted quad. */
export function formatIpv4Bytes(bytes: Uint8Array, off = 0): string {
  return `${bytes[off] ?? 0}.${bytes[off + 1] ?? 0}.${bytes[off + 2] ?? 0}.${bytes[off + 3] ?? 0}`;
}

/** IPv6 text (with `::` compression and an optional dotted-quad tail) -> 16 bytes, or null. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45 || text.includes("%")) return null;
  let head = text;
  let tail4: number | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (tail4 === null) return null;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): string[] | null => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!left || !right) return null;
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const words = [...left, ...Array<string>(8 - total).fill("0"), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const w = words[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return null;
    const v = parseInt(w, 16);
    out[i * 2] = v >>> 8;
    out[i * 2 + 1] = v & 255;
  }
  if (tail4 !== null) {
    out[12] = tail4 >>> 24;
    out[13] = (tail4 >>> 16) & 255;
    out[14] = (tail4 >>> 8) & 255;
    out[15] = tail4 & 255;
  }
  return out;
}

/**
 * 16 bytes -> RFC 5952 text: lower case, the longest run of two or more zero groups
 * compressed (the first on a tie), IPv4-mapped addresses with a dotted tail (§5).
 */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((((b[off + i * 2] as number) << 8) | (b[off + i * 2 + 1] as number)) >>> 0);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** A parsed CIDR prefix. `bytes` is the network address (host bits cleared). */
export type Cidr =
  | { family: 4; address: number; prefixLen: number }
  | { family: 6; bytes: Uint8Array; prefixLen: number };

/** `a.b.c.d/n` or `x::y/n` -> Cidr (host bits cleared), or null. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return null;
  const prefixLen = Number(lenText);
  const v4 = parseIpv4(addr);
  if (v4 !== null) {
    if (prefixLen > 32) return null;
    return { family: 4, address: (v4 & prefixMask4(prefixLen)) >>> 0, prefixLen };
  }
  const v6 = parseIpv6(addr);
  if (v6 === null || prefixLen > 128) return null;
  for (let bit = prefixLen; bit < 128; bit++) v6[bit >>> 3] = (v6[bit >>> 3] as number) & ~(0x80 >>> (bit & 7));
  return { family: 6, bytes: v6, prefixLen };
}

/** Netmask for an IPv4 prefix length, as u32. */
export function prefixMask4(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Cidr -> text, e.g. `10.8.0.0/24`. */
export function formatCidr(c: Cidr): string {
  return c.family === 4 ? `${formatIpv4(c.address)}/${c.prefixLen}` : `${formatIpv6(c.bytes)}/${c.prefixLen}`;
}

/** True for an IPv4 or IPv6 literal. */
export function isIpLiteral(text: string): boolean {
  return parseIpv4(text) !== null || parseIpv6(text) !== null;
}

/**
 * An endpoint for people: `1.2.3.4:5555`, `[2001:db8::1]:5555`. An IPv4-mapped address
 * as a dual-stack socket reports it (`::ffff:1.2.3.4`) is shown as plain IPv4.
 */
export function formatEndpoint(address: string, port: number): string {
  const a = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
  return a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`;
}

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

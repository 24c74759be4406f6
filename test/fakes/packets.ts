/**
 * @module packets
 * Pure IPv4/IPv6 packet builders and parsers for tests: ICMP echo (ping) and UDP, with
 * real checksums, so a packet built here is accepted by a real kernel behind a TUN and a
 * kernel's answer can be parsed back. No I/O, no Bun APIs.
 *
 * Layouts: IPv4 RFC 791, IPv6 RFC 8200, ICMP RFC 792, ICMPv6 RFC 4443, UDP RFC 768.
 * Checksums: RFC 1071 (ones' complement sum); UDP and ICMPv6 include the pseudo-header
 * (RFC 768, RFC 8200 §8.1). Builders throw on bad arguments (test bugs); parsers never
 * throw and return `null` for anything that is not a well-formed packet of their kind.
 */

/** IP protocol numbers used here. */
export const PROTO_ICMP = 1;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

/** ICMP echo message types. */
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

const IPV4_HEADER_LEN = 20;
const IPV4_TOTAL_LEN_OFF = 2;
const IPV4_ID_OFF = 4;
const IPV4_TTL_OFF = 8;
const IPV4_PROTO_OFF = 9;
const IPV4_CSUM_OFF = 10;
const IPV4_SRC_OFF = 12;
const IPV4_DST_OFF = 16;

const IPV6_HEADER_LEN = 40;
const IPV6_PAYLOAD_LEN_OFF = 4;
const IPV6_NEXT_HEADER_OFF = 6;
const IPV6_HOP_LIMIT_OFF = 7;
const IPV6_SRC_OFF = 8;
const IPV6_DST_OFF = 24;

const ICMP_ECHO_HEADER_LEN = 8; // type, code, checksum, identifier, sequence
const ICMP_CSUM_OFF = 2;
const UDP_HEADER_LEN = 8;
const UDP_CSUM_OFF = 6;

/** Default TTL / hop limit of built packets. */
export const DEFAULT_TTL = 64;

// ---------------------------------------------------------------------------------------
// Addresses

/** "10.8.0.1" -> 4 bytes. Throws on anything that is not a dotted quad. */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: "${text}"`);
  const out = new Uint8Array(4);
  parts.forEach((p, i) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: "${text}"`);
    out[i] = Number(p);
  });
  return out;
}

/** 4 bytes at `off` -> "10.8.0.1". */
export function formatIpv4(buf: Uint8Array, off = 0): string {
  const v = view(buf);
  return [0, 1, 2, 3].map((i) => v.getUint8(off + i)).join(".");
}

/** "fd00::1" (RFC 4291 text, `::` allowed, no embedded IPv4) -> 16 bytes. Throws if malformed. */
export function parseIpv6(text: string): Uint8Array {
  const bad = () => new Error(`not an IPv6 address: "${text}"`);
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw bad();
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const out = new Uint8Array(16);
  const v = view(out);
  all.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    v.setUint16(i * 2, parseInt(g, 16));
  });
  return out;
}

/** 16 bytes at `off` -> RFC 5952 text (lower case, longest run of >= 2 zero groups as `::`). */
export function formatIpv6(buf: Uint8Array, off = 0): string {
  const v = view(buf);
  const g = Array.from({ length: 8 }, (_, i) => v.getUint16(off + i * 2));
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

// ---------------------------------------------------------------------------------------
// Checksums

/**
 * RFC 1071 ones' complement sum of `data` (odd length padded with a zero byte), folded to
 * 16 bits, starting from `initial` (an unfolded partial sum, e.g. a pseudo-header's).
 * Returns the SUM, not its complement: the checksum field is `~sum & 0xffff`.
 */
export function onesComplementSum(data: Uint8Array, initial = 0): number {
  const v = view(data);
  let sum = initial;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += v.getUint16(i);
  if (data.length & 1) sum += v.getUint8(data.length - 1) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum of `data` (RFC 1071): the complement of the ones' complement sum. */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  return ~onesComplementSum(data, initial) & 0xffff;
}

/** True when the IPv4 header at the start of `buf` (IHL-sized) has a correct checksum. */
export function ipv4HeaderChecksumOk(buf: Uint8Array): boolean {
  if (buf.length < IPV4_HEADER_LEN) return false;
  const ihl = (view(buf).getUint8(0) & 0x0f) * 4;
  if (ihl < IPV4_HEADER_LEN || buf.length < ihl) return false;
  return onesComplementSum(buf.subarray(0, ihl)) === 0xffff;
}

function pseudoSum4(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  return onesComplementSum(src) + onesComplementSum(dst) + proto + len;
}

function pseudoSum6(src: Uint8Array, dst: Uint8Array, nextHeader: number, len: number): number {
  // 32-bit upper-layer length and 24 zero bits + next header, summed as 16-bit words.
  return onesComplementSum(src) + onesComplementSum(dst) + (len >>> 16) + (len & 0xffff) + nextHeader;
}

// ---------------------------------------------------------------------------------------
// Builders

/** Fields of an ICMP echo request/reply. */
export interface EchoSpec {
  src: string;
  dst: string;
  id: number;
  seq: number;
  payload?: Uint8Array;
  /** Default: echo request (8 for IPv4, 128 for IPv6). */
  type?: number;
  /** TTL / hop limit, default 64. */
  ttl?: number;
}

/** Fields of a UDP datagram. */
export interface UdpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload?: Uint8Array;
  ttl?: number;
}

/** IPv4 header + `l4`, with the header checksum filled in. `ident` = IPv4 identification. */
export function ipv4Packet(src: string, dst: string, proto: number, l4: Uint8Array, ttl = DEFAULT_TTL, ident = 0): Uint8Array {
  const total = IPV4_HEADER_LEN + l4.length;
  if (total > 0xffff) throw new Error(`IPv4 packet too long: ${total}`);
  const out = new Uint8Array(total);
  const v = view(out);
  v.setUint8(0, 0x45); // version 4, IHL 5
  v.setUint16(IPV4_TOTAL_LEN_OFF, total);
  v.setUint16(IPV4_ID_OFF, ident & 0xffff);
  v.setUint8(IPV4_TTL_OFF, ttl);
  v.setUint8(IPV4_PROTO_OFF, proto);
  out.set(parseIpv4(src), IPV4_SRC_OFF);
  out.set(parseIpv4(dst), IPV4_DST_OFF);
  v.setUint16(IPV4_CSUM_OFF, internetChecksum(out.subarray(0, IPV4_HEADER_LEN)));
  out.set(l4, IPV4_HEADER_LEN);
  return out;
}

/** IPv6 header + `l4` (no extension headers, traffic class and flow label 0). */
export function ipv6Packet(src: string, dst: string, nextHeader: number, l4: Uint8Array, hopLimit = DEFAULT_TTL): Uint8Array {
  if (l4.length > 0xffff) throw new Error(`IPv6 payload too long: ${l4.length}`);
  const out = new Uint8Array(IPV6_HEADER_LEN + l4.length);
  const v = view(out);
  v.setUint32(0, 0x60000000); // version 6
  v.setUint16(IPV6_PAYLOAD_LEN_OFF, l4.length);
  v.setUint8(IPV6_NEXT_HEADER_OFF, nextHeader);
  v.setUint8(IPV6_HOP_LIMIT_OFF, hopLimit);
  out.set(parseIpv6(src), IPV6_SRC_OFF);
  out.set(parseIpv6(dst), IPV6_DST_OFF);
  out.set(l4, IPV6_HEADER_LEN);
  return out;
}

function echoBody(type: number, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const body = new Uint8Array(ICMP_ECHO_HEADER_LEN + payload.length);
  const v = view(body);
  v.setUint8(0, type);
  v.setUint16(4, id & 0xffff);
  v.setUint16(6, seq & 0xffff);
  body.set(payload, ICMP_ECHO_HEADER_LEN);
  return body;
}

/** IPv4 ICMP echo request (or reply with `type: 0`), IPv4 and ICMP checksums valid. */
export function icmpEcho4(spec: EchoSpec): Uint8Array {
  const body = echoBody(spec.type ?? ICMP_ECHO_REQUEST, spec.id, spec.seq, spec.payload ?? new Uint8Array(0));
  view(body).setUint16(ICMP_CSUM_OFF, internetChecksum(body));
  return ipv4Packet(spec.src, spec.dst, PROTO_ICMP, body, spec.ttl);
}

/** IPv6 ICMPv6 echo request (or reply with `type: 129`), checksum over the pseudo-header. */
export function icmpEcho6(spec: EchoSpec): Uint8Array {
  const body = echoBody(spec.type ?? ICMPV6_ECHO_REQUEST, spec.id, spec.seq, spec.payload ?? new Uint8Array(0));
  const ps = pseudoSum6(parseIpv6(spec.src), parseIpv6(spec.dst), PROTO_ICMPV6, body.length);
  view(body).setUint16(ICMP_CSUM_OFF, internetChecksum(body, ps));
  return ipv6Packet(spec.src, spec.dst, PROTO_ICMPV6, body, spec.ttl);
}

function udpBody(spec: UdpSpec, pseudo: number): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const body = new Uint8Array(UDP_HEADER_LEN + payload.length);
  const v = view(body);
  v.setUint16(0, spec.sport);
  v.setUint16(2, spec.dport);
  v.setUint16(4, body.length);
  body.set(payload, UDP_HEADER_LEN);
  const c = internetChecksum(body, pseudo);
  v.setUint16(UDP_CSUM_OFF, c === 0 ? 0xffff : c); // 0 means "no checksum" (RFC 768)
  return body;
}

/** IPv4 UDP datagram with a valid UDP checksum. */
export function udp4(spec: UdpSpec): Uint8Array {
  const len = UDP_HEADER_LEN + (spec.payload?.length ?? 0);
  const body = udpBody(spec, pseudoSum4(parseIpv4(spec.src), parseIpv4(spec.dst), PROTO_UDP, len));
  return ipv4Packet(spec.src, spec.dst, PROTO_UDP, body, spec.ttl);
}

/** IPv6 UDP datagram with the (mandatory) UDP checksum. */
export function udp6(spec: UdpSpec): Uint8Array {
  const len = UDP_HEADER_LEN + (spec.payload?.length ?? 0);
  const body = udpBody(spec, pseudoSum6(parseIpv6(spec.src), parseIpv6(spec.dst), PROTO_UDP, len));
  return ipv6Packet(spec.src, spec.dst, PROTO_UDP, body, spec.ttl);
}

// ---------------------------------------------------------------------------------------
// Parsers

/** A parsed ICMP / ICMPv6 echo message. */
export interface Echo {
  type: number;
  code: number;
  src: string;
  dst: string;
  id: number;
  seq: number;
  ttl: number;
  payload: Uint8Array;
}

/** A parsed UDP datagram. */
export interface Udp {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  ttl: number;
  payload: Uint8Array;
}

interface L4 {
  proto: number;
  src: string;
  dst: string;
  ttl: number;
  /** Partial sum of the pseudo-header (IPv6 always; IPv4 for UDP). */
  pseudo: number;
  body: Uint8Array;
}

/** IPv4 header -> upper layer, or null: wrong version, bad header checksum, fragment, short. */
function l4of4(buf: Uint8Array): L4 | null {
  if (buf.length < IPV4_HEADER_LEN) return null;
  const v = view(buf);
  const vihl = v.getUint8(0);
  const ihl = (vihl & 0x0f) * 4;
  const total = v.getUint16(IPV4_TOTAL_LEN_OFF);
  if (vihl >> 4 !== 4 || ihl < IPV4_HEADER_LEN || total < ihl || total > buf.length) return null;
  if (!ipv4HeaderChecksumOk(buf)) return null;
  if ((v.getUint16(6) & 0x3fff) !== 0) return null; // MF flag or fragment offset
  const proto = v.getUint8(IPV4_PROTO_OFF);
  const src = buf.subarray(IPV4_SRC_OFF, IPV4_SRC_OFF + 4);
  const dst = buf.subarray(IPV4_DST_OFF, IPV4_DST_OFF + 4);
  const body = buf.subarray(ihl, total);
  return {
    proto, src: formatIpv4(src), dst: formatIpv4(dst), ttl: v.getUint8(IPV4_TTL_OFF), body,
    pseudo: pseudoSum4(src, dst, proto, body.length),
  };
}

/** IPv6 header (no extension headers) -> upper layer, or null. */
function l4of6(buf: Uint8Array): L4 | null {
  if (buf.length < IPV6_HEADER_LEN) return null;
  const v = view(buf);
  if (v.getUint8(0) >> 4 !== 6) return null;
  const plen = v.getUint16(IPV6_PAYLOAD_LEN_OFF);
  if (IPV6_HEADER_LEN + plen > buf.length) return null;
  const proto = v.getUint8(IPV6_NEXT_HEADER_OFF);
  const src = buf.subarray(IPV6_SRC_OFF, IPV6_SRC_OFF + 16);
  const dst = buf.subarray(IPV6_DST_OFF, IPV6_DST_OFF + 16);
  const body = buf.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + plen);
  return {
    proto, src: formatIpv6(src), dst: formatIpv6(dst), ttl: v.getUint8(IPV6_HOP_LIMIT_OFF), body,
    pseudo: pseudoSum6(src, dst, proto, body.length),
  };
}

function echoOf(l4: L4, types: number[], withPseudo: boolean): Echo | null {
  const b = l4.body;
  if (b.length < ICMP_ECHO_HEADER_LEN) return null;
  if (onesComplementSum(b, withPseudo ? l4.pseudo : 0) !== 0xffff) return null;
  const v = view(b);
  const type = v.getUint8(0);
  if (!types.includes(type)) return null;
  return {
    type, code: v.getUint8(1), src: l4.src, dst: l4.dst, id: v.getUint16(4), seq: v.getUint16(6),
    ttl: l4.ttl, payload: b.subarray(ICMP_ECHO_HEADER_LEN),
  };
}

function udpOf(l4: L4, requireChecksum: boolean): Udp | null {
  const b = l4.body;
  if (b.length < UDP_HEADER_LEN) return null;
  const v = view(b);
  const len = v.getUint16(4);
  if (len < UDP_HEADER_LEN || len !== b.length) return null;
  const csum = v.getUint16(UDP_CSUM_OFF);
  if (csum === 0 ? requireChecksum : onesComplementSum(b, l4.pseudo) !== 0xffff) return null;
  return {
    src: l4.src, dst: l4.dst, sport: v.getUint16(0), dport: v.getUint16(2), ttl: l4.ttl,
    payload: b.subarray(UDP_HEADER_LEN),
  };
}

/** An IPv4 ICMP echo request or reply with valid checksums, or null. Payload is a view into `buf`. */
export function parseIcmpEcho4(buf: Uint8Array): Echo | null {
  const l4 = l4of4(buf);
  if (!l4 || l4.proto !== PROTO_ICMP) return null;
  return echoOf(l4, [ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY], false);
}

/** An IPv6 ICMPv6 echo request or reply with a valid checksum, or null. */
export function parseIcmpEcho6(buf: Uint8Array): Echo | null {
  const l4 = l4of6(buf);
  if (!l4 || l4.proto !== PROTO_ICMPV6) return null;
  return echoOf(l4, [ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY], true);
}

/** An IPv4 UDP datagram with a valid (or absent, 0) checksum, or null. */
export function parseUdp4(buf: Uint8Array): Udp | null {
  const l4 = l4of4(buf);
  if (!l4 || l4.proto !== PROTO_UDP) return null;
  return udpOf(l4, false);
}

/** An IPv6 UDP datagram with a valid checksum, or null. */
export function parseUdp6(buf: Uint8Array): Udp | null {
  const l4 = l4of6(buf);
  if (!l4 || l4.proto !== PROTO_UDP) return null;
  return udpOf(l4, true);
}

/** Echo of either IP version (by the first nibble), or null. */
export function parseIcmpEcho(buf: Uint8Array): Echo | null {
  const version = buf.length > 0 ? view(buf).getUint8(0) >> 4 : 0;
  return version === 4 ? parseIcmpEcho4(buf) : version === 6 ? parseIcmpEcho6(buf) : null;
}

/** UDP of either IP version, or null. */
export function parseUdp(buf: Uint8Array): Udp | null {
  const version = buf.length > 0 ? view(buf).getUint8(0) >> 4 : 0;
  return version === 4 ? parseUdp4(buf) : version === 6 ? parseUdp6(buf) : null;
}

/** Hex string -> bytes (whitespace ignored), for test vectors. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error("bad hex");
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(i * 2, i * 2 + 2), 16));
}

/** Bytes -> lower-case hex. */
export function toHex(buf: Uint8Array): string {
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

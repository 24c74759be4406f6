/**
 * @module platform/linux/proc-route
 * The one parser of the kernel's route tables as text: `/proc/net/route` (IPv4, main
 * table) and `/proc/net/ipv6_route` (IPv6), and the default-route finder built on it
 * (`route-lookup.ts` answers "which route for this address" with the same parser). Pure:
 * the caller reads the file, so tests feed captured text. Malformed lines are skipped.
 *
 * /proc/net/route columns (tab-separated, header line first): Iface Destination Gateway
 * Flags RefCnt Use Metric Mask MTU Window IRTT; addresses are `%08X` of the network-order
 * u32 read in host order, the metric is decimal. /proc/net/ipv6_route columns
 * (space-separated, no header): dst dst_len src src_len next_hop metric refcnt use flags
 * iface; addresses are 32 hex digits in network order, numbers are hex.
 */

import { formatIpv4Bytes as formatIpv4, formatIpv6, IPV6_LEN } from "../../protocol/ip.ts";

/** One line of a route table, parsed. */
export interface ProcRoute {
  /** Destination prefix, network-order bytes (4 or 16). */
  dest: Uint8Array;
  prefixLen: number;
  /** Next hop, network-order bytes; all zero when the route has none. */
  gateway: Uint8Array;
  /** RTF_* flags. */
  flags: number;
  /** Route metric; MAX_SAFE_INTEGER when the column is unreadable. */
  metric: number;
  dev: string;
}

/** A default route: next hop (`0.0.0.0` / `::` when the route has none) and device. */
export interface DefaultRoute {
  gateway: string;
  dev: string;
}

/** Route is usable. */
export const RTF_UP = 0x0001;
/** Route goes through a gateway (the next hop column is meaningful). */
export const RTF_GATEWAY = 0x0002;
/** Route rejects packets (`unreachable` / `prohibit` routes, e.g. defaults on `lo`). */
const RTF_REJECT = 0x0200;

const V4_IFACE = 0;
const V4_DEST = 1;
const V4_GATEWAY = 2;
const V4_FLAGS = 3;
const V4_METRIC = 6;
const V4_MASK = 7;

const V6_DEST = 0;
const V6_DEST_LEN = 1;
const V6_NEXT_HOP = 4;
const V6_METRIC = 5;
const V6_FLAGS = 8;
const V6_IFACE = 9;
const V6_COLUMNS = 10;

const HEX32 = /^[0-9a-fA-F]{1,8}$/;
const HEX128 = /^[0-9a-fA-F]{32}$/;

/** `%08X` of a network-order u32 printed in host order -> its 4 network-order bytes. */
function hostHexToBytes(hex: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, parseInt(hex, 16), littleEndian);
  return out;
}

/** 32 hex digits -> 16 bytes. */
function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(IPV6_LEN);
  for (let i = 0; i < IPV6_LEN; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Counts the leading one bits of a netmask; -1 when the mask is not contiguous. */
function maskBits(mask: Uint8Array): number {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let b = 7; b >= 0; b--) {
      const one = ((byte >> b) & 1) === 1;
      if (one && ended) return -1;
      if (one) bits++;
      else ended = true;
    }
  }
  return bits;
}

function metricOf(text: string, radix: 10 | 16): number {
  const m = Number.parseInt(text, radix);
  return Number.isFinite(m) ? m : Number.MAX_SAFE_INTEGER;
}

/** Every route in `/proc/net/route` text (lines with a non-contiguous mask are skipped). `littleEndian` = host byte order. */
export function parseRoutes4(text: string, littleEndian: boolean): ProcRoute[] {
  const out: ProcRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const dev = cols[V4_IFACE] ?? "";
    const dest = cols[V4_DEST] ?? "";
    const gateway = cols[V4_GATEWAY] ?? "";
    const flags = cols[V4_FLAGS] ?? "";
    const mask = cols[V4_MASK] ?? "";
    if (dev === "" || ![dest, gateway, flags, mask].every((c) => HEX32.test(c))) continue;
    const prefixLen = maskBits(hostHexToBytes(mask, littleEndian));
    if (prefixLen < 0) continue;
    out.push({
      dest: hostHexToBytes(dest, littleEndian),
      prefixLen,
      gateway: hostHexToBytes(gateway, littleEndian),
      flags: parseInt(flags, 16),
      metric: metricOf(cols[V4_METRIC] ?? "", 10),
      dev,
    });
  }
  return out;
}

/** Every route in `/proc/net/ipv6_route` text. */
export function parseRoutes6(text: string): ProcRoute[] {
  const out: ProcRoute[] = [];
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < V6_COLUMNS) continue;
    const dest = cols[V6_DEST] ?? "";
    const nextHop = cols[V6_NEXT_HOP] ?? "";
    const dev = cols[V6_IFACE] ?? "";
    if (!HEX128.test(dest) || !HEX128.test(nextHop) || dev === "") continue;
    const prefixLen = parseInt(cols[V6_DEST_LEN] ?? "", 16);
    const flags = parseInt(cols[V6_FLAGS] ?? "", 16);
    if (!(prefixLen >= 0 && prefixLen <= 128) || !Number.isFinite(flags)) continue;
    out.push({ dest: hexToBytes(dest), prefixLen, gateway: hexToBytes(nextHop), flags, metric: metricOf(cols[V6_METRIC] ?? "", 16), dev });
  }
  return out;
}

/** True for a route the kernel would use: up and not a reject route. */
export function usable(r: ProcRoute): boolean {
  return (r.flags & RTF_UP) !== 0 && (r.flags & RTF_REJECT) === 0;
}

/** The usable default route (prefix length 0, all-zero destination) with the lowest metric; the first wins a tie. */
function bestDefault(routes: readonly ProcRoute[]): ProcRoute | null {
  let best: ProcRoute | null = null;
  for (const r of routes) {
    if (r.prefixLen !== 0 || !r.dest.every((b) => b === 0) || !usable(r)) continue;
    if (best === null || r.metric < best.metric) best = r;
  }
  return best;
}

/** The best IPv4 default route in `/proc/net/route` text, or null. `littleEndian` = host byte order. */
export function parseDefaultRoute4(text: string, littleEndian: boolean): DefaultRoute | null {
  const r = bestDefault(parseRoutes4(text, littleEndian));
  return r === null ? null : { gateway: formatIpv4(r.gateway), dev: r.dev };
}

/** The best IPv6 default route in `/proc/net/ipv6_route` text, or null. */
export function parseDefaultRoute6(text: string): DefaultRoute | null {
  const r = bestDefault(parseRoutes6(text));
  return r === null ? null : { gateway: formatIpv6(r.gateway), dev: r.dev };
}

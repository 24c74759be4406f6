/**
 * @module platform/linux/proc-route
 * Finds the default route in the text of `/proc/net/route` (IPv4) and
 * `/proc/net/ipv6_route` (IPv6). Pure: the caller reads the file, so tests feed
 * captured text. Among several default routes the lowest metric wins.
 *
 * /proc/net/route columns (tab-separated, header line first): Iface Destination Gateway
 * Flags RefCnt Use Metric Mask MTU Window IRTT; addresses are `%08X` of the network-order
 * u32 read in host order. /proc/net/ipv6_route columns (space-separated, no header):
 * dst dst_len src src_len next_hop metric refcnt use flags iface; addresses are 32 hex
 * digits in network order, numbers are hex.
 */

import { formatIpv4Bytes as formatIpv4, formatIpv6, IPV6_LEN } from "../../protocol/ip.ts";

/** A default route: next hop (`0.0.0.0` / `::` when the route has none) and device. */
export interface DefaultRoute {
  gateway: string;
  dev: string;
}

/** Route is usable. */
const RTF_UP = 0x0001;
/** Route rejects packets (`unreachable` / `prohibit` defaults on `lo`). */
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

/** The best IPv4 default route in `/proc/net/route` text, or null. `littleEndian` = host byte order. */
export function parseDefaultRoute4(text: string, littleEndian: boolean): DefaultRoute | null {
  let best: { route: DefaultRoute; metric: number } | null = null;
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const dev = cols[V4_IFACE] ?? "";
    const dest = cols[V4_DEST] ?? "";
    const gateway = cols[V4_GATEWAY] ?? "";
    const flags = cols[V4_FLAGS] ?? "";
    const metric = cols[V4_METRIC] ?? "";
    const mask = cols[V4_MASK] ?? "";
    if (dev === "" || ![dest, gateway, flags, mask].every((c) => HEX32.test(c))) continue;
    if (parseInt(dest, 16) !== 0 || parseInt(mask, 16) !== 0) continue;
    const f = parseInt(flags, 16);
    if ((f & RTF_UP) === 0 || (f & RTF_REJECT) !== 0) continue;
    const m = Number.parseInt(metric, 10);
    const rank = Number.isFinite(m) ? m : Number.MAX_SAFE_INTEGER;
    if (best === null || rank < best.metric) {
      best = { route: { gateway: formatIpv4(hostHexToBytes(gateway, littleEndian)), dev }, metric: rank };
    }
  }
  return best?.route ?? null;
}

/** 32 hex digits -> 16 bytes. */
function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(IPV6_LEN);
  for (let i = 0; i < IPV6_LEN; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The best IPv6 default route in `/proc/net/ipv6_route` text, or null. */
export function parseDefaultRoute6(text: string): DefaultRoute | null {
  let best: { route: DefaultRoute; metric: number } | null = null;
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < V6_COLUMNS) continue;
    const dest = cols[V6_DEST] ?? "";
    const nextHop = cols[V6_NEXT_HOP] ?? "";
    const dev = cols[V6_IFACE] ?? "";
    if (!HEX128.test(dest) || !HEX128.test(nextHop) || dev === "") continue;
    if (parseInt(cols[V6_DEST_LEN] ?? "", 16) !== 0 || !/^0+$/.test(dest)) continue;
    const f = parseInt(cols[V6_FLAGS] ?? "", 16);
    if (!Number.isFinite(f) || (f & RTF_UP) === 0 || (f & RTF_REJECT) !== 0) continue;
    const m = parseInt(cols[V6_METRIC] ?? "", 16);
    const rank = Number.isFinite(m) ? m : Number.MAX_SAFE_INTEGER;
    if (best === null || rank < best.metric) {
      best = { route: { gateway: formatIpv6(hexToBytes(nextHop)), dev }, metric: rank };
    }
  }
  return best?.route ?? null;
}

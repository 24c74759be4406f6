/**
 * @module platform/linux/route-lookup
 * "Which route does the kernel use for this address now?" answered from
 * `/proc/net/route` (IPv4, main table) and `/proc/net/ipv6_route` (IPv6): the longest
 * matching prefix, the lowest metric among equals. The client asks this before it adds
 * its own routes, to pin the server behind a host route (see engine/client-routes.ts).
 * Policy routing (ip rule) is not considered. The parsers are pure; the file formats
 * are described in `proc-route.ts`.
 */

import { readFileSync } from "node:fs";
import { HOST_LE } from "./libc.ts";
import { formatIpv4Bytes as formatIpv4, formatIpv6, IPV6_LEN, parseIpv4Bytes as parseIpv4, parseIpv6 } from "../../protocol/ip.ts";

/** A route that matches an address: its prefix length, device and next hop (absent = on-link). */
export interface MatchedRoute {
  prefixLen: number;
  dev: string;
  gateway?: string;
}

const RTF_UP = 0x0001;
const RTF_GATEWAY = 0x0002;
const RTF_REJECT = 0x0200;
/** IPv6: a cached clone, not a configured route. */
const RTF_CACHE = 0x01000000;
/** IPv6: a local-table route for one of this host's own addresses. */
const RTF_LOCAL = 0x80000000;

const HEX32 = /^[0-9a-fA-F]{1,8}$/;
const HEX128 = /^[0-9a-fA-F]{32}$/;

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

function hostHex(hex: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, parseInt(hex, 16), littleEndian);
  return out;
}

function matches(addr: Uint8Array, net: Uint8Array, prefixLen: number): boolean {
  const full = prefixLen >>> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== net[i]) return false;
  const rest = prefixLen & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((addr[full] ?? 0) ^ (net[full] ?? 0)) & mask) === 0;
}

type Candidate = { route: MatchedRoute; metric: number };

function better(best: Candidate | null, c: Candidate): boolean {
  return best === null || c.route.prefixLen > best.route.prefixLen || (c.route.prefixLen === best.route.prefixLen && c.metric < best.metric);
}

/** Best IPv4 route for `address` in `/proc/net/route` text, or null. `littleEndian` = host order. */
export function lookupRoute4(text: string, address: string, littleEndian: boolean): MatchedRoute | null {
  const addr = parseIpv4(address);
  if (addr === null) return null;
  let best: Candidate | null = null;
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const [dev, dest, gateway, flags, , , metric, mask] = cols;
    if (!dev || !dest || !gateway || !flags || !mask || ![dest, gateway, flags, mask].every((c) => HEX32.test(c))) continue;
    const f = parseInt(flags, 16);
    if ((f & RTF_UP) === 0 || (f & RTF_REJECT) !== 0) continue;
    const prefixLen = maskBits(hostHex(mask, littleEndian));
    if (prefixLen < 0 || !matches(addr, hostHex(dest, littleEndian), prefixLen)) continue;
    const m = Number.parseInt(metric ?? "", 10);
    const gw = (f & RTF_GATEWAY) !== 0 ? formatIpv4(hostHex(gateway, littleEndian)) : undefined;
    const c: Candidate = { route: { prefixLen, dev, ...(gw ? { gateway: gw } : {}) }, metric: Number.isFinite(m) ? m : Number.MAX_SAFE_INTEGER };
    if (better(best, c)) best = c;
  }
  return best?.route ?? null;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(IPV6_LEN);
  for (let i = 0; i < IPV6_LEN; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Best IPv6 route for `address` in `/proc/net/ipv6_route` text, or null (local/cache/reject routes and `lo` are skipped). */
export function lookupRoute6(text: string, address: string): MatchedRoute | null {
  const addr = parseIpv6(address);
  if (addr === null) return null;
  let best: Candidate | null = null;
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const [dest, destLen, , , nextHop, metric, , , flags, dev] = cols;
    if (!dest || !HEX128.test(dest) || !nextHop || !HEX128.test(nextHop) || !dev || dev === "lo") continue;
    const f = parseInt(flags ?? "", 16);
    if (!Number.isFinite(f) || (f & RTF_UP) === 0 || (f & (RTF_REJECT | RTF_CACHE | RTF_LOCAL)) !== 0) continue;
    const prefixLen = parseInt(destLen ?? "", 16);
    if (!(prefixLen >= 0 && prefixLen <= 128) || !matches(addr, hexBytes(dest), prefixLen)) continue;
    const m = parseInt(metric ?? "", 16);
    const gw = (f & RTF_GATEWAY) !== 0 ? formatIpv6(hexBytes(nextHop)) : undefined;
    const c: Candidate = { route: { prefixLen, dev, ...(gw ? { gateway: gw } : {}) }, metric: Number.isFinite(m) ? m : Number.MAX_SAFE_INTEGER };
    if (better(best, c)) best = c;
  }
  return best?.route ?? null;
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** The route this network namespace uses for `address` now, or null. */
export function routeTo(family: 4 | 6, address: string): MatchedRoute | null {
  const text = readProc(family === 4 ? "/proc/net/route" : "/proc/net/ipv6_route");
  if (text === null) return null;
  return family === 4 ? lookupRoute4(text, address, HOST_LE) : lookupRoute6(text, address);
}

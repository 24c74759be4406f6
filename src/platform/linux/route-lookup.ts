/**
 * @module platform/linux/route-lookup
 * "Which route does the kernel use for this address now?" answered from
 * `/proc/net/route` (IPv4, main table) and `/proc/net/ipv6_route` (IPv6): the longest
 * matching prefix, the lowest metric among equals. The client asks this before it adds
 * its own routes, to pin the server behind a host route (see client/routes.ts).
 * Policy routing (ip rule) is not considered. The lookups are pure; the tables are
 * parsed (and their formats described) in `proc-route.ts`.
 */

import { readFileSync } from "node:fs";
import { HOST_LE } from "./libc.ts";
import { formatIpv4Bytes as formatIpv4, formatIpv6, parseIpv4Bytes as parseIpv4, parseIpv6 } from "../../protocol/ip.ts";
import { parseRoutes4, parseRoutes6, type ProcRoute, RTF_GATEWAY, usable } from "./proc-route.ts";

/** A route that matches an address: its prefix length, device and next hop (absent = on-link). */
export interface MatchedRoute {
  prefixLen: number;
  dev: string;
  gateway?: string;
}

/** IPv6: a cached clone, not a configured route. */
const RTF_CACHE = 0x01000000;
/** IPv6: a local-table route for one of this host's own addresses. */
const RTF_LOCAL = 0x80000000;

function matches(addr: Uint8Array, net: Uint8Array, prefixLen: number): boolean {
  const full = prefixLen >>> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== net[i]) return false;
  const rest = prefixLen & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((addr[full] ?? 0) ^ (net[full] ?? 0)) & mask) === 0;
}

/** The longest usable prefix matching `addr`, the lowest metric among equals (the first wins a tie). */
function bestMatch(routes: readonly ProcRoute[], addr: Uint8Array, format: (b: Uint8Array) => string): MatchedRoute | null {
  let best: ProcRoute | null = null;
  for (const r of routes) {
    if (!usable(r) || !matches(addr, r.dest, r.prefixLen)) continue;
    if (best === null || r.prefixLen > best.prefixLen || (r.prefixLen === best.prefixLen && r.metric < best.metric)) best = r;
  }
  if (best === null) return null;
  const gateway = (best.flags & RTF_GATEWAY) !== 0 ? format(best.gateway) : undefined;
  return { prefixLen: best.prefixLen, dev: best.dev, ...(gateway !== undefined ? { gateway } : {}) };
}

/** Best IPv4 route for `address` in `/proc/net/route` text, or null. `littleEndian` = host order. */
export function lookupRoute4(text: string, address: string, littleEndian: boolean): MatchedRoute | null {
  const addr = parseIpv4(address);
  return addr === null ? null : bestMatch(parseRoutes4(text, littleEndian), addr, formatIpv4);
}

/** Best IPv6 route for `address` in `/proc/net/ipv6_route` text, or null (local/cache/reject routes and `lo` are skipped). */
export function lookupRoute6(text: string, address: string): MatchedRoute | null {
  const addr = parseIpv6(address);
  if (addr === null) return null;
  const routes = parseRoutes6(text).filter((r) => r.dev !== "lo" && (r.flags & (RTF_CACHE | RTF_LOCAL)) === 0);
  return bestMatch(routes, addr, formatIpv6);
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

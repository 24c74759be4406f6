/**
 * @module server/push
 * What every client is told, whatever its protocol: tunnel MTU, DNS servers, search
 * domains and the routes to send through the tunnel. ToyVpn pushes these in its
 * parameter datagram; WireGuard peers get them in the config `warren wg add` prints.
 */

import type { Cidr } from "../protocol/ip.ts";

/** The pushed settings, as configured. */
export interface PushSettings {
  mtu: number;
  dns: readonly string[];
  routes: readonly Cidr[];
  searchDomains: readonly string[];
}

/**
 * The routes a client gets: the configured ones, plus, with an IPv6 pool and no IPv6
 * route configured, `::/0` when an IPv4 default route is pushed (all traffic through
 * the tunnel, in both families), else the IPv6 pool itself.
 */
export function pushedRoutes(routes: readonly Cidr[], pool6: Cidr | null): Cidr[] {
  const out: Cidr[] = [...routes];
  if (pool6 !== null && pool6.family === 6 && !routes.some((r) => r.family === 6)) {
    const hasDefault4 = routes.some((r) => r.family === 4 && r.prefixLen === 0);
    out.push(hasDefault4 ? { family: 6, bytes: new Uint8Array(16), prefixLen: 0 } : { family: 6, bytes: pool6.bytes, prefixLen: pool6.prefixLen });
  }
  return out;
}

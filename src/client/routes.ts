/**
 * @module client/routes
 * Which routes the client installs for a set of parameters. Pure: the caller looks up
 * the current route to the server beforehand and applies the plan.
 *
 * A pushed default route must never cut the client off its server (OpenVPN's def1,
 * wg-quick): `0.0.0.0/0` becomes `0.0.0.0/1` + `128.0.0.0/1` and `::/0` becomes `::/1` +
 * `8000::/1`, which win over the real default route by being longer without replacing
 * it; and whenever a tunnel route would capture the server's own address, a host route
 * to the server via the route it is reached through now (gateway and device) is added
 * first, so the tunnel's datagrams keep leaving the old way.
 */

import { type Cidr, formatCidr, ipv6HasPrefix, parseCidr, parseIpv4, parseIpv6, prefixMask4 } from "../protocol/ip.ts";
import type { Params } from "../protocol/toyvpn.ts";
import { withFamily } from "./params.ts";

/** One route the client adds (and later deletes with the same fields). */
export interface RouteSpec {
  family: 4 | 6;
  /** Network address, host bits cleared. */
  dest: string;
  prefixLen: number;
  dev: string;
  /** Next hop; absent for routes through the TUN and on-link routes. */
  gateway?: string;
}

/** The route the kernel currently uses for the server (longest prefix match). */
export interface ServerRoute {
  prefixLen: number;
  dev: string;
  /** `0.0.0.0` / `::` or absent when on-link. */
  gateway?: string;
}

/** What to install. */
export interface RoutePlan {
  /** Host routes to the server outside the tunnel; added first, removed last. */
  host: RouteSpec[];
  /** Routes through the TUN. */
  tunnel: RouteSpec[];
  /** Things left out, one line each, for the log. */
  notes: string[];
}

/** Inputs of {@link planRoutes}. */
export interface PlanInput {
  /** `pushed` installs the parameters' routes; `none` installs nothing. */
  mode: "pushed" | "none";
  tun: string;
  server: { family: 4 | 6; address: string };
  /** Current route to the server (looked up before the tunnel existed), or null. */
  serverRoute: ServerRoute | null;
  /** Whether the TUN has an IPv6 address (IPv6 routes are skipped otherwise). */
  has6: boolean;
}

const HALVES: Record<4 | 6, [string, string]> = { 4: ["0.0.0.0/1", "128.0.0.0/1"], 6: ["::/1", "8000::/1"] };

/** Routes for `params`; see the module comment. */
export function planRoutes(params: Params, input: PlanInput): RoutePlan {
  const plan: RoutePlan = { host: [], tunnel: [], notes: [] };
  if (input.mode === "none") return plan;
  const hostLen = input.server.family === 4 ? 32 : 128;
  const seen = new Set<string>();
  const add = (c: Cidr) => {
    const text = formatCidr(c);
    if (seen.has(text)) return;
    seen.add(text);
    if (c.family === input.server.family && c.prefixLen === hostLen && contains(c, input.server.address)) {
      plan.notes.push(`route ${text} is the server itself: not sent through the tunnel`);
      return;
    }
    plan.tunnel.push({ family: c.family, dest: text.slice(0, text.lastIndexOf("/")), prefixLen: c.prefixLen, dev: input.tun });
  };
  let skipped6 = false;
  for (const r of withFamily(params.routes)) {
    if (r.family === 6 && !input.has6) {
      skipped6 = true;
      continue;
    }
    const c = parseCidr(`${r.address}/${r.prefixLen}`);
    if (c === null) continue;
    if (c.prefixLen === 0) for (const half of HALVES[c.family]) add(parseCidr(half) as Cidr);
    else add(c);
  }
  if (skipped6) plan.notes.push("IPv6 routes pushed without an IPv6 address: not installed");

  const captured = plan.tunnel.filter(
    (t) => t.family === input.server.family && contains(parseCidr(`${t.dest}/${t.prefixLen}`) as Cidr, input.server.address),
  );
  const sr = input.serverRoute;
  if (captured.length > 0) {
    if (sr === null) {
      plan.notes.push(`no route to the server ${input.server.address} found: no host route added`);
    } else if (sr.dev !== input.tun && sr.prefixLen < hostLen && captured.some((t) => t.prefixLen >= sr.prefixLen)) {
      const gw = sr.gateway !== undefined && sr.gateway !== "0.0.0.0" && sr.gateway !== "::" ? sr.gateway : undefined;
      plan.host.push({ family: input.server.family, dest: input.server.address, prefixLen: hostLen, dev: sr.dev, ...(gw ? { gateway: gw } : {}) });
    }
  }
  return plan;
}

/** True when `address` (same family) lies inside `c`. */
export function contains(c: Cidr, address: string): boolean {
  if (c.family === 4) {
    const a = parseIpv4(address);
    return a !== null && ((a & prefixMask4(c.prefixLen)) >>> 0) === c.address;
  }
  const b = parseIpv6(address);
  return b !== null && ipv6HasPrefix(b, 0, c.bytes, c.prefixLen);
}

/** `10.8.0.0/24 dev warren1`, `192.0.2.1/32 via 10.77.1.1 dev v0`. */
export function describeRoute(r: RouteSpec): string {
  return `${r.dest}/${r.prefixLen}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.dev}`;
}

/** Same route (all fields). */
export function sameRoute(a: RouteSpec, b: RouteSpec): boolean {
  return a.family === b.family && a.dest === b.dest && a.prefixLen === b.prefixLen && a.dev === b.dev && (a.gateway ?? "") === (b.gateway ?? "");
}

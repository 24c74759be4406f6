/**
 * @module cli/server-summary
 * The startup summary `warren server` prints: where it listens, the TUN, the pool,
 * what clients are told, who may connect and how a phone connects.
 */

import { networkInterfaces } from "node:os";
import type { ServerConfig } from "../config/server-schema.ts";
import { versionLine } from "../lib/version.ts";
import { formatCidr, formatEndpoint, formatIpv4, formatIpv6 } from "../protocol/ip.ts";
import { type Server, serverAddress6 } from "../server/server.ts";

/** What the summary says besides the server's own state. */
export interface SummaryExtras {
  /** The parameter string with `<client>` for the address. */
  pushed: string;
  /** The secret generated at this start (printed once), or null. */
  generatedSecret: string | null;
  /** Authentication modes, one line. */
  auth: string;
  /** The nat line. */
  nat: string;
  /** The WireGuard door's line, or null when it is off. */
  wireguard: string | null;
}

/** The summary's nat line when NAT is off: say what a pushed default route then means. */
export function natOffNote(routes: ServerConfig["routes"]): string {
  const pushesDefault = routes.some((r) => r.prefixLen === 0);
  return pushesDefault
    ? "off: clients send all traffic here but reach only this host and each other; --nat gives them the internet"
    : "off (--nat to forward and masquerade)";
}

/** This host's non-loopback addresses, for "how a phone connects". */
function hostAddresses(exclude: string): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name === exclude) continue;
    for (const a of addrs ?? []) if (!a.internal && a.family === "IPv4") out.push(a.address);
  }
  return out;
}

/** The summary, one line per aspect. */
export function summary(c: ServerConfig, server: Server, x: SummaryExtras): string {
  const p = server.pool4;
  const first = formatIpv4(p.serverAddress + 1);
  const last = formatIpv4(p.serverAddress + p.capacity);
  const hosts = hostAddresses(c.tun);
  const tun6 = server.pool6 ? ` ${formatIpv6(serverAddress6(server.pool6))}/${server.pool6.prefixLen}` : "";
  const lines = [
    versionLine(),
    `  listen    udp ${formatEndpoint(c.listen.host, c.listen.port)}${c.listen.host === "::" ? " (IPv4 and IPv6)" : ""}`,
    `  tun       ${c.tun} ${formatIpv4(p.serverAddress)}/${c.pool.prefixLen}${tun6}, mtu ${c.mtu}`,
    `  pool      ${formatCidr(c.pool)}: ${first} - ${last} (${p.capacity} clients)${c.pool6 ? `, IPv6 ${formatCidr(c.pool6)}` : ""}`,
    `  pushed    ${x.pushed}`,
    `  clients   ${c.isolate ? "isolated from each other" : "can reach each other (hub)"}; idle timeout ${c.idleTimeout} s`,
    `  auth      ${x.auth}`,
    x.generatedSecret !== null
      ? `  secret    ${x.generatedSecret}   (generated now; set --secret or WARREN_SECRET to keep one)`
      : `  secret    ${c.secret !== undefined ? "(set by configuration, not shown)" : "off"}`,
    `  connect   ToyVpn app: Server Address ${hosts.length ? hosts.join(" or ") : "<this host>"}, Server Port ${c.listen.port}, Shared Secret ${x.generatedSecret !== null || c.secret !== undefined ? "as above" : "user:password or a token"} (append ":<device-id>" to keep an address)`,
    `  nat       ${x.nat}`,
    `  wireguard ${x.wireguard ?? "off (--wg-listen HOST:PORT turns on the encrypted front door for WireGuard clients)"}`,
  ];
  return `${lines.join("\n")}\n`;
}

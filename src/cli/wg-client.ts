/**
 * @module cli/wg-client
 * What `warren wg add` decides before it writes anything: the new peer's tunnel
 * addresses (the next free pool address, or the operator's) and the client's wg-quick
 * config. The pool rule is engine/pool.ts's: the first host address is the server's,
 * the last (broadcast) is never handed out; the IPv6 address pairs with the IPv4 one
 * as engine/pool6.ts pairs them.
 *
 * Pure: parsed values in, addresses or text out; throws ConfigError on a bad choice.
 */

import type { WgPeer } from "../config/wg-peers.ts";
import { Pool6 } from "../server/pool6.ts";
import { ConfigError } from "../lib/errors.ts";
import { type Cidr, formatCidr, formatEndpoint, formatIpv4, formatIpv6, prefixMask4 } from "../protocol/ip.ts";

/** An IPv4 pool prefix. */
export type Pool4Cidr = Extract<Cidr, { family: 4 }>;
/** An IPv6 pool prefix. */
export type Pool6Cidr = Extract<Cidr, { family: 6 }>;

/** Where the new peer's addresses come from. */
export interface AddressPlan {
  pool: Pool4Cidr;
  pool6: Pool6Cidr | null;
  /** Peers already in the file. */
  peers: WgPeer[];
  /** Addresses live sessions hold now (text, as wg-info sends them). */
  inUse: ReadonlySet<string>;
}

/** Everything the client's wg-quick config holds. */
export interface ClientConfig {
  privateKey: string;
  addresses: Cidr[];
  dns: string[];
  searchDomains: string[];
  mtu: number;
  serverPublicKey: string;
  presharedKey: string;
  endpoint: { host: string; port: number };
  routes: Cidr[];
  /** Seconds (25 keeps NAT mappings open on mobile networks). */
  keepalive: number;
}

/** PersistentKeepalive of generated client configs. */
export const CLIENT_KEEPALIVE = 25;

function host4(a: number): Cidr {
  return { family: 4, address: a >>> 0, prefixLen: 32 };
}

function contains(c: Cidr, a: Cidr): boolean {
  if (c.family !== a.family || c.prefixLen > a.prefixLen) return false;
  if (c.family === 4 && a.family === 4) return ((a.address & prefixMask4(c.prefixLen)) >>> 0) === c.address;
  if (c.family !== 6 || a.family !== 6) return false;
  for (let bit = 0; bit < c.prefixLen; bit++) {
    const m = 0x80 >>> (bit & 7);
    if (((c.bytes[bit >>> 3] as number) & m) !== ((a.bytes[bit >>> 3] as number) & m)) return false;
  }
  return true;
}

/** Addresses a new peer may not have: peers' host routes and live sessions by text, wider AllowedIPs as prefixes. */
interface Taken {
  hosts: Set<string>;
  wide: Cidr[];
}

function hostText(a: Cidr): string {
  return a.family === 4 ? formatIpv4(a.address) : formatIpv6(a.bytes);
}

function takenSet(plan: AddressPlan): Taken {
  const t: Taken = { hosts: new Set(plan.inUse), wide: [] };
  for (const p of plan.peers) {
    for (const c of p.allowedIps) {
      if (c.prefixLen === (c.family === 4 ? 32 : 128)) t.hosts.add(hostText(c));
      else t.wide.push(c);
    }
  }
  return t;
}

function taken(a: Cidr, t: Taken): boolean {
  return t.hosts.has(hostText(a)) || t.wide.some((c) => contains(c, a));
}

/** Host range [first, last] a pool hands to clients (server = network + 1, broadcast excluded). */
export function poolRange(pool: Pool4Cidr): [number, number] {
  return [pool.address + 2, pool.address + 2 ** (32 - pool.prefixLen) - 2];
}

function paired6(pool: Pool4Cidr, pool6: Pool6Cidr, v4: number): Cidr {
  return { family: 6, bytes: new Pool6(pool6.bytes, pool6.prefixLen, 32 - pool.prefixLen).addressFor(v4), prefixLen: 128 };
}

/** The lowest free pool address (and its IPv6 pair when there is an IPv6 pool). */
export function nextFreeAddresses(plan: AddressPlan): Cidr[] {
  const [first, last] = poolRange(plan.pool);
  const t = takenSet(plan);
  for (let a = first; a <= last; a++) {
    if (taken(host4(a), t)) continue;
    const six = plan.pool6 ? paired6(plan.pool, plan.pool6, a) : null;
    if (six && taken(six, t)) continue;
    return six ? [host4(a), six] : [host4(a)];
  }
  throw new ConfigError("", `the pool ${formatCidr(plan.pool)} has no free address left; remove a peer or widen the pool`);
}

/** Checks the operator's `--address` choices (host routes inside the pools, free); adds the IPv6 pair if none was given. */
export function chosenAddresses(chosen: Cidr[], plan: AddressPlan): Cidr[] {
  const [first, last] = poolRange(plan.pool);
  const t = takenSet(plan);
  for (const c of chosen) {
    const text = formatCidr(c);
    if (c.prefixLen !== (c.family === 4 ? 32 : 128)) throw new ConfigError("", `--address ${text}: give one address (a /${c.family === 4 ? 32 : 128}), not a prefix`);
    if (c.family === 4 && !(contains(plan.pool, c) && c.address >= first && c.address <= last)) {
      throw new ConfigError("", `--address ${formatIpv4(c.address)} is not a client address of the pool ${formatCidr(plan.pool)} (${formatIpv4(first)}-${formatIpv4(last)})`);
    }
    if (c.family === 6 && !(plan.pool6 && contains(plan.pool6, c))) {
      throw new ConfigError("", `--address ${formatIpv6(c.bytes)} is outside the IPv6 pool${plan.pool6 ? ` ${formatCidr(plan.pool6)}` : " (the server has none)"}`);
    }
    if (taken(c, t)) throw new ConfigError("", `--address ${text.replace(/\/(32|128)$/, "")} is taken by another peer or a connected client`);
  }
  const v4 = chosen.find((c) => c.family === 4);
  if (plan.pool6 && v4?.family === 4 && !chosen.some((c) => c.family === 6)) {
    const six = paired6(plan.pool, plan.pool6, v4.address);
    if (!taken(six, t)) return [...chosen, six];
  }
  return chosen;
}

/** The client's complete wg-quick config (what the app imports or scans). */
export function renderClientConfig(c: ClientConfig): string {
  const iface = ["[Interface]", `PrivateKey = ${c.privateKey}`, `Address = ${c.addresses.map(formatCidr).join(", ")}`];
  const dns = [...c.dns, ...c.searchDomains];
  if (dns.length > 0) iface.push(`DNS = ${dns.join(", ")}`);
  iface.push(`MTU = ${c.mtu}`);
  const peer = [
    "[Peer]",
    `PublicKey = ${c.serverPublicKey}`,
    `PresharedKey = ${c.presharedKey}`,
    `Endpoint = ${formatEndpoint(c.endpoint.host, c.endpoint.port)}`,
    `AllowedIPs = ${c.routes.map(formatCidr).join(", ")}`,
    `PersistentKeepalive = ${c.keepalive}`,
  ];
  return `${iface.join("\n")}\n\n${peer.join("\n")}\n`;
}

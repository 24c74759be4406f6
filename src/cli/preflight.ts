/**
 * @module cli/preflight
 * Checks `warren server` makes on a validated config before it opens anything, each a
 * one-line ConfigError (exit 2) that names the setting the way the user gave it:
 *
 *   - `--max-clients` larger than the pool's client addresses (also on reload);
 *   - a pool holding an address of another interface of this host (read with
 *     node:os networkInterfaces() before the TUN exists): the TUN would silently take
 *     the prefix from it. A pool that only lies inside another interface's subnet is
 *     a warning: those hosts become unreachable from this server, which may be meant.
 *
 * The server's own TUN is skipped (a restart finds it holding the pool already).
 */

import type { NetworkInterfaceInfo } from "node:os";
import { got } from "../config/fields.ts";
import type { Label } from "../config/load.ts";
import { ConfigError } from "../lib/errors.ts";
import { type Cidr, formatCidr, formatIpv4, networkOf, parseIpv4Bytes, parseIpv6 } from "../protocol/ip.ts";
import { Pool4 } from "../server/pool.ts";

/** This host's interfaces, as node:os networkInterfaces() returns them. */
export type HostInterfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** An interface address that meets a pool. */
export interface PoolClash {
  iface: string;
  /** The interface's address and prefix, e.g. `10.8.0.1/24`. */
  cidr: string;
  /** True when the address lies inside the pool (refused); false when its subnet covers the pool (a warning). */
  inside: boolean;
}

/** How a preflight message names settings: loadSettings' label and given. */
export interface Naming {
  label: Label;
  given(path: string): unknown;
}

function poolBytes(pool: Cidr): Uint8Array {
  return pool.family === 4 ? (parseIpv4Bytes(formatIpv4(pool.address)) as Uint8Array) : pool.bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Addresses of interfaces other than `ownTun` that meet `pool`, in interface order. */
export function poolClashes(pool: Cidr, interfaces: HostInterfaces, ownTun: string): PoolClash[] {
  const net = poolBytes(pool);
  const out: PoolClash[] = [];
  for (const [iface, addrs] of Object.entries(interfaces)) {
    if (iface === ownTun || addrs === undefined) continue;
    for (const a of addrs) {
      const bytes = a.family === "IPv4" ? parseIpv4Bytes(a.address) : parseIpv6(a.address.replace(/%.*$/, ""));
      const len = Number(a.cidr?.split("/")[1]);
      if (bytes === null || bytes.length !== net.length || !Number.isInteger(len)) continue;
      const inside = sameBytes(networkOf(bytes, pool.prefixLen), net);
      const covers = !inside && len < pool.prefixLen && sameBytes(networkOf(net, len), networkOf(bytes, len));
      if (inside || covers) out.push({ iface, cidr: `${a.address}/${len}`, inside });
    }
  }
  return out;
}

/** Throws when --max-clients exceeds the pool's client addresses (0 = all of them). */
export function checkMaxClients(cfg: { pool: Cidr & { family: 4 }; maxClients: number }, names: Naming): void {
  const capacity = new Pool4(cfg.pool.address, cfg.pool.prefixLen).capacity;
  if (cfg.maxClients <= capacity) return;
  const reason = `the pool ${formatCidr(cfg.pool)} has ${capacity} client addresses: use at most ${capacity}, or 0 for all${got(names.given("maxClients"))}`;
  throw new ConfigError("maxClients", reason, names.label("maxClients"));
}

/**
 * Throws for the first pool (pool, then pool6) that holds another interface's address;
 * returns warnings for pools that lie inside another interface's subnet.
 */
export function checkPools(cfg: { pool: Cidr; pool6?: Cidr | undefined; tun: string }, interfaces: HostInterfaces, names: Naming): string[] {
  const warnings: string[] = [];
  for (const [key, pool] of [["pool", cfg.pool], ["pool6", cfg.pool6]] as const) {
    if (pool === undefined) continue;
    const clashes = poolClashes(pool, interfaces, cfg.tun);
    const hit = clashes.find((c) => c.inside);
    if (hit) {
      const reason = `overlaps ${hit.cidr} on interface ${hit.iface}; pick a free range${got(names.given(key) ?? formatCidr(pool))}`;
      throw new ConfigError(key, reason, names.label(key));
    }
    for (const c of clashes) {
      warnings.push(`${names.label(key)}: ${formatCidr(pool)} lies inside ${c.cidr} on ${c.iface}: hosts of ${formatCidr(pool)} there are unreachable from this server`);
    }
  }
  return warnings;
}

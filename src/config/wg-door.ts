/**
 * @module config/wg-door
 * From the `wg` settings and the peers file to what the WireGuard door runs with: each
 * peer's tunnel addresses checked against the pools. A peer's AllowedIPs must be its own
 * host addresses: one IPv4 /32 among the pool's client addresses, and (with an IPv6 pool)
 * at most the /128 paired with it, as every client's IPv6 address is. Wider prefixes
 * (a network behind a peer) are not routed by warren and are refused with a line saying so.
 */

import { ConfigError } from "../lib/errors.ts";
import { type Cidr, formatCidr, formatIpv4, formatIpv6 } from "../protocol/ip.ts";
import type { WgPeerSpec } from "../server/doors/wireguard/peers.ts";
import { Pool4 } from "../server/pool.ts";
import { Pool6 } from "../server/pool6.ts";
import type { WgPeer } from "./wg-peers.ts";

/** The pools peers' addresses come from. */
export interface PeerPools {
  pool: { address: number; prefixLen: number };
  pool6?: { bytes: Uint8Array; prefixLen: number } | undefined;
}

/** The door's peer specs; throws ConfigError (`wg.peers`) naming `file:line` of the first bad peer. */
export function toPeerSpecs(peers: readonly WgPeer[], pools: PeerPools, file: string): WgPeerSpec[] {
  const p4 = new Pool4(pools.pool.address, pools.pool.prefixLen);
  const p6 = pools.pool6 ? new Pool6(pools.pool6.bytes, pools.pool6.prefixLen, 32 - pools.pool.prefixLen) : null;
  return peers.map((peer) => {
    const fail = (why: string): never => {
      throw new ConfigError("wg.peers", `${file}:${peer.line}: ${peer.name ?? "peer"}: ${why}`);
    };
    const addr4 = peerAddress4(peer.allowedIps, p4, fail);
    checkAddress6(peer.allowedIps, addr4, p6, fail);
    return { name: peer.name, publicKey: peer.publicKey, presharedKey: peer.presharedKey, addr4, persistentKeepalive: peer.persistentKeepalive };
  });
}

function peerAddress4(ips: readonly Cidr[], pool: Pool4, fail: (why: string) => never): number {
  const v4 = ips.filter((c) => c.family === 4);
  if (v4.length !== 1) fail(`AllowedIPs needs exactly one IPv4 address from the pool ${formatCidr({ family: 4, address: pool.network, prefixLen: pool.prefixLen })}, got ${v4.length}`);
  const c = v4[0] as Cidr & { family: 4 };
  if (c.prefixLen !== 32) fail(`AllowedIPs ${formatCidr(c)} is wider than one address: warren routes a peer's own tunnel address only (a /32)`);
  if (!pool.isClientAddress(c.address)) fail(`AllowedIPs ${formatIpv4(c.address)} is not a client address of the pool ${formatCidr({ family: 4, address: pool.network, prefixLen: pool.prefixLen })}`);
  return c.address;
}

function checkAddress6(ips: readonly Cidr[], addr4: number, pool6: Pool6 | null, fail: (why: string) => never): void {
  const v6 = ips.filter((c) => c.family === 6);
  if (v6.length === 0) return;
  if (pool6 === null) fail(`AllowedIPs ${formatCidr(v6[0] as Cidr)}: this server has no IPv6 pool (--pool6)`);
  const want = formatIpv6((pool6 as Pool6).addressFor(addr4));
  for (const c of v6) {
    if (c.family !== 6 || c.prefixLen !== 128 || formatIpv6(c.bytes) !== want) {
      fail(`AllowedIPs ${formatCidr(c)}: the IPv6 address of ${formatIpv4(addr4)} is ${want}/128 (paired with the IPv4 address)`);
    }
  }
}

/**
 * @module cli/wg-show
 * `warren wg show` output, laid out as `wg show` lays out an interface (same lines, same
 * time and byte wording, peers with the latest handshake first) plus each peer's name.
 * Without a running server it lists the peers file with no live columns.
 *
 * Pure: results in, text out; `nowS` is passed in.
 */

import { keyToBase64 } from "../crypto/x25519.ts";
import { formatCidr } from "../protocol/ip.ts";
import type { WgPeer } from "../config/wg-peers.ts";
import type { WgShow, WgShowPeer } from "./wg-control.ts";

const UNITS: [string, number][] = [
  ["year", 365 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** `1 minute, 5 seconds` as wg's pretty_time writes a duration in seconds. */
export function prettyTime(seconds: number): string {
  let left = Math.floor(seconds);
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const n = Math.floor(left / size);
    left %= size;
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? "" : "s"}`);
  }
  return parts.join(", ");
}

/** `Now`, or `1 minute, 5 seconds ago`, for a unix time in seconds. */
export function ago(thenS: number, nowS: number): string {
  if (thenS === nowS) return "Now";
  if (thenS > nowS) return "(System clock wound backward; connection problems may ensue.)";
  return `${prettyTime(nowS - thenS)} ago`;
}

/** `512 B`, `1.20 KiB`, `3.40 MiB` ... as wg shows transfer counts. */
export function wgBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  for (let i = 0; i < units.length; i++) {
    if (n < 1024 ** (i + 2)) return `${(n / 1024 ** (i + 1)).toFixed(2)} ${units[i]}`;
  }
  return `${(n / 1024 ** 4).toFixed(2)} TiB`;
}

function peerBlock(p: WgShowPeer, nowS: number): string[] {
  const lines = [`peer: ${p.publicKey}`];
  if (p.name !== null) lines.push(`  name: ${p.name}`);
  if (p.presharedKey) lines.push("  preshared key: (hidden)");
  if (p.endpoint !== null) lines.push(`  endpoint: ${p.endpoint}`);
  lines.push(`  allowed ips: ${p.allowedIps.length > 0 ? p.allowedIps.join(", ") : "(none)"}`);
  if (p.latestHandshake > 0) lines.push(`  latest handshake: ${ago(p.latestHandshake, nowS)}`);
  if (p.rxBytes > 0 || p.txBytes > 0) lines.push(`  transfer: ${wgBytes(p.rxBytes)} received, ${wgBytes(p.txBytes)} sent`);
  if (p.persistentKeepalive !== null) lines.push(`  persistent keepalive: every ${prettyTime(p.persistentKeepalive)}`);
  return lines;
}

/** The running server's peers, `wg show` style. */
export function formatShow(r: WgShow, nowS: number): string {
  const head = [`interface: ${r.interface}`, `  public key: ${r.publicKey}`, "  private key: (hidden)", `  listening port: ${r.listenPort}`];
  const peers = [...r.peers].sort((a, b) => b.latestHandshake - a.latestHandshake);
  return [head, ...peers.map((p) => peerBlock(p, nowS))].map((block) => block.join("\n")).join("\n\n") + "\n";
}

/** A peers-file peer as a wg-show peer with no live data. */
export function offlinePeer(p: WgPeer): WgShowPeer {
  return {
    publicKey: keyToBase64(p.publicKey),
    name: p.name,
    presharedKey: p.presharedKey !== null,
    endpoint: null,
    allowedIps: p.allowedIps.map(formatCidr),
    latestHandshake: 0,
    rxBytes: 0,
    txBytes: 0,
    persistentKeepalive: p.persistentKeepalive,
  };
}

/** The peers file's peers when no server runs: a header naming the file, then the peer blocks. */
export function formatOffline(file: string, peers: WgPeer[]): string {
  const head = [`peers file: ${file}`, "  (no server running: no endpoints, handshakes or transfer)"];
  return [head, ...peers.map((p) => peerBlock(offlinePeer(p), 0))].map((block) => block.join("\n")).join("\n\n") + "\n";
}

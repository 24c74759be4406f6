/**
 * @module cli/format
 * Text for `warren status` and `warren clients`, from a snapshot. Pure (the current
 * time comes with the snapshot), so the layout is unit-tested.
 */

import type { ClientInfo, Snapshot } from "../admin/snapshot.ts";

/** `1.5 KiB`, `12 B`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** `3d 4h`, `2h 5m`, `4m 10s`, `7s`. */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** `2026-11-22 05:03:51 UTC`. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "")} UTC`;
}

function nonZero(counts: Record<string, number>): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  return parts.length ? parts.join(", ") : "none";
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Aligned `  key   value` lines. */
function block(rows: Array<[string, string]>, indent = "  "): string[] {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}`);
}

/** `warren status`: the server, then one short block per client (like `wg show`). */
export function formatStatus(snap: Snapshot): string {
  const st = snap.status;
  const t = st.totals;
  const lines = [
    `${st.version}, pid ${st.pid}`,
    ...block([
      ["uptime", `${formatDuration(st.uptimeSec)} (since ${formatTime(st.startedAt)})`],
      ["listen", `udp ${st.listen}`],
      ["tun", `${st.tun}, mtu ${st.mtu}`],
      ["pool", `${st.pool.prefix}: ${st.pool.used} / ${st.pool.total} used${st.pool6 ? `; IPv6 ${st.pool6}` : ""}`],
      ["sessions", `${st.sessions}${st.settings.maxClients > 0 ? ` (max ${st.settings.maxClients})` : ""}`],
      ["traffic", `in ${formatBytes(t.rxBytes)} (${t.rxPackets} packets), out ${formatBytes(t.txBytes)} (${t.txPackets} packets), hub ${t.hubPackets} packets`],
      ["handshakes", `${st.handshakes.ok} ok, ${st.handshakes.rejected} rejected, ${st.handshakes.refused} refused, ${st.handshakes.duplicate} duplicate`],
      ["drops", nonZero(st.drops)],
      ...(st.doorDrops && sum(st.doorDrops) > 0 ? [["door drops", nonZero(st.doorDrops)] as [string, string]] : []),
      ["settings", `idle timeout ${st.settings.idleTimeout} s, isolate ${st.settings.isolate ? "on" : "off"}, log level ${st.settings.logLevel}`],
      ["log", st.log.file ? `${st.log.file} (${formatBytes(st.log.size ?? 0)})` : "stderr"],
      ["capture", st.capture.active || st.capture.droppedPackets ? `${st.capture.active} running, ${st.capture.droppedPackets} packets dropped` : "off"],
      ["metrics", st.metrics ? `http://${st.metrics}/` : "off"],
      ["control", st.controlSocket ?? "off"],
      ...(st.dataPath ? [["data path", dataPathText(st.dataPath)] as [string, string]] : []),
    ]),
  ];
  for (const c of snap.clients) {
    lines.push("", `client ${c.id}`, ...block(clientRows(c, snap.time)));
  }
  return lines.join("\n");
}

function dataPathText(d: { name: string; handoffs: number; handoffDrops: number }): string {
  if (d.name === "simple") return "simple";
  return `${d.name}; ${d.handoffs} packets handed to the main thread${d.handoffDrops > 0 ? `, ${d.handoffDrops} dropped (queue full)` : ""}`;
}

function clientRows(c: ClientInfo, now: number): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ["endpoint", c.endpoint],
    ["address", c.address6 ? `${c.address}, ${c.address6}` : c.address],
  ];
  if (c.user !== null) rows.push(["user", c.user]);
  rows.push(
    ["protocol", c.protocol],
    ["connected", `${formatDuration((now - c.connectedAt) / 1000)} ago; last seen ${lastSeen(c, now)}`],
    ["transfer", `${formatBytes(c.rxBytes)} in (${c.rxPackets} packets), ${formatBytes(c.txBytes)} out (${c.txPackets} packets)`],
  );
  if (sum(c.drops) > 0) rows.push(["drops", nonZero(c.drops)]);
  if (c.capture) rows.push(["capture", c.capture]);
  return rows;
}

/** `4s ago`, or `1m 5s ago (idle)` for a session snapshot.ts counts as idle. */
function lastSeen(c: ClientInfo, now: number): string {
  return `${formatDuration((now - c.lastSeen) / 1000)} ago${c.idle ? " (idle)" : ""}`;
}

const COLUMNS = ["ID", "PROTO", "ENDPOINT", "ADDRESS", "CONNECTED", "LAST SEEN", "IN PKTS", "IN BYTES", "OUT PKTS", "OUT BYTES", "DROPS"] as const;
/** Right-aligned (numeric) columns. */
const RIGHT = new Set<string>(["IN PKTS", "IN BYTES", "OUT PKTS", "OUT BYTES", "DROPS"]);

/**
 * `warren clients`: one row per client, sorted by tunnel address, columns as wide as needed.
 * PROTO is the front door (toyvpn, wireguard); LAST SEEN says `(idle)` for an idle session.
 * A USER column appears when any client logged in as a user or with a token.
 */
export function formatClients(snap: Snapshot): string {
  if (snap.clients.length === 0) return "no clients connected";
  const withUser = snap.clients.some((c) => c.user !== null);
  const columns: readonly string[] = withUser ? ["ID", "USER", ...COLUMNS.slice(1)] : COLUMNS;
  const rows = snap.clients.map((c) => [
    c.id,
    ...(withUser ? [c.user ?? "-"] : []),
    c.protocol,
    c.endpoint,
    c.address6 ? `${c.address} ${c.address6}` : c.address,
    `${formatDuration((snap.time - c.connectedAt) / 1000)} ago`,
    lastSeen(c, snap.time),
    String(c.rxPackets),
    formatBytes(c.rxBytes),
    String(c.txPackets),
    formatBytes(c.txBytes),
    String(sum(c.drops)),
  ]);
  const widths = columns.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (RIGHT.has(columns[i] ?? "") ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
  return [line(columns), ...rows.map(line)].join("\n");
}

/**
 * @module admin/metrics
 * The Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/) from a snapshot.
 * Pure: snapshot in, text out. Every family has `# HELP` and `# TYPE`; counters end in
 * `_total`; label values are escaped (backslash, double quote, newline).
 *
 * Per-client series carry `client="<id>"` (device id, else #serial) and vanish when
 * the client disconnects; the `warren_server_*` counters keep the totals. Who a client
 * is (address, endpoint, user, protocol) is one `warren_client_info{...} 1` series to
 * join on `client`, not labels on every counter. The standard `process_*` metrics
 * (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics) come
 * from the snapshot's process stats. `promtool check metrics` finds nothing to lint.
 */

import { COMMIT, VERSION } from "../lib/version.ts";
import type { Snapshot } from "./snapshot.ts";

/** Content-Type of the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value. */
export function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes HELP text. */
export function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

type Labels = Record<string, string>;

/** Builds the text one family at a time. */
class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string, samples: Array<[Labels, number]>): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
      this.#lines.push(`${name}${l ? `{${l}}` : ""} ${formatValue(value)}`);
    }
  }

  text(): string {
    return `${this.#lines.join("\n")}\n`;
  }
}

/** A sample value: integers as such, NaN/Inf in Prometheus spelling. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** The whole /metrics body for one snapshot. */
export function metricsText(snap: Snapshot): string {
  const st = snap.status;
  const e = new Exposition();
  const one = (v: number): Array<[Labels, number]> => [[{}, v]];
  const perClient = (f: (c: Snapshot["clients"][number]) => number): Array<[Labels, number]> => snap.clients.map((c) => [{ client: c.id }, f(c)]);

  const build = st.build ?? { version: VERSION, revision: COMMIT };
  e.family("warren_build_info", "gauge", "Version and git revision of the running warren (always 1).", [[{ version: build.version, revision: build.revision }, 1]]);
  e.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.", one(st.startedAt / 1000));
  processFamilies(e, st.process);
  e.family("warren_sessions", "gauge", "Connected clients.", one(st.sessions));
  e.family("warren_pool_addresses", "gauge", "Client addresses in the IPv4 pool.", one(st.pool.total));
  e.family("warren_pool_used", "gauge", "IPv4 pool addresses leased to clients.", one(st.pool.used));
  e.family("warren_receive_bytes_total", "counter", "Bytes received from a client (IP packets delivered).", perClient((c) => c.rxBytes));
  e.family("warren_receive_packets_total", "counter", "Packets received from a client (delivered).", perClient((c) => c.rxPackets));
  e.family("warren_transmit_bytes_total", "counter", "Bytes sent to a client.", perClient((c) => c.txBytes));
  e.family("warren_transmit_packets_total", "counter", "Packets sent to a client.", perClient((c) => c.txPackets));
  e.family(
    "warren_client_drops_total",
    "counter",
    "Packets of a client dropped, by reason (reasons with a count only).",
    snap.clients.flatMap((c) => Object.entries(c.drops).filter(([, n]) => n > 0).map(([reason, n]): [Labels, number] => [{ client: c.id, reason }, n])),
  );
  e.family(
    "warren_client_info",
    "gauge",
    "A connected client: tunnel address, UDP endpoint, user and protocol (always 1).",
    snap.clients.map((c) => [{ client: c.id, address: c.address, endpoint: c.endpoint, user: c.user ?? "", protocol: c.protocol }, 1]),
  );
  e.family("warren_client_last_seen_timestamp_seconds", "gauge", "When a client last sent anything, since the Unix epoch in seconds.", perClient((c) => c.lastSeen / 1000));
  e.family("warren_server_receive_bytes_total", "counter", "Bytes received from all clients since start.", one(st.totals.rxBytes));
  e.family("warren_server_receive_packets_total", "counter", "Packets received from all clients since start.", one(st.totals.rxPackets));
  e.family("warren_server_transmit_bytes_total", "counter", "Bytes sent to all clients since start.", one(st.totals.txBytes));
  e.family("warren_server_transmit_packets_total", "counter", "Packets sent to all clients since start.", one(st.totals.txPackets));
  e.family("warren_hub_packets_total", "counter", "Client-to-client packets forwarded in userspace.", one(st.totals.hubPackets));
  e.family("warren_keepalives_total", "counter", "Keepalives answered.", one(st.totals.keepalives));
  e.family("warren_junk_datagrams_total", "counter", "Datagrams that were not ToyVpn at all.", one(st.totals.junk));
  e.family("warren_drops_total", "counter", "Packets dropped, by reason.", Object.entries(st.drops).map(([reason, n]) => [{ reason }, n]));
  e.family("warren_handshakes_total", "counter", "Handshakes, by result.", Object.entries(st.handshakes).map(([result, n]) => [{ result }, n]));
  e.family(
    "warren_door_drops_total",
    "counter",
    "Datagrams a front door dropped without an answer, by protocol and reason (WireGuard: mac1, replay, decrypt, unknown-index, ...).",
    Object.entries(st.doorDrops ?? {}).map(([key, n]): [Labels, number] => {
      const colon = key.indexOf(":");
      return [{ protocol: colon < 0 ? "" : key.slice(0, colon), reason: key.slice(colon + 1) }, n];
    }),
  );
  e.family("warren_handshake_rejections_total", "counter", "Handshakes rejected or limited, by reason.", Object.entries(st.rejections).map(([reason, n]) => [{ reason }, n]));
  dataPathFamilies(e, st.dataPath);
  e.family("warren_captures", "gauge", "Running packet captures.", one(st.capture.active));
  e.family("warren_capture_dropped_packets_total", "counter", "Packets a capture could not buffer.", one(st.capture.droppedPackets));
  return e.text();
}

/**
 * Which data path moves packets (`warren_data_path_info{path="fast (2 workers, ...)"} 1`) and
 * the fast path's hand-overs to the main thread: packets of sessions its workers do not
 * serve (WireGuard, capture) and the drops of a full hand-over queue, which should stay 0.
 */
function dataPathFamilies(e: Exposition, d: Snapshot["status"]["dataPath"]): void {
  if (d === undefined) return;
  e.family("warren_data_path_info", "gauge", "The data path in use (always 1).", [[{ path: d.name }, 1]]);
  e.family("warren_data_path_handoffs_total", "counter", "Packets the fast data path's workers handed to the main thread.", [[{}, d.handoffs]]);
  e.family("warren_data_path_handoff_drops_total", "counter", "Packets the fast data path dropped because the hand-over queue to the main thread was full.", [[{}, d.handoffDrops]]);
}

/** process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, process_max_fds (those known). */
function processFamilies(e: Exposition, p: Snapshot["status"]["process"]): void {
  if (p === undefined) return;
  e.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", [[{}, p.cpuSeconds]]);
  e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [[{}, p.residentBytes]]);
  if (p.openFds !== null) e.family("process_open_fds", "gauge", "Number of open file descriptors.", [[{}, p.openFds]]);
  if (p.maxFds !== null) e.family("process_max_fds", "gauge", "Maximum number of open file descriptors.", [[{}, p.maxFds]]);
}

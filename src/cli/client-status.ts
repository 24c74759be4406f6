/**
 * @module cli/client-status
 * `warren client status`: asks running clients over their control sockets
 * (admin/client-control.ts) and prints what they say. Which client: the one named by
 * `--control-socket`, `--tun` or a config file (`-c`, as `warren client` reads it);
 * with none of these, every client of this network namespace whose socket is in the
 * state folder. The text layout is pure (formatClientStatus) and unit-tested.
 */

import { type ClientStatus, requestClientStatus } from "../admin/client-control.ts";
import { ClientConfigSchema } from "../config/client-schema.ts";
import { loadConfig } from "../config/load.ts";
import { ConfigError, oneLine, WarrenError } from "../lib/errors.ts";
import { clientSocketPath, clientSockets, netnsId } from "../platform/linux/client-state.ts";
import { type OptionSpec, parseCommand } from "./args.ts";
import { formatBytes, formatDuration, formatTime } from "./format.ts";

/** Help text of `warren client status`. */
export const CLIENT_STATUS_HELP = `usage: warren client status [--tun NAME | -c FILE | --control-socket PATH] [--json]

Shows a running warren client: its state (connecting, up, or retrying, with the
last error), the server, the pushed addresses, the routes it added, DNS, the last
handshake and the traffic. Asks the client's control socket, so run it in the
client's network namespace, as root (the socket is 0600).

options:
  -c, --config FILE        the client's config file: its tun and stateDir
      --tun NAME           the client on this TUN                  every client
      --state-dir DIR      where the clients keep their files      /run/warren
      --control-socket PATH  ask the client listening there
      --json               the status as JSON (one object for a named client, a
                           list without --tun, -c or --control-socket)
  -h, --help               this text

examples:
  warren client status
  warren client status --tun warren1 --json
  warren client status -c /etc/warren/client-office.json`;

const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  tun: { type: "string" },
  "state-dir": { type: "string", key: "stateDir" },
  "control-socket": { type: "string", key: "controlSocket" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Where to ask: one named socket, or every client of this namespace in a folder; and how to print. */
type Target = ({ one: string } | { every: string }) & { json: boolean };

function targetOf(argv: string[], env: Record<string, string | undefined>): Target | "help" {
  const { values, positionals, names } = parseCommand(argv, OPTIONS, "client status");
  if (values.help) return "help";
  const json = values.json === true;
  if (positionals.length > 0) throw new ConfigError("", `unexpected argument ${JSON.stringify(positionals[0])} (see warren client status --help)`);
  const named = values.tun !== undefined || values.config !== undefined;
  const { help: _h, json: _j, ...settings } = values;
  const cfg = loadConfig(ClientConfigSchema, settings, env, {}, names);
  if (cfg.controlSocket === null) throw new ConfigError("controlSocket", '"none" means no control socket, and status needs one', names.controlSocket ?? "--control-socket");
  if (cfg.controlSocket !== undefined) return { one: cfg.controlSocket, json };
  return named ? { one: clientSocketPath(cfg.stateDir, cfg.tun, netnsId()), json } : { every: cfg.stateDir, json };
}

/** Where status output goes: stdout and stderr lines (tests capture them). */
export interface StatusIo {
  out(line: string): void;
  err(line: string): void;
}

const CONSOLE: StatusIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Runs `warren client status ARGS`; prints to `io.out`, a client that does not answer to `io.err`. */
export async function runClientStatus(argv: string[], env: Record<string, string | undefined>, io: StatusIo = CONSOLE): Promise<number> {
  const target = targetOf(argv, env);
  if (target === "help") {
    io.out(CLIENT_STATUS_HELP);
    return 0;
  }
  const json = target.json;
  if ("one" in target) {
    const st = await requestClientStatus(target.one);
    io.out(json ? JSON.stringify(st, null, 2) : formatClientStatus(st));
    return 0;
  }
  const sockets = clientSockets(target.every, netnsId());
  if (sockets.length === 0) {
    throw new WarrenError("ERR_NO_SERVER", `no warren client is running in this network namespace (no client control socket in ${target.every}; see --state-dir, --tun)`);
  }
  const found: ClientStatus[] = [];
  for (const s of sockets) {
    try {
      found.push(await requestClientStatus(s.path));
    } catch (e) {
      io.err(`warren: client on ${s.tun}: ${oneLine(e)}`);
    }
  }
  if (found.length === 0) return 1;
  io.out(json ? JSON.stringify(found, null, 2) : found.map(formatClientStatus).join("\n\n"));
  return 0;
}

/** `12s ago`. */
const ago = (ms: number, now: number) => `${formatDuration((now - ms) / 1000)} ago`;

/** The header: `client warren1 (pid 4242): up`, `...: retrying in 4s`. */
function headline(st: ClientStatus): string {
  const state = st.state === "retrying" && st.retryAt !== null ? `retrying in ${formatDuration(Math.max(0, st.retryAt - st.time) / 1000)}` : st.state;
  return `client ${st.tun} (pid ${st.pid}): ${state}`;
}

/** `warren client status`: a header line, then aligned `  key  value` rows (as `warren status`). */
export function formatClientStatus(st: ClientStatus): string {
  const named = st.serverAddress !== null && !st.server.includes(st.serverAddress);
  const rows: Array<[string, string]> = [["server", named ? `${st.server} (${st.serverAddress})` : st.server]];
  if (st.addresses.length > 0) rows.push(["address", `${st.addresses.join(", ")}, mtu ${st.mtu ?? "?"}`]);
  const [first, ...more] = st.routes;
  rows.push(["routes", first ?? "none added"], ...more.map((r): [string, string] => ["", r]));
  if (st.dns.servers.length + st.dns.search.length > 0) {
    const search = st.dns.search.length > 0 ? ` search ${st.dns.search.join(" ")}` : "";
    rows.push(["dns", `${st.dns.servers.join(" ") || "-"}${search} (${st.dns.applied ? "in resolv.conf" : "shown only"})`]);
  }
  if (st.upSince !== null) rows.push(["up since", `${formatTime(st.upSince)} (${ago(st.upSince, st.time)})`]);
  const reconnects = `${st.reconnects} reconnect${st.reconnects === 1 ? "" : "s"}`;
  rows.push(["handshake", `${st.lastHandshake === null ? "none yet" : ago(st.lastHandshake, st.time)} (${st.handshakes} sent, ${reconnects})`]);
  const t = st.transfer;
  rows.push(["transfer", `${formatBytes(t.rxBytes)} in (${t.rxPackets} packets), ${formatBytes(t.txBytes)} out (${t.txPackets} packets)`]);
  const d = st.dropped;
  const drops = [d.ipv6 > 0 ? `${d.ipv6} IPv6 (no IPv6 address pushed)` : "", d.whileDown > 0 ? `${d.whileDown} while down` : "", d.junk > 0 ? `${d.junk} junk from the server` : ""];
  if (drops.some((x) => x !== "")) rows.push(["dropped", drops.filter((x) => x !== "").join(", ")]);
  if (st.lastError !== null) rows.push(["last error", `${st.lastError.message} (${ago(st.lastError.at, st.time)})`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return [headline(st), ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join("\n");
}

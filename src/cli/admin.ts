/**
 * @module cli/admin
 * The operator's commands, each one request over the running server's control socket
 * (admin/control-client.ts): status, clients, kick, set, get, reload, capture.
 * Every command takes `--control-socket PATH` (env WARREN_CONTROL_SOCKET, default
 * /run/warren/warren.sock). Output goes to stdout; errors are one line (main.ts).
 */

import { resolve } from "node:path";
import { controlRequest } from "../admin/control-client.ts";
import { SETTING_KEYS, type SettingKey } from "../admin/control-protocol.ts";
import { parseSize } from "../config/fields.ts";
import { DEFAULT_CONTROL_SOCKET } from "../config/ops-schema.ts";
import { parseTtl } from "../auth/tokens.ts";
import { ConfigError } from "../lib/errors.ts";
import { parseCommand, type OptionSpec } from "./args.ts";
import { formatBytes, formatClients, formatStatus } from "./format.ts";

/** Commands this module runs. */
export const ADMIN_COMMANDS = ["status", "clients", "kick", "set", "get", "reload", "capture"] as const;
/** One of ADMIN_COMMANDS. */
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

/** Help text of the admin commands (also in `warren --help`). */
export const ADMIN_HELP = `usage: warren <command> [--control-socket PATH] ...

commands that talk to a running server (as root, over its control socket):
  status [--json]               server summary and one block per client (like wg show)
  clients [--json]              table of connected clients with counters
  kick [--all] [--ban DURATION] <client>
                                end a client's session now (its address returns to the
                                pool). The app reconnects at once: kick alone is a reset;
                                --ban 10m keeps the device (or, without a device id, its
                                address) out for that long (s, m, h, d);
                                --all: every session the selector names (one rule only)
  get <key>                     show a setting
  set <key> <value>             change a setting now; keys: ${SETTING_KEYS.join(", ")}
                                (secret: new handshakes only; "-" reads it from stdin)
  reload                        re-read the --config file and apply what can change
                                live (same as SIGHUP); says what needs a restart
  capture start <client> [--file PATH] [--max-bytes SIZE]
                                write the client's packets to a pcap file
  capture stop <client>         stop that capture

  --control-socket PATH   env WARREN_CONTROL_SOCKET, default ${DEFAULT_CONTROL_SOCKET}
A <client> is named explicitly by  id:NAME  (device id or label),  #N  (serial),
addr:ADDRESS  (tunnel address) or  endpoint:HOST[:PORT]  (UDP endpoint); a bare
phone1, 10.8.0.2 or 198.51.100.7:40001 is accepted when it names one client by
one meaning only (else: ERR_AMBIGUOUS, listing the matches).`;

const COMMON: OptionSpec = {
  "control-socket": { type: "string", key: "controlSocket" },
  json: { type: "boolean" },
  all: { type: "boolean" },
  file: { type: "string" },
  "max-bytes": { type: "string", key: "maxBytes" },
  ban: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Which flags each command accepts beyond --control-socket and --help. */
const EXTRA: Record<AdminCommand, string[]> = {
  status: ["json"],
  clients: ["json"],
  kick: ["all", "ban"],
  set: [],
  get: [],
  reload: [],
  capture: ["file", "maxBytes"],
};

/** Output sink (tests capture it). */
export type Out = (text: string) => void;

/** Is `cmd` one of the admin commands? */
export function isAdminCommand(cmd: string | undefined): cmd is AdminCommand {
  return (ADMIN_COMMANDS as readonly string[]).includes(cmd ?? "");
}

/** The socket path: flag, else WARREN_CONTROL_SOCKET, else the default. */
export function socketPath(flag: unknown, env: Record<string, string | undefined>): string {
  return typeof flag === "string" && flag !== "" ? flag : env.WARREN_CONTROL_SOCKET || DEFAULT_CONTROL_SOCKET;
}

function settingKey(k: string | undefined): SettingKey {
  if (k === undefined) throw new ConfigError("", `a setting is required: ${SETTING_KEYS.join(", ")}`);
  if (!(SETTING_KEYS as readonly string[]).includes(k)) throw new ConfigError("", `unknown setting ${JSON.stringify(k)}; one of ${SETTING_KEYS.join(", ")}`);
  return k as SettingKey;
}

function arity(cmd: string, pos: string[], n: number, what: string): void {
  if (pos.length < n) throw new ConfigError("", `${cmd}: ${what} is required`);
  if (pos.length > n) throw new ConfigError("", `${cmd}: unexpected argument ${JSON.stringify(pos[n])}`);
}

async function readStdin(): Promise<string> {
  return (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, "");
}

/** Runs one admin command; returns the exit status. */
export async function runAdmin(cmd: AdminCommand, argv: string[], env = process.env, out: Out = (t) => process.stdout.write(`${t}\n`)): Promise<number> {
  const { values, positionals } = parseCommand(argv, COMMON);
  if (values.help) {
    out(ADMIN_HELP);
    return 0;
  }
  for (const k of ["json", "all", "file", "maxBytes", "ban"]) {
    if (values[k] !== undefined && !EXTRA[cmd].includes(k)) throw new ConfigError("", `${cmd}: unknown option --${k === "maxBytes" ? "max-bytes" : k}`);
  }
  const path = socketPath(values.controlSocket, env);
  switch (cmd) {
    case "status":
    case "clients": {
      arity(cmd, positionals, 0, "");
      const snap = await controlRequest(path, { cmd: "snapshot" });
      if (values.json) out(JSON.stringify(cmd === "clients" ? snap.clients : snap, null, 2));
      else out(cmd === "status" ? formatStatus(snap) : formatClients(snap));
      return 0;
    }
    case "kick": {
      arity(cmd, positionals, 1, "a client (id:NAME, #N, addr:ADDRESS or endpoint:HOST[:PORT])");
      const banSec = values.ban === undefined ? undefined : parseTtl(String(values.ban));
      if (banSec === null) throw new ConfigError("", `--ban: expected a duration like 90s, 10m, 2h or 1d, got ${JSON.stringify(values.ban)}`);
      const req = { cmd: "kick" as const, target: positionals[0] as string, ...(values.all ? { all: true } : {}), ...(banSec !== undefined ? { banSec } : {}) };
      const r = await controlRequest(path, req);
      for (const k of r.kicked) out(`kicked ${k.id} (${k.address})${r.banSec ? `, banned for ${r.banSec} s` : ""}`);
      return 0;
    }
    case "get": {
      arity(cmd, positionals, 1, "a setting");
      const r = await controlRequest(path, { cmd: "get", key: settingKey(positionals[0]) });
      out(r.value);
      return 0;
    }
    case "set": {
      arity(cmd, positionals, 2, "a setting and a value");
      const key = settingKey(positionals[0]);
      const value = positionals[1] === "-" ? await readStdin() : (positionals[1] as string);
      const r = await controlRequest(path, { cmd: "set", key, value });
      out(key === "secret" ? "secret changed (new handshakes only; sessions stay up)" : `${r.key}: ${r.previous} -> ${r.value}`);
      return 0;
    }
    case "reload": {
      arity(cmd, positionals, 0, "");
      const r = await controlRequest(path, { cmd: "reload" });
      out(`reloaded${r.file ? ` ${r.file}` : " (no --config file: environment and flags only)"}`);
      if (r.changed.length === 0) out("  nothing changed that can be applied live");
      for (const c of r.changed) out(`  ${c.key}: ${c.from} -> ${c.to}`);
      if (r.restart.length > 0) out(`  needs a restart to change: ${r.restart.join(", ")}`);
      return 0;
    }
    case "capture":
      return capture(positionals, values, path, out);
  }
}

async function capture(pos: string[], values: Record<string, unknown>, path: string, out: Out): Promise<number> {
  const [sub, ...rest] = pos;
  if (sub === "start") {
    arity("capture start", rest, 1, "a client id or address");
    let maxBytes: number | undefined;
    if (values.maxBytes !== undefined) {
      const n = parseSize(String(values.maxBytes));
      if (n === null || n < 1024) throw new ConfigError("", `--max-bytes: expected a size of at least 1024 bytes (e.g. 10M), got ${JSON.stringify(values.maxBytes)}`);
      maxBytes = n;
    }
    const file = typeof values.file === "string" ? resolve(values.file) : undefined;
    const r = await controlRequest(path, { cmd: "capture-start", target: rest[0] as string, ...(file ? { file } : {}), ...(maxBytes ? { maxBytes } : {}) });
    out(`capturing ${r.id} to ${r.file} (at most ${formatBytes(r.maxBytes)}); stop with: warren capture stop ${r.id}`);
    return 0;
  }
  if (sub === "stop") {
    if (values.file !== undefined || values.maxBytes !== undefined) throw new ConfigError("", "capture stop: takes no --file or --max-bytes");
    arity("capture stop", rest, 1, "a client id or address");
    const r = await controlRequest(path, { cmd: "capture-stop", target: rest[0] as string });
    out(`stopped capture of ${r.id}: ${r.packets} packets, ${formatBytes(r.bytes)}${r.dropped ? `, ${r.dropped} dropped` : ""} in ${r.file}`);
    return 0;
  }
  throw new ConfigError("", `capture: expected "start <id>" or "stop <id>"${sub ? `, got ${JSON.stringify(sub)}` : ""}`);
}

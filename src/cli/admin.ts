/**
 * @module cli/admin
 * The operator's commands, each one request over the running server's control socket
 * (admin/control-client.ts): status, clients, kick, set, get, reload, capture.
 * Every command takes `--control-socket PATH` (env WARREN_CONTROL_SOCKET, default
 * /run/warren/warren.sock). Output goes to stdout; errors are one line (main.ts).
 */

import { resolve } from "node:path";
import * as v from "valibot";
import { controlRequest } from "../admin/control-client.ts";
import { SETTING_KEYS, type SettingKey } from "../admin/control-protocol.ts";
import { CONFIG_KEY } from "../admin/settings.ts";
import { got, parseSize } from "../config/fields.ts";
import { DEFAULT_CONTROL_SOCKET, NO_CONTROL_SOCKET } from "../config/ops-schema.ts";
import { ServerConfigSchema } from "../config/server-schema.ts";
import { parseTtl } from "../auth/tokens.ts";
import { ConfigError } from "../lib/errors.ts";
import { ADMIN_COMMAND_HELP, ADMIN_COMMANDS, ADMIN_HELP, type AdminCommand } from "./admin-help.ts";
import { parseCommand, type OptionSpec } from "./args.ts";
import { formatBytes, formatClients, formatStatus } from "./format.ts";

export { ADMIN_COMMAND_HELP, ADMIN_COMMANDS, ADMIN_HELP, type AdminCommand };

const BASE: OptionSpec = {
  "control-socket": { type: "string", key: "controlSocket" },
  help: { type: "boolean", short: "h" },
};
const JSON_FLAG: OptionSpec = { json: { type: "boolean" } };

/** The options of each command. */
const OPTIONS: Record<AdminCommand, OptionSpec> = {
  status: { ...BASE, ...JSON_FLAG },
  clients: { ...BASE, ...JSON_FLAG },
  kick: { ...BASE, all: { type: "boolean" }, ban: { type: "string" } },
  set: BASE,
  get: BASE,
  reload: BASE,
  capture: { ...BASE, file: { type: "string" }, "max-bytes": { type: "string", key: "maxBytes" } },
};

/** Output sink (tests capture it). */
export type Out = (text: string) => void;

/** Is `cmd` one of the admin commands? */
export function isAdminCommand(cmd: string | undefined): cmd is AdminCommand {
  return (ADMIN_COMMANDS as readonly string[]).includes(cmd ?? "");
}

/** The socket path: flag, else WARREN_CONTROL_SOCKET, else the default. */
export function socketPath(flag: unknown, env: Record<string, string | undefined>): string {
  const fromFlag = typeof flag === "string" && flag !== "";
  const path = fromFlag ? flag : env.WARREN_CONTROL_SOCKET || DEFAULT_CONTROL_SOCKET;
  if (path === NO_CONTROL_SOCKET) {
    throw new ConfigError("controlSocket", `"none" means no control socket, and this command needs one${got(path)}`, fromFlag ? "--control-socket" : "WARREN_CONTROL_SOCKET");
  }
  return path;
}

function settingKey(cmd: string, k: string | undefined): SettingKey {
  const keys = `${SETTING_KEYS.slice(0, -1).join(", ")} or ${SETTING_KEYS.at(-1)}`;
  if (k === undefined) throw new ConfigError("", `expected a setting: ${keys}`, cmd);
  if (!(SETTING_KEYS as readonly string[]).includes(k)) throw new ConfigError("", `expected a setting: ${keys}${got(k)}`, cmd);
  return k as SettingKey;
}

/** Checks `value` for `key` with the config file's own schema, before anything is sent. */
export function checkSetting(key: SettingKey, value: string): void {
  const r = v.safeParse(ServerConfigSchema.entries[CONFIG_KEY[key]] as v.GenericSchema, value);
  if (!r.success) throw new ConfigError(key, r.issues[0]?.message ?? "invalid value");
}

function arity(cmd: string, pos: string[], n: number, what: string): void {
  if (pos.length < n) throw new ConfigError("", `${what} is required (see warren ${cmd.split(" ")[0]} --help)`, cmd);
  if (pos.length > n) throw new ConfigError("", `unexpected argument ${JSON.stringify(pos[n])}`, cmd);
}

async function readStdin(): Promise<string> {
  return (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, "");
}

/** Runs one admin command; returns the exit status. */
export async function runAdmin(cmd: AdminCommand, argv: string[], env = process.env, out: Out = (t) => process.stdout.write(`${t}\n`)): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS[cmd], cmd);
  if (values.help) {
    out(ADMIN_COMMAND_HELP[cmd]);
    return 0;
  }
  const path = socketPath(values.controlSocket, env);
  switch (cmd) {
    case "status":
    case "clients": {
      arity(cmd, positionals, 0, "nothing");
      const snap = await controlRequest(path, { cmd: "snapshot" });
      if (values.json) out(JSON.stringify(cmd === "clients" ? snap.clients : snap, null, 2));
      else out(cmd === "status" ? formatStatus(snap) : formatClients(snap));
      return 0;
    }
    case "kick":
      return kick(positionals, values, path, out);
    case "get": {
      arity(cmd, positionals, 1, "a setting");
      const key = settingKey(cmd, positionals[0]);
      if (key === "secret") throw new ConfigError("", "secret is write-only; warren set secret - sets a new one", cmd);
      const r = await controlRequest(path, { cmd: "get", key });
      out(r.value);
      return 0;
    }
    case "set": {
      arity(cmd, positionals, 2, "a setting and a value");
      const key = settingKey(cmd, positionals[0]);
      const value = positionals[1] === "-" ? await readStdin() : (positionals[1] as string);
      checkSetting(key, value);
      const r = await controlRequest(path, { cmd: "set", key, value });
      out(key === "secret" ? "secret changed (new handshakes only; sessions stay up)" : `${r.key}: ${r.previous} -> ${r.value}`);
      return 0;
    }
    case "reload": {
      arity(cmd, positionals, 0, "nothing");
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

/** What names one client, for messages. */
const CLIENT = "a client (id:NAME, #N, addr:ADDRESS or endpoint:HOST[:PORT])";

async function kick(pos: string[], values: Record<string, unknown>, path: string, out: Out): Promise<number> {
  arity("kick", pos, 1, CLIENT);
  const banSec = values.ban === undefined ? undefined : parseTtl(String(values.ban));
  if (banSec === null) throw new ConfigError("", `expected a duration like 90s, 10m, 2h or 1d${got(values.ban)}`, "--ban");
  const req = { cmd: "kick" as const, target: pos[0] as string, ...(values.all ? { all: true } : {}), ...(banSec !== undefined ? { banSec } : {}) };
  const r = await controlRequest(path, req);
  for (const k of r.kicked) out(`kicked ${k.id} (${k.address})${r.banSec ? `, banned for ${r.banSec} s` : ""}`);
  return 0;
}

async function capture(pos: string[], values: Record<string, unknown>, path: string, out: Out): Promise<number> {
  const [sub, ...rest] = pos;
  if (sub === "start") {
    arity("capture start", rest, 1, CLIENT);
    let maxBytes: number | undefined;
    if (values.maxBytes !== undefined) {
      const n = parseSize(String(values.maxBytes));
      if (n === null || n < 1024) throw new ConfigError("", `expected a size of at least 1024 bytes, e.g. 10M${got(values.maxBytes)}`, "--max-bytes");
      maxBytes = n;
    }
    const file = typeof values.file === "string" ? resolve(values.file) : undefined;
    const r = await controlRequest(path, { cmd: "capture-start", target: rest[0] as string, ...(file ? { file } : {}), ...(maxBytes ? { maxBytes } : {}) });
    out(`capturing ${r.id} to ${r.file} (at most ${formatBytes(r.maxBytes)}); stop with: warren capture stop ${r.id}`);
    return 0;
  }
  if (sub === "stop") {
    if (values.file !== undefined || values.maxBytes !== undefined) throw new ConfigError("", "takes no --file or --max-bytes", "capture stop");
    arity("capture stop", rest, 1, CLIENT);
    const r = await controlRequest(path, { cmd: "capture-stop", target: rest[0] as string });
    out(`stopped capture of ${r.id}: ${r.packets} packets, ${formatBytes(r.bytes)}${r.dropped ? `, ${r.dropped} dropped` : ""} in ${r.file}`);
    return 0;
  }
  throw new ConfigError("", `expected "start <client>" or "stop <client>"${sub ? got(sub) : ""}`, "capture");
}

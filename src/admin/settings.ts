/**
 * @module admin/settings
 * What can change while the server runs, and how:
 *   - `warren set KEY VALUE` / `warren get KEY`: values are validated with the very
 *     schemas of the config file (ServerConfigSchema.entries), so `set idle-timeout 5`
 *     fails exactly like `"idleTimeout": 5` would.
 *   - `warren reload` / SIGHUP: `planReload(old, next)` compares two validated configs
 *     and splits the differences into live-appliable keys and keys that need a restart.
 *     Only keys the file (or env/flags) changed are touched, so a `warren set` survives a
 *     reload that did not mention that key.
 * The secret is write-only: never returned, never logged, shown as "(hidden)".
 */

import * as v from "valibot";
import { ServerConfigSchema, type ServerConfig } from "../config/server-schema.ts";
import type { LogLevelName } from "../lib/log.ts";
import type { SettingKey } from "./control-protocol.ts";

/** The live knobs a setting writes to (the Server and the process). */
export interface LiveTarget {
  getLogLevel(): LogLevelName;
  setLogLevel(l: LogLevelName): void;
  idleTimeoutMs: number;
  isolate: boolean;
  maxClients: number;
  /** Null when authentication is not by one shared secret. */
  setSecret: ((s: string) => void) | null;
  /** Hook commands (null = none). */
  onConnect: string | null;
  onDisconnect: string | null;
  /** Size limit for captures started from now on. */
  captureMaxBytes: number;
}

/** CLI key -> config file key. */
export const CONFIG_KEY: Record<SettingKey, keyof ServerConfig> = {
  "log-level": "logLevel",
  "idle-timeout": "idleTimeout",
  isolate: "isolate",
  "max-clients": "maxClients",
  secret: "secret",
};

/** Shown instead of a secret. */
export const HIDDEN = "(hidden)";

/** Result of a `set`: the new and previous values as text, or why it was refused. */
export type SetResult = { ok: true; value: string; previous: string } | { ok: false; code: string; error: string };

/** The current value of a setting as text (the secret is refused). */
export function getSetting(t: LiveTarget, key: SettingKey): { ok: true; value: string } | { ok: false; code: string; error: string } {
  switch (key) {
    case "log-level":
      return { ok: true, value: t.getLogLevel() };
    case "idle-timeout":
      return { ok: true, value: String(Math.round(t.idleTimeoutMs / 1000)) };
    case "isolate":
      return { ok: true, value: String(t.isolate) };
    case "max-clients":
      return { ok: true, value: String(t.maxClients) };
    case "secret":
      return { ok: false, code: "ERR_WRITE_ONLY", error: "the secret is write-only" };
  }
}

/** Validates `text` for `key` with the config schema and applies it. */
export function setSetting(t: LiveTarget, key: SettingKey, text: string): SetResult {
  const field = CONFIG_KEY[key];
  const schema = ServerConfigSchema.entries[field] as v.GenericSchema;
  const r = v.safeParse(schema, text);
  if (!r.success || r.output === undefined) {
    const why = r.success ? "a value is required" : (r.issues[0]?.message ?? "invalid value");
    return { ok: false, code: "ERR_BAD_VALUE", error: `${key}: ${key === "secret" ? why.replace(text, "…") : why}` };
  }
  const previous = key === "secret" ? HIDDEN : (getSetting(t, key) as { value: string }).value;
  if (key === "secret" && t.setSecret === null) {
    return { ok: false, code: "ERR_UNSUPPORTED", error: "secret: this server does not authenticate with one shared secret" };
  }
  applyValue(t, field, r.output);
  const value = key === "secret" ? HIDDEN : (getSetting(t, key) as { value: string }).value;
  return { ok: true, value, previous };
}

/** Config keys that a reload applies without a restart. */
export const LIVE_KEYS: ReadonlyArray<keyof ServerConfig> = [
  "logLevel", "idleTimeout", "isolate", "maxClients", "secret", "onConnect", "onDisconnect", "captureMaxBytes",
];

/** Applies one validated config value to the live target. */
export function applyValue(t: LiveTarget, field: keyof ServerConfig, value: unknown): void {
  switch (field) {
    case "logLevel":
      t.setLogLevel(value as LogLevelName);
      break;
    case "idleTimeout":
      t.idleTimeoutMs = (value as number) * 1000;
      break;
    case "isolate":
      t.isolate = value as boolean;
      break;
    case "maxClients":
      t.maxClients = value as number;
      break;
    case "secret":
      if (typeof value === "string") t.setSecret?.(value);
      break;
    case "onConnect":
      t.onConnect = (value as string | undefined) ?? null;
      break;
    case "onDisconnect":
      t.onDisconnect = (value as string | undefined) ?? null;
      break;
    case "captureMaxBytes":
      t.captureMaxBytes = value as number;
      break;
    default:
      throw new Error(`${String(field)} cannot change at runtime`);
  }
}

/** What a reload would do. */
export interface ReloadPlan {
  /** Live keys that differ, with display values (secrets hidden). */
  changed: Array<{ key: keyof ServerConfig; from: string; to: string }>;
  /** Keys that differ but need a restart. */
  restart: Array<keyof ServerConfig>;
}

/** Canonical text of a config value, for comparison and display. */
export function showValue(key: keyof ServerConfig, value: unknown): string {
  if (value === undefined) return "(unset)";
  if (key === "secret") return HIDDEN;
  return typeof value === "string" ? value : JSON.stringify(value, (_k, x: unknown) => (x instanceof Uint8Array ? [...x] : x));
}

/** Compares two validated configs (keys in the order of the schema). */
export function planReload(old: ServerConfig, next: ServerConfig): ReloadPlan {
  const plan: ReloadPlan = { changed: [], restart: [] };
  const keys = new Set<keyof ServerConfig>([...(Object.keys(old) as Array<keyof ServerConfig>), ...(Object.keys(next) as Array<keyof ServerConfig>)]);
  for (const k of keys) {
    const a = old[k];
    const b = next[k];
    const same = k === "secret" ? a === b : showValue(k, a) === showValue(k, b);
    if (same) continue;
    if (LIVE_KEYS.includes(k)) plan.changed.push({ key: k, from: showValue(k, a), to: k === "secret" ? "(changed)" : showValue(k, b) });
    else plan.restart.push(k);
  }
  return plan;
}

/**
 * The config to diff the next reload against: `next`, except that keys needing a
 * restart keep their running (old) values, so they are reported again until restarted.
 */
export function configAfterReload(old: ServerConfig, next: ServerConfig, plan: ReloadPlan): ServerConfig {
  const out: Record<string, unknown> = { ...next };
  for (const k of plan.restart) out[k] = old[k];
  return out as ServerConfig;
}

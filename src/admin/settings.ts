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
 * Server settings change only through Server.setLive; hooks and capture limits are
 * the admin tools' own.
 */

import * as v from "valibot";
import { ServerConfigSchema, type ServerConfig } from "../config/server-schema.ts";
import type { LogLevelName } from "../lib/log.ts";
import type { LiveChange, LiveResult, LiveSettings } from "../server/server.ts";
import type { SettingKey } from "./control-protocol.ts";

/** What settings act on: the server's live settings (through its one setter) and the admin tools' own. */
export interface LiveTarget {
  live(): LiveSettings;
  setLive(c: LiveChange): LiveResult;
  /** Hook commands (null = none); admin-owned. */
  hooks: { onConnect: string | null; onDisconnect: string | null };
  /** Size limit for captures started from now on, and the --capture-dir cap; admin-owned. */
  capture: { maxBytes: number; dirMaxBytes: number };
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
  const live = t.live();
  switch (key) {
    case "log-level":
      return { ok: true, value: live.logLevel };
    case "idle-timeout":
      return { ok: true, value: String(live.idleTimeout) };
    case "isolate":
      return { ok: true, value: String(live.isolate) };
    case "max-clients":
      return { ok: true, value: String(live.maxClients) };
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
  const error = applyValue(t, field, r.output);
  if (error !== null) return { ok: false, code: key === "secret" ? "ERR_UNSUPPORTED" : "ERR_BAD_VALUE", error: `${key}: ${error}` };
  const value = key === "secret" ? HIDDEN : (getSetting(t, key) as { value: string }).value;
  return { ok: true, value, previous };
}

/** Config keys that a reload applies without a restart. */
export const LIVE_KEYS: ReadonlyArray<keyof ServerConfig> = [
  "logLevel", "idleTimeout", "isolate", "maxClients", "secret", "onConnect", "onDisconnect", "captureMaxBytes", "captureDirMax",
];

/** Applies one validated config value; returns why it was refused, or null. */
export function applyValue(t: LiveTarget, field: keyof ServerConfig, value: unknown): string | null {
  const server = (c: LiveChange): string | null => {
    const r = t.setLive(c);
    return r.ok ? null : r.error;
  };
  switch (field) {
    case "logLevel":
      return server({ key: "logLevel", value: value as LogLevelName });
    case "idleTimeout":
      return server({ key: "idleTimeout", value: value as number });
    case "isolate":
      return server({ key: "isolate", value: value as boolean });
    case "maxClients":
      return server({ key: "maxClients", value: value as number });
    case "secret":
      return typeof value === "string" ? server({ key: "secret", value }) : null;
    case "onConnect":
      t.hooks.onConnect = (value as string | undefined) ?? null;
      return null;
    case "onDisconnect":
      t.hooks.onDisconnect = (value as string | undefined) ?? null;
      return null;
    case "captureMaxBytes":
      t.capture.maxBytes = value as number;
      return null;
    case "captureDirMax":
      t.capture.dirMaxBytes = value as number;
      return null;
    default:
      return `${String(field)} cannot change at runtime`;
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

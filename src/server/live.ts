/**
 * @module server/live
 * What can change while the server runs, and the checks a change passes before
 * Server.setLive applies it. The config schema uses the same bounds, so a value refused
 * here is refused in the config file and by `warren set` alike.
 */

import { LOG_LEVELS } from "../lib/log.ts";
import type { LogLevelName } from "../lib/log.ts";

/** What can change while the server runs. */
export interface LiveSettings {
  isolate: boolean;
  maxClients: number;
  /** Seconds. */
  idleTimeout: number;
  logLevel: LogLevelName;
}

/** One runtime change; see Server.setLive. */
export type LiveChange =
  | { key: "isolate"; value: boolean }
  | { key: "maxClients"; value: number }
  | { key: "idleTimeout"; value: number }
  | { key: "logLevel"; value: LogLevelName }
  | { key: "secret"; value: string }
  | { key: "reloadAuth" };

/** Outcome of a runtime change: `note` is a one-line report (reloadAuth). */
export type LiveResult = { ok: true; note?: string } | { ok: false; error: string };

/** Bounds of the numeric live settings (the config schema uses the same). */
export const IDLE_TIMEOUT_RANGE = [10, 86400] as const;
export const MAX_CLIENTS_RANGE = [0, 1 << 24] as const;

/** Why `c` cannot be applied, or null when it can. */
export function checkLive(c: LiveChange): string | null {
  switch (c.key) {
    case "maxClients":
      return inRange(c.value, MAX_CLIENTS_RANGE) ? null : rangeError("max clients", MAX_CLIENTS_RANGE, c.value);
    case "idleTimeout":
      return inRange(c.value, IDLE_TIMEOUT_RANGE) ? null : rangeError("idle timeout", IDLE_TIMEOUT_RANGE, c.value);
    case "logLevel":
      return LOG_LEVELS.includes(c.value) ? null : `expected one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(c.value)})`;
    default:
      return null;
  }
}

function inRange(n: number, [min, max]: readonly [number, number]): boolean {
  return Number.isInteger(n) && n >= min && n <= max;
}

function rangeError(what: string, [min, max]: readonly [number, number], got: number): string {
  return `${what}: expected an integer from ${min} to ${max} (got ${got})`;
}

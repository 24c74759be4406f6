/**
 * @module config/ops-schema
 * The operations settings of `warren server` (control socket, metrics listener,
 * capture, hooks, log file), as valibot entries that schema.ts spreads into
 * ServerConfigSchema. Kept apart so the core schema stays short; the types still come
 * from ServerConfigSchema alone.
 */

import * as v from "valibot";
import type { ListenSchema } from "./server-schema.ts";

/** Where the control socket lives unless told otherwise (also the CLI's default). */
export const DEFAULT_CONTROL_SOCKET = "/run/warren/warren.sock";
/** sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

const show = (x: unknown): string => (typeof x === "string" ? JSON.stringify(x) : String(x));

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses `4096`, `512K`, `10M`, `1G` (binary units, optional trailing B/iB); null if not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1);
  return Number.isSafeInteger(n) ? n : null;
}

/** A byte count in [min, max]: a number, or a string like `10M`. */
export function sizeIn(min: number, max: number) {
  const msg = (i: { input: unknown }) => `expected a size from ${min} to ${max} bytes (e.g. 4096, 512K, 10M), got ${show(i.input)}`;
  return v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.transform((s) => parseSize(s) ?? NaN))], msg),
    v.check((n) => Number.isInteger(n) && n >= min && n <= max, msg),
  );
}

/** A non-empty filesystem path. */
export const PathSchema = v.pipe(
  v.string("expected a path"),
  v.check((s) => s.length > 0 && !s.includes("\u0000"), "expected a non-empty path"),
);

/** A Unix socket path: short enough for sun_path. */
export const SocketPathSchema = v.pipe(
  PathSchema,
  v.check((s) => Buffer.byteLength(s) <= MAX_SOCKET_PATH, `expected a socket path of at most ${MAX_SOCKET_PATH} bytes`),
);

/** A shell command for a hook. */
export const CommandSchema = v.pipe(
  v.string("expected a command"),
  v.check((s) => s.trim().length > 0 && !s.includes("\u0000"), "expected a non-empty command"),
);

const keepMsg = (i: { input: unknown }) => `expected a number of files from 0 to 100, got ${show(i.input)}`;
const KeepSchema = v.pipe(
  v.union([v.number(), v.pipe(v.string(), v.regex(/^\s*\d+\s*$/), v.transform(Number))], keepMsg),
  v.check((n) => Number.isInteger(n) && n >= 0 && n <= 100, keepMsg),
);

/**
 * The entries ServerConfigSchema spreads in (file keys = these names). A function of the
 * HOST:PORT schema so this module need not import schema.ts at run time (no import cycle).
 */
export function opsEntries(listen: typeof ListenSchema) {
  return {
    controlSocket: v.optional(SocketPathSchema, DEFAULT_CONTROL_SOCKET),
    metrics: v.optional(listen),
    captureDir: v.optional(PathSchema),
    captureMaxBytes: v.optional(sizeIn(1024, 2 ** 40), 100 * 1024 * 1024),
    onConnect: v.optional(CommandSchema),
    onDisconnect: v.optional(CommandSchema),
    logFile: v.optional(PathSchema),
    logMaxSize: v.optional(sizeIn(1024, 2 ** 40), 10 * 1024 * 1024),
    logKeep: v.optional(KeepSchema, 5),
  };
}

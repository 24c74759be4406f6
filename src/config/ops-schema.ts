/**
 * @module config/ops-schema
 * The operations settings of `warren server` (control socket, metrics listener,
 * capture, hooks, log file), as valibot entries that server-schema.ts spreads into
 * ServerConfigSchema. Kept apart so the core schema stays short; the types still come
 * from ServerConfigSchema alone.
 */

import * as v from "valibot";
import { CommandSchema, intIn, ListenSchema, PathSchema, sizeIn, SocketPathSchema } from "./fields.ts";

/** Where the control socket lives unless told otherwise (also the CLI's default). */
export const DEFAULT_CONTROL_SOCKET = "/run/warren/warren.sock";

/** The entries ServerConfigSchema spreads in (file keys = these names). */
export function opsEntries() {
  return {
    controlSocket: v.optional(SocketPathSchema, DEFAULT_CONTROL_SOCKET),
    metrics: v.optional(ListenSchema),
    captureDir: v.optional(PathSchema),
    captureMaxBytes: v.optional(sizeIn(1024, 2 ** 40), 100 * 1024 * 1024),
    /** Total size of warren's capture files in captureDir; the oldest go first (admin/capture-dir.ts). */
    captureDirMax: v.optional(sizeIn(1024, 2 ** 50), 1024 ** 3),
    onConnect: v.optional(CommandSchema),
    onDisconnect: v.optional(CommandSchema),
    logFile: v.optional(PathSchema),
    logMaxSize: v.optional(sizeIn(1024, 2 ** 40), 10 * 1024 * 1024),
    logKeep: v.optional(intIn(0, 100, "a number of files"), 5),
  };
}

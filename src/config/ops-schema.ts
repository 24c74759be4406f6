/**
 * @module config/ops-schema
 * The operations settings of `warren server` (control socket, metrics listener,
 * capture, hooks, log file), as valibot entries that server-schema.ts spreads into
 * ServerConfigSchema. Kept apart so the core schema stays short; the types still come
 * from ServerConfigSchema alone.
 */

import * as v from "valibot";
import { bool, CommandSchema, DomainSchema, got, intIn, IpSchema, ListenSchema, PathSchema, sizeIn, SocketPathSchema } from "./fields.ts";

/** A name the HTTP listener answers to (`--metrics-host`): a DNS name or an IP literal. */
export const MetricsHostSchema = v.union([DomainSchema, IpSchema], (i) => `expected a host name like metrics.example or an IP address${got(i.input)}`);

/** Where the control socket lives unless told otherwise (also the CLI's default). */
export const DEFAULT_CONTROL_SOCKET = "/run/warren/warren.sock";

/** The `--control-socket` value that means "no control socket". */
export const NO_CONTROL_SOCKET = "none";

/** A control socket path, or `none` (-> null): the server runs without one. */
export const ControlSocketSchema = v.pipe(SocketPathSchema, v.transform((s): string | null => (s === NO_CONTROL_SOCKET ? null : s)));

/** The entries ServerConfigSchema spreads in (file keys = these names). */
export function opsEntries() {
  return {
    controlSocket: v.optional(ControlSocketSchema, DEFAULT_CONTROL_SOCKET),
    metrics: v.optional(ListenSchema),
    /** Host names the metrics listener answers to besides its address and localhost (admin/http-access.ts). */
    metricsHost: v.optional(v.array(MetricsHostSchema, "expected a list of host names"), []),
    /** File holding the token the dashboard, /api/* (and /metrics, /healthz unless metricsPublic) require. */
    metricsTokenFile: v.optional(PathSchema),
    metricsPublic: v.optional(bool, false),
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

/**
 * @module config/client-schema
 * The valibot schema of `warren client`'s configuration (JSON file keys = these names;
 * flags and WARREN_SECRET override, see load.ts). The single source of ClientConfig.
 */

import * as v from "valibot";
import { DEVICE_ID_RE } from "../auth/secret.ts";
import { isIpLiteral, parseIpv6 } from "../protocol/ip.ts";
import { AbsPathSchema, expected, got, IfNameSchema, intIn, LogFormatSchema, LogLevelSchema, SecretSchema, SocketPathSchema, unknownSetting } from "./fields.ts";

/** Port used when `--server` names none. */
export const DEFAULT_SERVER_PORT = 8000;

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/;

/** A parsed `--server`: host (name or IP literal, IPv6 without brackets) and port. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[v6]:PORT`, or `HOST` alone (port 8000). */
export const ServerAddressSchema = v.pipe(
  v.string(expected("HOST:PORT, e.g. vpn.example.org:8000")),
  v.rawTransform(({ dataset, addIssue, NEVER }): ServerAddress => {
    const text = dataset.value.trim();
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+))(?::(\d{1,5}))?$/.exec(text);
    const v6 = m?.[1];
    const host = v6 ?? m?.[2] ?? "";
    const port = m?.[3] === undefined ? DEFAULT_SERVER_PORT : Number(m[3]);
    const hostOk = v6 !== undefined ? parseIpv6(v6) !== null : isIpLiteral(host) || HOSTNAME_RE.test(host);
    if (!m || !hostOk || port < 1 || port > 65535) {
      const hint = parseIpv6(text) !== null ? "; put an IPv6 address in brackets, e.g. [2001:db8::1]:8000" : "";
      addIssue({ message: `expected HOST:PORT with a host name or IP address and a port 1-65535${hint}${got(dataset.value)}` });
      return NEVER;
    }
    return { host, port };
  }),
);

/** A device id: printable ASCII without spaces or commas, 1-64 characters (as the server accepts). */
export const DeviceIdSchema = v.pipe(
  v.string(expected("a device id")),
  v.regex(DEVICE_ID_RE, expected("1-64 printable characters without spaces or commas")),
);

/** The `--retry` value that never gives up. */
export const RETRY_FOREVER = "forever";

/**
 * How often a failed first connection is tried again: `forever` (-> Infinity), or a
 * count (0: the first failure ends the run). Reconnects after the tunnel was up never stop.
 */
export const RetrySchema = v.union(
  [v.pipe(v.literal(RETRY_FOREVER), v.transform((): number => Infinity)), intIn(0, 1_000_000, "a number of retries")],
  expected(`${RETRY_FOREVER} or a number of retries from 0 to 1000000`),
);

/** A control socket path, or `none` (-> null): no `warren client status` for this run. */
const ClientSocketSchema = v.pipe(SocketPathSchema, v.transform((s): string | null => (s === "none" ? null : s)));

/** `warren client` configuration. `server` and `secret` are checked for presence by the CLI. */
export const ClientConfigSchema = v.strictObject(
  {
    server: v.optional(ServerAddressSchema),
    secret: v.optional(SecretSchema),
    id: v.optional(DeviceIdSchema),
    tun: v.optional(IfNameSchema, "warren1"),
    routes: v.optional(v.picklist(["pushed", "none"], expected("pushed or none")), "pushed"),
    dns: v.optional(v.picklist(["show", "apply"], expected("show or apply")), "show"),
    resolvConf: v.optional(AbsPathSchema, "/etc/resolv.conf"),
    stateDir: v.optional(AbsPathSchema, "/run/warren"),
    retry: v.optional(RetrySchema, 0),
    /** Default (absent): `<stateDir>/client-<tun>-<netns>.sock` (platform/linux/client-state.ts). */
    controlSocket: v.optional(ClientSocketSchema),
    logLevel: v.optional(LogLevelSchema, "info"),
    logFormat: v.optional(LogFormatSchema, "auto"),
  },
  unknownSetting,
);

/** The validated client configuration. */
export type ClientConfig = v.InferOutput<typeof ClientConfigSchema>;

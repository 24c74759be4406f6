/**
 * @module config/server-schema
 * `warren server`'s configuration schema: the single source of its config type. Raw
 * input (JSON file merged with env and flags, see load.ts) goes in; typed, checked
 * values with parsed addresses come out. The operations and authentication settings
 * are spread in from their own modules; shared field schemas live in fields.ts.
 */

import * as v from "valibot";
import { DEFAULT_SERVER_STATE_DIR } from "../platform/linux/lease-file.ts";
import type { Cidr } from "../protocol/ip.ts";
import { MAX_PARAM_MTU } from "../protocol/toyvpn.ts";
import { DEFAULT_LEASE_MAX_AGE } from "../server/leases.ts";
import { MAX_POOL_PREFIX } from "../server/pool.ts";
import { MAX_POOL6_PREFIX } from "../server/pool6.ts";
import { IDLE_TIMEOUT_RANGE, MAX_CLIENTS_RANGE } from "../server/live.ts";
import { authEntries } from "./auth-schema.ts";
import {
  AbsPathSchema, bool, cidrSchema, DomainSchema, durationIn, expected, IfNameSchema, intIn, IpSchema, ListenSchema, LogFormatSchema,
  LogLevelSchema, PathSchema, RouteSchema, SecretSchema, unknownSetting,
} from "./fields.ts";
import { opsEntries } from "./ops-schema.ts";
import { wgEntries } from "./wg-schema.ts";

/** Smallest MTU warren pushes (IPv4 minimum datagram size). */
export const MIN_MTU = 576;

/** An IPv4 pool prefix. */
export const Pool4Schema = v.pipe(cidrSchema(4, MAX_POOL_PREFIX, "10.8.0.0/24"), v.transform((c) => c as Cidr & { family: 4 }));
/** An IPv6 pool prefix. */
export const Pool6Schema = v.pipe(cidrSchema(6, MAX_POOL6_PREFIX, "fd00:8::/64"), v.transform((c) => c as Cidr & { family: 6 }));

/**
 * Managed NAT: `{ enabled, outInterface, allow }`; outInterface defaults to the one holding the
 * default route; `allow` lists the other destinations (CIDR) the pools may be forwarded to.
 */
export const NatSchema = v.strictObject(
  {
    enabled: v.optional(bool, false),
    outInterface: v.optional(IfNameSchema),
    allow: v.optional(v.array(cidrSchema(0, 128, "10.20.0.0/16"), "expected a list of CIDR prefixes"), []),
  },
  unknownSetting,
);

/** Values of `--data-path`: who moves data packets (docs/DATAPATH.md). */
export const DATA_PATHS = ["simple", "fast"] as const;

/** `warren server` configuration (file keys = these names; flags override). */
export const ServerConfigSchema = v.strictObject(
  {
    listen: v.optional(ListenSchema, "[::]:8000"),
    secret: v.optional(SecretSchema),
    tun: v.optional(IfNameSchema, "warren0"),
    pool: v.optional(Pool4Schema, "10.8.0.0/24"),
    pool6: v.optional(Pool6Schema),
    mtu: v.optional(intIn(MIN_MTU, MAX_PARAM_MTU), 1400),
    dns: v.optional(v.array(IpSchema, expected("a list of IP addresses")), ["1.1.1.1"]),
    routes: v.optional(v.array(RouteSchema, expected("a list of CIDR prefixes")), ["0.0.0.0/0"]),
    searchDomains: v.optional(v.array(DomainSchema, expected("a list of domain names")), []),
    isolate: v.optional(bool, false),
    nat: v.optional(NatSchema, { enabled: false, allow: [] }),
    idleTimeout: v.optional(intIn(...IDLE_TIMEOUT_RANGE, "seconds"), 180),
    maxClients: v.optional(intIn(...MAX_CLIENTS_RANGE), 0),
    /** Most sessions one user or token may hold at once (0 = no cap); the shared secret is not capped. */
    maxSessionsPerIdentity: v.optional(intIn(...MAX_CLIENTS_RANGE), 8),
    udpBuffer: v.optional(intIn(0, 1 << 30, "bytes"), 4 << 20),
    /** `fast`: worker threads (one per core) move ToyVpn data packets; `simple`: the main thread's router moves every packet. */
    dataPath: v.optional(v.picklist(DATA_PATHS, expected(`one of ${DATA_PATHS.join(", ")}`)), "fast"),
    logLevel: v.optional(LogLevelSchema, "info"),
    logFormat: v.optional(LogFormatSchema, "auto"),
    /** Pid file written while the server runs (--daemon, watchdog); absent = none. */
    pidFile: v.optional(PathSchema),
    /** Persistent state: leases, and what undoes NAT after a crash. */
    stateDir: v.optional(AbsPathSchema, DEFAULT_SERVER_STATE_DIR),
    /** Seconds an unused lease is remembered (across restarts too). */
    leaseMaxAge: v.optional(durationIn(60, 3650 * 86400), DEFAULT_LEASE_MAX_AGE),
    ...opsEntries(),
    ...authEntries(),
    ...wgEntries(),
  },
  unknownSetting,
);

/** The validated server configuration. */
export type ServerConfig = v.InferOutput<typeof ServerConfigSchema>;

/**
 * @module config/server-schema
 * The valibot schemas for warren's configuration: the single source of the config
 * types. Raw input (JSON file merged with flags, see load.ts) goes in; typed, checked
 * values with parsed addresses come out. Messages say what is expected, and
 * load.ts prefixes the field's path.
 */

import * as v from "valibot";
import { type Cidr, isIpLiteral, parseCidr } from "../protocol/ip.ts";
import { MAX_PARAM_MTU } from "../protocol/toyvpn.ts";
import { LOG_LEVELS } from "../lib/log.ts";
import { MAX_POOL_PREFIX } from "../server/pool.ts";
import { MAX_POOL6_PREFIX } from "../server/pool6.ts";
import { opsEntries, PathSchema } from "./ops-schema.ts";
import { authEntries } from "./auth-schema.ts";

/** Smallest MTU warren pushes (IPv4 minimum datagram size). */
export const MIN_MTU = 576;

const show = (x: unknown): string => (typeof x === "string" ? JSON.stringify(x) : String(x));

/** Integer in [min, max]; accepts numeric strings (from flags). */
export function intIn(min: number, max: number, what = "an integer") {
  return v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.regex(/^\s*-?\d+\s*$/), v.transform(Number))], (i) => `expected ${what} from ${min} to ${max}, got ${show(i.input)}`),
    v.check((n) => Number.isInteger(n) && n >= min && n <= max, (i) => `expected ${what} from ${min} to ${max}, got ${show(i.input)}`),
  );
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (= all addresses, dual-stack). */
export const ListenSchema = v.pipe(
  v.string("expected HOST:PORT, e.g. [::]:8000"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]*)):(\d{1,5})$/.exec(dataset.value);
    const host = m ? (m[1] ?? (m[2] || "::")) : "";
    const port = m ? Number(m[3]) : NaN;
    if (!m || !isIpLiteral(host) || port < 1 || port > 65535) {
      addIssue({ message: `expected HOST:PORT with an IP literal and a port 1-65535 (e.g. [::]:8000 or 0.0.0.0:8000), got ${show(dataset.value)}` });
      return NEVER;
    }
    return { host, port };
  }),
);

function cidrSchema(family: 4 | 6 | 0, maxPrefix: number, example: string) {
  return v.pipe(
    v.string(`expected a CIDR prefix like ${example}`),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const c = parseCidr(dataset.value.trim());
      if (c === null || (family !== 0 && c.family !== family)) {
        addIssue({ message: `expected ${family === 6 ? "an IPv6" : family === 4 ? "an IPv4" : "a"} CIDR prefix like ${example}, got ${show(dataset.value)}` });
        return NEVER;
      }
      if (c.prefixLen > maxPrefix) {
        addIssue({ message: `prefix /${c.prefixLen} is too small for a pool: at most /${maxPrefix}` });
        return NEVER;
      }
      return c;
    }),
  );
}

/** An IPv4 pool prefix. */
export const Pool4Schema = v.pipe(cidrSchema(4, MAX_POOL_PREFIX, "10.8.0.0/24"), v.transform((c) => c as Cidr & { family: 4 }));
/** An IPv6 pool prefix. */
export const Pool6Schema = v.pipe(cidrSchema(6, MAX_POOL6_PREFIX, "fd00:8::/64"), v.transform((c) => c as Cidr & { family: 6 }));
/** A pushed route (IPv4 or IPv6). */
export const RouteSchema = cidrSchema(0, 128, "0.0.0.0/0 or 10.0.0.0/8");

/** An IP literal (DNS server). */
export const IpSchema = v.pipe(
  v.string("expected an IP address"),
  v.check((s) => isIpLiteral(s), (i) => `expected an IPv4 or IPv6 address, got ${show(i.input)}`),
);

/** A DNS search domain. */
export const DomainSchema = v.pipe(
  v.string("expected a domain name"),
  v.regex(/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/, (i) => `expected a domain name like corp.example, got ${show(i.input)}`),
);

/** Interface name: 1-15 bytes, no slash or whitespace. */
export const IfNameSchema = v.pipe(
  v.string("expected an interface name"),
  v.regex(/^[A-Za-z0-9_.:-]{1,15}$/, (i) => `expected an interface name of 1-15 letters, digits, '_', '.', '-' or ':', got ${show(i.input)}`),
);

/** The shared secret: 1-512 printable characters, no NUL. */
export const SecretSchema = v.pipe(
  v.string("expected a string"),
  v.check((s) => s.length >= 1 && s.length <= 512 && !s.includes("\u0000"), "expected 1-512 characters without NUL"),
);

/** true/false (also "yes", "on", "1", ...). */
export const bool = v.union([v.boolean(), v.pipe(v.picklist(["true", "false", "1", "0", "yes", "no", "on", "off"]), v.transform((s) => ["true", "1", "yes", "on"].includes(s)))], (i) => `expected true or false, got ${show(i.input)}`);

/** Managed NAT: `{ enabled, outInterface }`; outInterface defaults to the one holding the default route. */
export const NatSchema = v.strictObject(
  { enabled: v.optional(bool, false), outInterface: v.optional(IfNameSchema) },
  (i) => `unknown setting ${show(i.input === undefined ? i.path?.[0]?.key : i.input)}`,
);

/** `warren server` configuration (file keys = these names; flags override). */
export const ServerConfigSchema = v.strictObject(
  {
    listen: v.optional(ListenSchema, "[::]:8000"),
    secret: v.optional(SecretSchema),
    tun: v.optional(IfNameSchema, "warren0"),
    pool: v.optional(Pool4Schema, "10.8.0.0/24"),
    pool6: v.optional(Pool6Schema),
    mtu: v.optional(intIn(MIN_MTU, MAX_PARAM_MTU), 1400),
    dns: v.optional(v.array(IpSchema, "expected a list of IP addresses"), ["1.1.1.1"]),
    routes: v.optional(v.array(RouteSchema, "expected a list of CIDR prefixes"), ["0.0.0.0/0"]),
    searchDomains: v.optional(v.array(DomainSchema, "expected a list of domain names"), []),
    isolate: v.optional(bool, false),
    nat: v.optional(NatSchema, { enabled: false }),
    idleTimeout: v.optional(intIn(10, 86400, "seconds"), 180),
    maxClients: v.optional(intIn(0, 1 << 24), 0),
    udpBuffer: v.optional(intIn(0, 1 << 30, "bytes"), 4 << 20),
    logLevel: v.optional(v.picklist(LOG_LEVELS, `expected one of ${LOG_LEVELS.join(", ")}`), "info"),
    logFormat: v.optional(v.picklist(["auto", "text", "json"], "expected auto, text or json"), "auto"),
    /** Pid file written while the server runs (--daemon, watchdog); absent = none. */
    pidFile: v.optional(PathSchema),
    ...opsEntries(ListenSchema),
    ...authEntries(),
  },
  (i) => `unknown setting ${show(i.input === undefined ? i.path?.[0]?.key : i.input)}`,
);

/** The validated server configuration. */
export type ServerConfig = v.InferOutput<typeof ServerConfigSchema>;

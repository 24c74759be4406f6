/**
 * @module cli/wg-settings
 * Where each value of `warren wg add|remove|show` comes from. A running server is asked
 * first (wg-info): it knows its public key, pools, pushed routes, DNS, MTU, endpoint and
 * peers file. An explicit flag overrides what the client is told (--endpoint, --dns,
 * --mtu, --route), but must agree with what the server enforces (--peers, --pool,
 * --pool6, --key-file): a peer written to another file or pool would never work.
 * Without a server, flags and the defaults of `warren server` apply.
 */

import { resolve } from "node:path";
import * as v from "valibot";
import { intIn, IpSchema, RouteSchema } from "../config/fields.ts";
import { MIN_MTU, Pool4Schema, Pool6Schema } from "../config/server-schema.ts";
import { loadOrCreateKeyFile, readKeyFile } from "../config/wg-key-file.ts";
import { DEFAULT_WG_KEY_FILE, DEFAULT_WG_PEERS_FILE, DEFAULT_WG_PORT, EndpointSchema } from "../config/wg-schema.ts";
import { keyToBase64, publicKey } from "../crypto/x25519.ts";
import { ConfigError } from "../lib/errors.ts";
import { type Cidr, formatCidr, formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../protocol/ip.ts";
import { MAX_PARAM_MTU } from "../protocol/toyvpn.ts";
import type { Pool4Cidr, Pool6Cidr } from "./wg-client.ts";
import type { WgInfo } from "./wg-control.ts";

/** The `warren wg` flags this module reads (strings as typed; validated here). */
export interface WgFlags {
  peers?: string | undefined;
  endpoint?: string | undefined;
  pool?: string | undefined;
  pool6?: string | undefined;
  dns?: string[] | undefined;
  mtu?: string | undefined;
  route?: string[] | undefined;
  keyFile?: string | undefined;
}

/** What `warren wg add` tells the client and where it writes. */
export interface AddSettings {
  peersFile: string;
  serverPublicKey: string;
  endpoint: { host: string; port: number };
  pool: Pool4Cidr;
  pool6: Pool6Cidr | null;
  dns: string[];
  searchDomains: string[];
  mtu: number;
  routes: Cidr[];
  inUse: Set<string>;
  /** Lines for stderr (a created key file, an assumed port). */
  notes: string[];
}

/** Defaults of `warren server` (config/schema.ts). */
const DEFAULTS = { pool: "10.8.0.0/24", dns: ["1.1.1.1"], mtu: "1400", routes: ["0.0.0.0/0"] };

/** Validates one flag value; a bad one is a ConfigError naming the flag. */
export function flagValue<S extends v.GenericSchema>(schema: S, value: unknown, flag: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  throw new ConfigError("", `${flag}: ${r.issues[0]?.message ?? "invalid value"}`);
}

function agree(flag: string, given: string | undefined, server: string, what: string): void {
  if (given !== undefined && given !== server) throw new ConfigError("", `${flag} ${given} differs from the running server's ${what} ${server}`);
}

/** The peers file: the server's, else --peers, else the default. */
export function peersFileOf(flags: WgFlags, info: WgInfo | null): string {
  if (info) {
    agree("--peers", flags.peers === undefined ? undefined : resolve(flags.peers), resolve(info.peersFile), "peers file");
    return info.peersFile;
  }
  return flags.peers ?? DEFAULT_WG_PEERS_FILE;
}

function canonical(addr: string): string {
  const a4 = parseIpv4(addr);
  if (a4 !== null) return formatIpv4(a4);
  const a6 = parseIpv6(addr);
  return a6 ? formatIpv6(a6) : addr;
}

function endpointOf(flags: WgFlags, info: WgInfo | null, notes: string[]): { host: string; port: number } {
  const text = flags.endpoint ?? info?.endpoint ?? undefined;
  if (text === undefined) {
    throw new ConfigError("", info ? "the server has no wg.endpoint: pass --endpoint HOST[:PORT], the name or address clients dial" : "--endpoint HOST[:PORT] is required while the server is not running (it is the name or address clients dial)");
  }
  const e = flagValue(EndpointSchema, text, flags.endpoint !== undefined ? "--endpoint" : "the server's wg.endpoint");
  if (e.port !== null) return { host: e.host, port: e.port };
  if (info) return { host: e.host, port: info.listenPort };
  notes.push(`endpoint ${e.host}: no port given, using ${DEFAULT_WG_PORT}`);
  return { host: e.host, port: DEFAULT_WG_PORT };
}

function serverKeyOf(flags: WgFlags, info: WgInfo | null, notes: string[]): string {
  if (info) {
    if (flags.keyFile !== undefined) agree("--key-file", keyToBase64(publicKey(readKeyFile(flags.keyFile).privateKey)), info.publicKey, "public key");
    return info.publicKey;
  }
  const path = flags.keyFile ?? DEFAULT_WG_KEY_FILE;
  const k = loadOrCreateKeyFile(path);
  if (k.created) notes.push(`created the server's key file ${path} (mode 0600); warren server --wg-key-file ${path} uses it`);
  if (k.readableByOthers) notes.push(`warning: ${path} is readable by group or others; chmod 600 ${path}`);
  return keyToBase64(publicKey(k.privateKey));
}

/** Everything `warren wg add` needs, from the server's answer (or null) and the flags. */
export function addSettings(flags: WgFlags, info: WgInfo | null): AddSettings {
  const notes: string[] = [];
  const peersFile = peersFileOf(flags, info);
  const pool = flagValue(Pool4Schema, info?.pool ?? flags.pool ?? DEFAULTS.pool, info ? "the server's pool" : "--pool");
  if (info) agree("--pool", flags.pool === undefined ? undefined : formatCidr(flagValue(Pool4Schema, flags.pool, "--pool")), formatCidr(pool), "pool");
  const pool6Text = info ? (info.pool6 ?? undefined) : flags.pool6;
  const pool6 = pool6Text === undefined ? null : flagValue(Pool6Schema, pool6Text, info ? "the server's pool6" : "--pool6");
  if (info && flags.pool6 !== undefined) agree("--pool6", formatCidr(flagValue(Pool6Schema, flags.pool6, "--pool6")), pool6 ? formatCidr(pool6) : "(none)", "IPv6 pool");
  const dnsText = flags.dns && flags.dns.length > 0 ? flags.dns : (info?.dns ?? DEFAULTS.dns);
  const routesText = flags.route && flags.route.length > 0 ? flags.route : (info?.routes ?? DEFAULTS.routes);
  return {
    peersFile,
    serverPublicKey: serverKeyOf(flags, info, notes),
    endpoint: endpointOf(flags, info, notes),
    pool,
    pool6,
    dns: dnsText.map((d) => flagValue(IpSchema, d, "--dns")),
    searchDomains: flags.dns && flags.dns.length > 0 ? [] : (info?.searchDomains ?? []),
    mtu: flagValue(intIn(MIN_MTU, MAX_PARAM_MTU), flags.mtu ?? (info ? String(info.mtu) : DEFAULTS.mtu), "--mtu"),
    routes: routesText.map((r) => flagValue(RouteSchema, r, "--route")),
    inUse: new Set((info?.inUse ?? []).map(canonical)),
    notes,
  };
}

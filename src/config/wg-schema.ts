/**
 * @module config/wg-schema
 * valibot schemas of the WireGuard front door: the `wg` section of the server config
 * (`wg.listen`, `wg.keyFile`, `wg.peers`, `wg.endpoint`) and the field values of a
 * peers file (keys, AllowedIPs, PersistentKeepalive, peer names). Values arrive as
 * strings (a flag or one `Key = Value` line) and leave typed: keys as 32 bytes,
 * addresses as Cidr. Messages say what is expected and quote what was found.
 */

import { join } from "node:path";
import * as v from "valibot";
import { keyFromBase64 } from "../crypto/x25519.ts";
import { type Cidr, isIpLiteral, parseCidr } from "../protocol/ip.ts";
import { DEFAULT_SERVER_STATE_DIR } from "../platform/linux/lease-file.ts";
import { got, ListenSchema, PathSchema, unknownSetting } from "./fields.ts";

/** The key file's name in the server's state directory, where it lives unless `wg.keyFile` says otherwise. */
const WG_KEY_FILE_NAME = "wg.key";
/**
 * The default key file of a server on the default state directory: inside it because the
 * shipped systemd unit lets the server write there (StateDirectory, 0700) and nowhere in /etc.
 */
export const DEFAULT_WG_KEY_FILE = join(DEFAULT_SERVER_STATE_DIR, WG_KEY_FILE_NAME);
/** Where the peers file lives unless `wg.peers` says otherwise. */
export const DEFAULT_WG_PEERS_FILE = "/etc/warren/wg-peers.conf";
/** WireGuard's well-known port, used when an endpoint names no port and the server's is unknown. */
export const DEFAULT_WG_PORT = 51820;
/** Largest PersistentKeepalive WireGuard accepts (seconds, u16). */
export const MAX_KEEPALIVE = 65535;

/** Peer names: letters, digits, `.`, `_`, `-`, `@`; 1-64 characters (as user names). */
export const PEER_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

/** A WireGuard key as `wg` prints it (44 characters of base64) -> its 32 bytes. */
export const WgKeySchema = v.pipe(
  v.string("expected a base64 key"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const key = keyFromBase64(dataset.value.trim());
    if (key === null) {
      addIssue({ message: `expected a key as wg genkey prints it (44 characters of base64 for 32 bytes)${got(dataset.value)}` });
      return NEVER;
    }
    return key;
  }),
);

/** `PersistentKeepalive`: seconds 1-65535; `0` or `off` (as wg accepts) = none (null). */
export const KeepaliveSchema = v.pipe(
  v.string("expected seconds"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const s = dataset.value.trim();
    if (s.toLowerCase() === "off") return null;
    const n = /^\d{1,5}$/.test(s) ? Number(s) : NaN;
    if (!(n >= 0 && n <= MAX_KEEPALIVE)) {
      addIssue({ message: `expected seconds from 0 to ${MAX_KEEPALIVE} or off${got(dataset.value)}` });
      return NEVER;
    }
    return n === 0 ? null : n;
  }),
);

/** One AllowedIPs item: `10.8.0.2/32`, `fd00:8::2/128`, or a bare address (= a host route, as wg reads it). */
export const AllowedIpSchema = v.pipe(
  v.string("expected an address"),
  v.rawTransform(({ dataset, addIssue, NEVER }): Cidr => {
    const s = dataset.value.trim();
    const c = parseCidr(s.includes("/") ? s : `${s}/${s.includes(":") ? 128 : 32}`);
    if (c === null) {
      addIssue({ message: `expected an address or prefix like 10.8.0.2/32 or fd00:8::2/128${got(dataset.value)}` });
      return NEVER;
    }
    return c;
  }),
);

/** A peer name (the `# Name = ...` comment of its section). */
export const PeerNameSchema = v.pipe(
  v.string("expected a name"),
  v.regex(PEER_NAME_RE, (i) => `expected a peer name of 1-64 letters, digits, '.', '_', '-' or '@'${got(i.input)}`),
);

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/;

/** Where clients reach the server. `port` is null when only a host was given. */
export interface WgEndpoint {
  host: string;
  port: number | null;
}

/** Splits `HOST`, `HOST:PORT`, `[v6]:PORT` or a bare IPv6 literal; null when it is none of these. */
export function parseEndpoint(text: string): WgEndpoint | null {
  const s = text.trim();
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(s) ?? (s.split(":").length === 2 ? /^([^:]+):(\d{1,5})$/.exec(s) : null);
  const host = m ? (m[1] as string) : s;
  const port = m?.[2] !== undefined ? Number(m[2]) : null;
  if (port !== null && (port < 1 || port > 65535)) return null;
  if (!isIpLiteral(host) && (host.includes(":") || !HOSTNAME_RE.test(host))) return null;
  return { host, port };
}

/** `wg.endpoint` / `--endpoint`: the public name or address clients dial, with an optional port. */
export const EndpointSchema = v.pipe(
  v.string("expected HOST or HOST:PORT"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const e = parseEndpoint(dataset.value);
    if (e === null) {
      addIssue({ message: `expected a host name or IP address with an optional port (vpn.example.com:51820, [2001:db8::1]:51820)${got(dataset.value)}` });
      return NEVER;
    }
    return e;
  }),
);

/** The `wg` section of the server config. The front door is off while `listen` is absent. */
export const WgSectionSchema = v.strictObject(
  {
    listen: v.optional(ListenSchema),
    /** Absent: `<stateDir>/wg.key` ({@link wgKeyFile}). */
    keyFile: v.optional(PathSchema),
    peers: v.optional(PathSchema, DEFAULT_WG_PEERS_FILE),
    endpoint: v.optional(EndpointSchema),
  },
  unknownSetting,
);

/** The server's key file: `wg.keyFile`, else `wg.key` in its state directory. */
export function wgKeyFile(cfg: { stateDir: string; wg: { keyFile?: string | undefined } }): string {
  return cfg.wg.keyFile ?? join(cfg.stateDir, WG_KEY_FILE_NAME);
}

/** The entry ServerConfigSchema spreads in: `wg`, defaulted so the section is always there. */
export function wgEntries() {
  return { wg: v.optional(WgSectionSchema, {}) };
}

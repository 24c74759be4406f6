/**
 * @module config/fields
 * The valibot field schemas every configuration shares: numbers in a range, sizes,
 * HOST:PORT, CIDR prefixes, IP literals, domain and interface names, paths, secrets,
 * booleans and log settings. Messages say what is expected and end with what was
 * given, `expected ... (got "10Q")` (never for the secret); load.ts prefixes the
 * setting's name. Numbers and booleans also accept the strings a flag carries.
 */

import * as v from "valibot";
import { isIpLiteral, parseCidr } from "../protocol/ip.ts";
import { got, show } from "../lib/issues.ts";
import { LOG_LEVELS } from "../lib/log.ts";

/** How a message shows a value, and its ` (got VALUE)` tail (defined in lib/issues.ts, which auth/ uses too). */
export { got, show };

/** A message function: `expected <what> (got VALUE)`. */
export const expected = (what: string) => (i: { input: unknown }): string => `expected ${what}${got(i.input)}`;

/** The message of a strict object for a key it does not know. */
export const unknownSetting = (i: { input: unknown; path?: readonly { key: unknown }[] }): string =>
  `unknown setting ${show(i.input === undefined ? i.path?.[0]?.key : i.input)}`;

/** Integer in [min, max]; accepts numeric strings (from flags). */
export function intIn(min: number, max: number, what = "an integer") {
  const msg = expected(`${what} from ${min} to ${max}`);
  return v.pipe(
    v.union([v.number(), v.string()], msg),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const n = typeof dataset.value === "number" ? dataset.value : /^\s*-?\d+\s*$/.test(dataset.value) ? Number(dataset.value) : NaN;
      if (!Number.isInteger(n) || n < min || n > max) {
        addIssue({ message: msg({ input: dataset.value }) });
        return NEVER;
      }
      return n;
    }),
  );
}

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
  const what = `a size from ${min} to ${max} bytes, e.g. 4096, 512K or 10M`;
  return v.pipe(
    v.union([v.number(), v.string()], expected(what)),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const n = typeof dataset.value === "number" ? dataset.value : parseSize(dataset.value);
      if (n === null || !Number.isInteger(n) || n < min || n > max) {
        addIssue({ message: `expected ${what}${got(dataset.value)}` });
        return NEVER;
      }
      return n;
    }),
  );
}

const SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `90`, `90s`, `15m`, `12h`, `30d` into seconds; null if not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]) * (SECONDS[(m[2] ?? "").toLowerCase()] ?? 1);
  return Number.isSafeInteger(n) ? n : null;
}

/** A duration in seconds in [min, max]: a number of seconds, or a string like `30d`, `12h`, `15m`. */
export function durationIn(min: number, max: number) {
  const msg = expected(`a duration from ${min} to ${max} seconds (e.g. 3600, 15m, 12h, 30d)`);
  return v.pipe(
    v.union([v.number(), v.string()], msg),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const n = typeof dataset.value === "number" ? dataset.value : parseDuration(dataset.value);
      if (n === null || !Number.isInteger(n) || n < min || n > max) {
        addIssue({ message: msg({ input: dataset.value }) }); // the value as given, not what it parsed to
        return NEVER;
      }
      return n;
    }),
  );
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (= all addresses, dual-stack). */
export const ListenSchema = v.pipe(
  v.string(expected("HOST:PORT, e.g. [::]:8000")),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]*)):(\d{1,5})$/.exec(dataset.value);
    const host = m ? (m[1] ?? (m[2] || "::")) : "";
    const port = m ? Number(m[3]) : NaN;
    if (!m || !isIpLiteral(host) || port < 1 || port > 65535) {
      addIssue({ message: `expected HOST:PORT with an IP literal and a port 1-65535, e.g. [::]:8000 or 0.0.0.0:8000${got(dataset.value)}` });
      return NEVER;
    }
    return { host, port };
  }),
);

/** A CIDR prefix of `family` (0 = either) no longer than `maxPrefix`. */
export function cidrSchema(family: 4 | 6 | 0, maxPrefix: number, example: string) {
  return v.pipe(
    v.string(expected(`a CIDR prefix like ${example}`)),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const c = parseCidr(dataset.value.trim());
      if (c === null || (family !== 0 && c.family !== family)) {
        addIssue({ message: `expected ${family === 6 ? "an IPv6" : family === 4 ? "an IPv4" : "a"} CIDR prefix like ${example}${got(dataset.value)}` });
        return NEVER;
      }
      if (c.prefixLen > maxPrefix) {
        addIssue({ message: `prefix /${c.prefixLen} is too small for a pool: at most /${maxPrefix}${got(dataset.value)}` });
        return NEVER;
      }
      return c;
    }),
  );
}

/** A route (IPv4 or IPv6). */
export const RouteSchema = cidrSchema(0, 128, "0.0.0.0/0 or 10.0.0.0/8");

/** An IP literal (DNS server). */
export const IpSchema = v.pipe(
  v.string(expected("an IP address")),
  v.check((s) => isIpLiteral(s), expected("an IPv4 or IPv6 address")),
);

/** A DNS search domain. */
export const DomainSchema = v.pipe(
  v.string(expected("a domain name")),
  v.regex(/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/, expected("a domain name like corp.example")),
);

/** Interface name: 1-15 bytes, no slash or whitespace. */
export const IfNameSchema = v.pipe(
  v.string(expected("an interface name")),
  v.regex(/^[A-Za-z0-9_.:-]{1,15}$/, expected("an interface name of 1-15 letters, digits, '_', '.', '-' or ':'")),
);

/** The shared secret: 1-512 printable characters, no NUL. */
export const SecretSchema = v.pipe(
  v.string("expected a string"),
  v.check((s) => s.length >= 1 && s.length <= 512 && !s.includes("\u0000"), "expected 1-512 characters without NUL"),
);

/** true/false (also "yes", "on", "1", ...). */
export const bool = v.union(
  [v.boolean(), v.pipe(v.picklist(["true", "false", "1", "0", "yes", "no", "on", "off"]), v.transform((s) => ["true", "1", "yes", "on"].includes(s)))],
  expected("true or false"),
);

/** A non-empty filesystem path. */
export const PathSchema = v.pipe(
  v.string(expected("a path")),
  v.check((s) => s.length > 0 && !s.includes("\u0000"), expected("a non-empty path")),
);

/** An absolute path. */
export const AbsPathSchema = v.pipe(v.string(expected("a path")), v.regex(/^\/[^\u0000]*$/, expected("an absolute path")));

/** sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

/** A Unix socket path: short enough for sun_path. */
export const SocketPathSchema = v.pipe(
  PathSchema,
  v.check((s) => Buffer.byteLength(s) <= MAX_SOCKET_PATH, expected(`a socket path of at most ${MAX_SOCKET_PATH} bytes`)),
);

/** A shell command for a hook. */
export const CommandSchema = v.pipe(
  v.string(expected("a command")),
  v.check((s) => s.trim().length > 0 && !s.includes("\u0000"), expected("a non-empty command")),
);

/** `--log-level`. */
export const LogLevelSchema = v.picklist(LOG_LEVELS, expected(`one of ${LOG_LEVELS.join(", ")}`));
/** `--log-format`. */
export const LogFormatSchema = v.picklist(["auto", "text", "json"], expected("auto, text or json"));

/**
 * @module auth/users-file
 * The users file on disk: read and validate it (errors name the field, e.g.
 * `users.alice.hash`), compile it into lookup records (addresses as numbers, checked
 * against the pool and for clashes), and write it back atomically (lib/state-file.ts:
 * temp file in the same folder created O_EXCL|O_NOFOLLOW with mode 0600, fsync, rename;
 * a symbolic link at the path is refused) so a reload never sees half a file.
 */

import { readFileSync } from "node:fs";
import * as v from "valibot";
import { describeIssues } from "../lib/issues.ts";
import { type UsersFile, UsersFileSchema } from "./users-schema.ts";
import { codeOrMessage, ConfigError, errorCode, fsReason, WarrenError } from "../lib/errors.ts";
import { writeFileAtomic } from "../lib/state-file.ts";
import { formatIpv4, parseIpv4 } from "../protocol/ip.ts";

/** One user, ready for lookups. Records are immutable: a reload builds new ones. */
export interface UserRecord {
  readonly name: string;
  readonly hash: string;
  readonly enabled: boolean;
  /** Fixed tunnel addresses (u32), empty for pool leases. */
  readonly addrs4: readonly number[];
  /** Password checks per minute, or null for the default. */
  readonly perMinute: number | null;
}

/** The pool the addresses must lie in (client range), for compileUsers. */
export interface PoolRange {
  contains(addr: number): boolean;
  isClientAddress(addr: number): boolean;
}

function fail(path: string, field: string, text: string): never {
  const e = new ConfigError(field, text);
  e.message = `users file ${path}: ${text}`;
  throw e;
}

/** Validates parsed JSON as a users file. Throws ConfigError naming the field. */
export function parseUsersFile(data: unknown, path = "(users file)"): UsersFile {
  const r = v.safeParse(UsersFileSchema, data);
  if (r.success) return r.output;
  const { field, text } = describeIssues(r.issues);
  return fail(path, field, text);
}

/** Reads and validates a users file. A missing file is an error unless `missingOk`. */
export function readUsersFile(path: string, missingOk = false): UsersFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (missingOk && errorCode(e) === "ENOENT") return { users: {} };
    return fail(path, "users", `cannot read it: ${fsReason(e)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail(path, "users", `not valid JSON: ${(e as Error).message}`);
  }
  return parseUsersFile(data, path);
}

/**
 * Users file -> records by name. With a pool, every fixed address must be one of
 * its client addresses; no address may belong to two users.
 */
export function compileUsers(file: UsersFile, pool: PoolRange | null = null, path = "(users file)"): Map<string, UserRecord> {
  const out = new Map<string, UserRecord>();
  const owner = new Map<number, string>();
  for (const [name, u] of Object.entries(file.users)) {
    const list = u.address === undefined ? [] : typeof u.address === "string" ? [u.address] : u.address;
    const addrs4: number[] = [];
    for (const text of list) {
      const a = parseIpv4(text) as number; // the schema checked it
      const field = `users.${name}.address`;
      if (pool !== null && !pool.isClientAddress(a)) {
        fail(path, field, `${field}: ${text} is not a client address of the pool${pool.contains(a) ? " (the server's or the broadcast address)" : ""}`);
      }
      const other = owner.get(a);
      if (other !== undefined && other !== name) fail(path, field, `${field}: ${text} is also the address of user ${other}`);
      owner.set(a, name);
      if (!addrs4.includes(a)) addrs4.push(a);
    }
    out.set(name, { name, hash: u.hash, enabled: u.enabled !== false, addrs4, perMinute: u.handshakesPerMinute ?? null });
  }
  return out;
}

/** Every fixed address of enabled and disabled users (kept out of the dynamic pool). */
export function fixedAddresses(users: ReadonlyMap<string, UserRecord>): Set<number> {
  const s = new Set<number>();
  for (const u of users.values()) for (const a of u.addrs4) s.add(a);
  return s;
}

/** `10.8.0.10, 10.8.0.11` or `-`. */
export function formatAddrs(addrs: readonly number[]): string {
  return addrs.length === 0 ? "-" : addrs.map(formatIpv4).join(",");
}

/**
 * Writes `text` to `path` atomically with mode 0600 (lib/state-file.ts: temp file beside
 * it, fsync, rename). Throws a one-line error; never leaves the temp file.
 */
export function writePrivateFile(path: string, text: string): void {
  try {
    writeFileAtomic(path, text, { file: 0o600 });
  } catch (e) {
    if (e instanceof WarrenError) throw e; // a symbolic link at the path: its own one-line message
    throw new WarrenError("ERR_WRITE", `cannot write ${path}: ${codeOrMessage(e)}`);
  }
}

/** Writes a users file (validated first, pretty JSON, mode 0600, atomic). */
export function writeUsersFile(path: string, file: UsersFile): void {
  parseUsersFile(file, path);
  writePrivateFile(path, `${JSON.stringify(file, null, 2)}\n`);
}

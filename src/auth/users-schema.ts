/**
 * @module auth/users-schema
 * The valibot schema of the users file (`--users FILE`, see docs/AUTH.md): a JSON
 * object `{ "users": { "<name>": { "hash": "$argon2id$...", ... } } }`. Errors name
 * the field as `users.<name>.<key>`.
 */

import * as v from "valibot";
import { got, show } from "../lib/issues.ts";
import { parseIpv4 } from "../protocol/ip.ts";

/** User names: letters, digits, `.`, `_`, `-`, `@`; 1-64 characters (never a `:`, never a space). */
export const USER_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

/** PHC strings Bun.password.verify understands: argon2id/argon2i/argon2d, or bcrypt. */
const HASH_RE = /^(?:\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+|\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/;

/** Most fixed addresses one user may have (one per device). */
export const MAX_USER_ADDRESSES = 16;

const Ipv4 = v.pipe(
  v.string("expected an IPv4 address"),
  v.check((s) => parseIpv4(s) !== null, (i) => `expected an IPv4 address like 10.8.0.10${got(i.input)}`),
);

/** One user. */
export const UserSchema = v.strictObject(
  {
    hash: v.pipe(
      v.string("expected a password hash (warren user add writes one)"),
      v.regex(HASH_RE, "expected an argon2id hash like $argon2id$v=19$m=19456,t=2,p=1$... (warren user add writes one)"),
    ),
    /** Fixed tunnel address(es) from the pool. */
    address: v.optional(
      v.union(
        [Ipv4, v.pipe(v.array(Ipv4), v.minLength(1), v.maxLength(MAX_USER_ADDRESSES))],
        (i) => `expected an IPv4 address or a list of 1-${MAX_USER_ADDRESSES}${got(i.input)}`,
      ),
    ),
    /** Absent means enabled. */
    enabled: v.optional(v.boolean("expected true or false")),
    /** Password checks per minute for this user (cached logins do not count). */
    handshakesPerMinute: v.optional(
      v.pipe(v.number("expected a number"), v.integer("expected an integer"), v.minValue(1, "expected at least 1"), v.maxValue(60_000, "expected at most 60000")),
    ),
    comment: v.optional(v.string("expected a string")),
  },
  // Unknown keys are reported by config/load.ts describeIssues; this covers a missing key or a non-object.
  (i) => (i.input === undefined ? "missing: expected a password hash (warren user add writes one)" : `expected an object${got(i.input)}`),
);

/** The whole users file. */
export const UsersFileSchema = v.strictObject(
  {
    version: v.optional(v.literal(1, "expected 1")),
    users: v.pipe(
      v.record(
        v.pipe(v.string(), v.regex(USER_NAME_RE, (i) => `bad user name ${show(i.input)}: use 1-64 letters, digits, '.', '_', '-' or '@'`)),
        UserSchema,
        "expected an object of users",
      ),
    ),
  },
  (i) => (i.input === undefined ? 'missing: expected "users": { "<name>": { "hash": ... } }' : `expected a JSON object${got(i.input)}`),
);

/** The users file as validated. */
export type UsersFile = v.InferOutput<typeof UsersFileSchema>;

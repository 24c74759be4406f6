/**
 * @module cli/user
 * `warren user add|del|list|enable|disable|passwd`: edits the users file (docs/AUTH.md).
 * Passwords are generated here, printed once, and only their argon2id hash is
 * stored. Every write is atomic (temp file + rename, mode 0600); a running server
 * picks the change up on SIGHUP / `warren reload`.
 */

import { existsSync } from "node:fs";
import { type UsersFile, USER_NAME_RE } from "../auth/users-schema.ts";
import { formatAddrs, readUsersFile, writeUsersFile } from "../auth/users-file.ts";
import { got } from "../config/fields.ts";
import { ConfigError } from "../lib/errors.ts";
import { parseIpv4 } from "../protocol/ip.ts";
import { parseCommand, type OptionSpec } from "./args.ts";
import { generateSecret } from "./server.ts";

/** Where the users file is unless --users or WARREN_USERS says otherwise. */
export const DEFAULT_USERS_FILE = "/etc/warren/users.json";

/** argon2id cost of new hashes (OWASP's 19 MiB / 2 passes / 1 lane): ~tens of ms per check. */
export const HASH_OPTIONS = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

const OPTIONS: OptionSpec = {
  users: { type: "string", short: "u" },
  address: { type: "string", multiple: true },
  disabled: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Help text of `warren user`. */
export const USER_HELP = `usage: warren user <add|del|list|enable|disable|passwd> [NAME] [options]

Manages the users file of "warren server --users FILE". Clients log in with
"NAME:PASSWORD" (or "NAME:PASSWORD:DEVICEID") as the app's shared secret.

  add NAME [--address A]... [--disabled]
                       new user with a generated password, printed once; each
                       --address is a fixed tunnel address from the pool
  del NAME             remove a user
  list                 users, whether enabled, fixed addresses
  enable NAME | disable NAME
  passwd NAME          new generated password, printed once

options:
  -u, --users FILE     the users file; env WARREN_USERS      ${DEFAULT_USERS_FILE}
      --address A      (add) a fixed tunnel address from the pool, repeatable
      --disabled       (add) create the user disabled
  -h, --help           this text

examples:
  warren user add alice --address 10.8.0.10
  warren user list
  warren user disable bob && warren reload

Changes apply to a running server on SIGHUP or "warren reload"; disabling or
deleting a user then ends that user's sessions.`;

function need(name: string | undefined, cmd: string): string {
  if (name === undefined) throw new ConfigError("", "a NAME is required (see warren user --help)", `user ${cmd}`);
  if (!USER_NAME_RE.test(name)) throw new ConfigError("", `expected a user name of 1-64 letters, digits, '.', '_', '-' or '@'${got(name)}`, `user ${cmd}`);
  return name;
}

function entryOf(file: UsersFile, name: string, path: string) {
  const u = file.users[name];
  if (u === undefined) throw new ConfigError("", `no user ${name} in ${path}`);
  return u;
}

async function newPassword(): Promise<{ password: string; hash: string }> {
  const password = generateSecret();
  return { password, hash: await Bun.password.hash(password, HASH_OPTIONS) };
}

function printPassword(name: string, password: string): void {
  console.log(`password: ${password}`);
  console.log(`app secret: ${name}:${password}   (shown only now; append ":<device-id>" to keep an address)`);
}

const RELOAD_HINT = "a running server applies this on SIGHUP or warren reload";

/** Runs `warren user ...`. Returns the exit status. */
export async function runUser(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS, "user");
  const [cmd, name, extra] = positionals;
  if (values.help || cmd === undefined || cmd === "help") {
    console.log(USER_HELP);
    return 0;
  }
  if (extra !== undefined) throw new ConfigError("", `unexpected argument ${JSON.stringify(extra)}`, `user ${cmd}`);
  const path = (values.users as string | undefined) ?? (env.WARREN_USERS || DEFAULT_USERS_FILE);
  const addresses = (values.address as string[] | undefined) ?? [];
  if (cmd !== "add" && (addresses.length > 0 || values.disabled)) throw new ConfigError("", "--address and --disabled go with warren user add", `user ${cmd}`);
  switch (cmd) {
    case "add":
      await addUser(path, need(name, cmd), addresses, values.disabled === true);
      return 0;
    case "passwd":
    case "del":
    case "enable":
    case "disable":
      await editUser(path, cmd, need(name, cmd));
      return 0;
    case "list":
      if (name !== undefined) throw new ConfigError("", `unexpected argument ${JSON.stringify(name)}`, "user list");
      listUsers(path);
      return 0;
    default:
      throw new ConfigError("", `expected add, del, list, enable, disable or passwd${got(cmd)}`, "user");
  }
}

/** `warren user add`: a new user with a generated password (printed once). */
async function addUser(path: string, n: string, addresses: string[], disabled: boolean): Promise<void> {
  for (const a of addresses) if (parseIpv4(a) === null) throw new ConfigError("", `expected an IPv4 address like 10.8.0.10${got(a)}`, "--address");
  const file = readUsersFile(path, true);
  if (file.users[n] !== undefined) throw new ConfigError("", `user ${n} exists in ${path}; warren user passwd ${n} gives it a new password`);
  const { password, hash } = await newPassword();
  file.users[n] = {
    hash,
    ...(addresses.length === 1 ? { address: addresses[0] as string } : addresses.length > 1 ? { address: addresses } : {}),
    ...(disabled ? { enabled: false } : {}),
  };
  writeUsersFile(path, file);
  console.log(`added user ${n} to ${path}${addresses.length ? ` (address ${addresses.join(", ")})` : ""}${disabled ? " (disabled)" : ""}; ${RELOAD_HINT}`);
  printPassword(n, password);
}

/** `warren user passwd|del|enable|disable NAME`: one change to an existing user. */
async function editUser(path: string, cmd: "passwd" | "del" | "enable" | "disable", n: string): Promise<void> {
  const file = readUsersFile(path);
  const u = entryOf(file, n, path);
  const ends = ` (ends ${n}'s sessions)`;
  if (cmd === "passwd") {
    const { password, hash } = await newPassword();
    u.hash = hash;
    writeUsersFile(path, file);
    console.log(`new password for ${n} in ${path}; ${RELOAD_HINT}${ends}`);
    printPassword(n, password);
    return;
  }
  if (cmd === "del") delete file.users[n];
  else if (cmd === "enable") delete u.enabled;
  else u.enabled = false;
  writeUsersFile(path, file);
  if (cmd === "del") console.log(`deleted user ${n} from ${path}; ${RELOAD_HINT}${ends}`);
  else console.log(`${cmd}d user ${n} in ${path}; ${RELOAD_HINT}${cmd === "disable" ? ends : ""}`);
}

/** `warren user list`: one row per user. */
function listUsers(path: string): void {
  if (!existsSync(path)) throw new ConfigError("", `no users file at ${path} (warren user add NAME creates it)`);
  const file = readUsersFile(path);
  const rows = Object.entries(file.users).map(([n, u]) => {
    const addrs = u.address === undefined ? [] : typeof u.address === "string" ? [u.address] : u.address;
    return [n, u.enabled === false ? "no" : "yes", formatAddrs(addrs.map((a) => parseIpv4(a) as number)), u.handshakesPerMinute ? `${u.handshakesPerMinute}/min` : "-"];
  });
  const table = [["USER", "ENABLED", "ADDRESS", "CHECKS"], ...rows];
  const w = [0, 1, 2].map((i) => Math.max(...table.map((r) => (r[i] as string).length)));
  for (const r of table) console.log(r.map((c, i) => (i < 3 ? c.padEnd(w[i] as number) : c)).join("  ").trimEnd());
}

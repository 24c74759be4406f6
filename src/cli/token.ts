/**
 * @module cli/token
 * `warren token keygen|issue|verify|hash`: the controller's side of docs/TOKENS.md,
 * for operators without a controller and for testing one. Keys are written mode
 * 0600, atomically; tokens go to stdout and are never logged.
 */

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mintToken, parseKeyFile, parseRevocations, parseTtl, tokenHash, TOKEN_ID_RE, verifyToken } from "../auth/tokens.ts";
import { writePrivateFile } from "../auth/users-file.ts";
import { got } from "../config/fields.ts";
import { ConfigError, fsReason, WarrenError } from "../lib/errors.ts";
import { parseIpv4 } from "../protocol/ip.ts";
import { parseCommand, type OptionSpec } from "./args.ts";

const OPTIONS: OptionSpec = {
  "key-file": { type: "string", short: "k" },
  id: { type: "string" },
  ttl: { type: "string" },
  address: { type: "string" },
  revoked: { type: "string" },
  force: { type: "boolean" },
  rotate: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Help text of `warren token`. */
export const TOKEN_HELP = `usage: warren token <keygen|issue|verify|hash> [options]

Tokens let a controller authorise a device without the node keeping a database:
the app user pastes the token as the shared secret. Format: docs/TOKENS.md.

  keygen --key-file K [--force | --rotate]
                       write a new random key (mode 0600); --rotate puts it in
                       front of the existing keys, which stay valid for checking
  issue --id ID --ttl 24h --key-file K [--address A]
                       print a token for ID valid for TTL (s, m, h, d, w), with
                       an optional fixed tunnel address
  verify TOKEN --key-file K [--revoked FILE]
                       check a token as a node would; exit 1 when it is refused
  hash TOKEN           its line for a revocation file (sha256:...)

options:
  -k, --key-file K     the key file (keygen writes it; issue and verify read it)
      --id ID          (issue) the device's id: 1-64 letters, digits, '.', '_', '-', '@'
      --ttl TTL        (issue) how long the token is valid: 3600, 90m, 24h, 7d  24h
      --address A      (issue) a fixed tunnel address from the pool
      --revoked FILE   (verify) revoked token ids / sha256: hashes, one a line
      --force          (keygen) replace an existing key file
      --rotate         (keygen) add a new first key, keep the old ones for checking
  -h, --help           this text

examples:
  warren token keygen --key-file /etc/warren/token.key
  warren token issue --id phone-17 --ttl 7d --key-file /etc/warren/token.key
  warren token verify "$TOKEN" --key-file /etc/warren/token.key

Nodes: warren server --token-key-file K [--revoked FILE]; SIGHUP re-reads both.`;

/** The text of the file a flag names; ConfigError naming the flag when it cannot be read. */
function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError("", `cannot read the file: ${fsReason(e)}${got(path)}`, flag);
  }
}

function keysFrom(path: string | undefined): Uint8Array[] {
  if (path === undefined) throw new ConfigError("", "required: the key file (see warren token --help)", "--key-file");
  const keys = parseKeyFile(readFlagFile("--key-file", path));
  if (typeof keys === "string") throw new ConfigError("", `${keys}${got(path)}`, "--key-file");
  return keys;
}

/** Runs `warren token ...`. Returns the exit status. */
export async function runToken(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS, "token");
  const [cmd, arg, extra] = positionals;
  if (values.help || cmd === undefined || cmd === "help") {
    console.log(TOKEN_HELP);
    return 0;
  }
  if (extra !== undefined) throw new ConfigError("", `unexpected argument ${JSON.stringify(extra)}`, `token ${cmd}`);
  const keyFile = values["key-file"] as string | undefined;
  switch (cmd) {
    case "keygen": {
      if (keyFile === undefined) throw new ConfigError("", "required: where to write the key", "--key-file");
      const hex = randomBytes(32).toString("hex");
      const exists = existsSync(keyFile);
      if (exists && !values.force && !values.rotate) throw new ConfigError("", `the file exists; --rotate adds a key in front, --force replaces it${got(keyFile)}`, "--key-file");
      const old = exists && values.rotate ? keysFrom(keyFile).map((k) => Buffer.from(k).toString("hex")) : [];
      writePrivateFile(keyFile, `# warren token keys: the first mints, all verify (docs/TOKENS.md)\n${[hex, ...old].join("\n")}\n`);
      console.log(`wrote ${old.length > 0 ? `a new key in front of ${old.length} old one${old.length === 1 ? "" : "s"} in` : "a new key to"} ${keyFile} (mode 0600)`);
      return 0;
    }
    case "issue": {
      const id = values.id as string | undefined;
      if (id === undefined || !TOKEN_ID_RE.test(id)) throw new ConfigError("", `expected 1-64 letters, digits, '.', '_', '-' or '@'${id === undefined ? "" : got(id)}`, "--id");
      const ttlText = (values.ttl as string | undefined) ?? "24h";
      const ttl = parseTtl(ttlText);
      if (ttl === null) throw new ConfigError("", `expected a duration like 3600, 90m, 24h or 7d${got(ttlText)}`, "--ttl");
      const addr = values.address as string | undefined;
      if (addr !== undefined && parseIpv4(addr) === null) throw new ConfigError("", `expected an IPv4 address like 10.8.0.10${got(addr)}`, "--address");
      const [key] = keysFrom(keyFile);
      const exp = Math.floor(Date.now() / 1000) + ttl;
      console.log(mintToken(addr === undefined ? { id, exp } : { id, exp, addr }, key as Uint8Array));
      return 0;
    }
    case "verify": {
      if (arg === undefined) throw new ConfigError("", "a TOKEN is required (see warren token --help)", "token verify");
      const token = arg.split(":")[0] as string;
      const r = verifyToken(token, keysFrom(keyFile), Math.floor(Date.now() / 1000));
      const revokedPath = values.revoked as string | undefined;
      let revoked = false;
      if (revokedPath !== undefined && r.ok) {
        const list = parseRevocations(readFlagFile("--revoked", revokedPath));
        if (typeof list === "string") throw new ConfigError("", `${list}${got(revokedPath)}`, "--revoked");
        revoked = list.ids.has(r.claims.id) || list.hashes.has(r.hash);
      }
      if (r.claims) {
        console.log(`id ${r.claims.id}, expires ${new Date(r.claims.exp * 1000).toISOString()}${r.claims.addr ? `, address ${r.claims.addr}` : ""}`);
      }
      console.log(`sha256:${tokenHash(token)}`);
      if (!r.ok || revoked) throw new WarrenError("ERR_TOKEN", `token refused: ${revoked ? "revoked-token" : r.ok ? "" : r.reason}`);
      console.log("valid");
      return 0;
    }
    case "hash": {
      if (arg === undefined) throw new ConfigError("", "a TOKEN is required (see warren token --help)", "token hash");
      console.log(`sha256:${tokenHash(arg.split(":")[0] as string)}`);
      return 0;
    }
    default:
      throw new ConfigError("", `expected keygen, issue, verify or hash${got(cmd)}`, "token");
  }
}

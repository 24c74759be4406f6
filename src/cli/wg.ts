/**
 * @module cli/wg
 * `warren wg ...`: WireGuard keys and peers for the server's WireGuard front door.
 * genkey / pubkey / genpsk print exactly what `wg` prints (base64 of 32 bytes and a
 * newline), so keys move freely between the two tools. add / remove / show edit the
 * peers file and tell the running server over its control socket (wg-commands.ts).
 *
 * Errors are thrown as in every command: ConfigError for usage and bad input (main.ts
 * prints `warren: wg pubkey: ...` and exits 2), WarrenError for the rest (exit 1).
 */

import { controlRequest } from "../admin/control-client.ts";
import { DEFAULT_WG_KEY_FILE, DEFAULT_WG_PEERS_FILE } from "../config/wg-schema.ts";
import { generatePresharedKey, generatePrivateKey, keyFromBase64, keyToBase64, publicKey } from "../crypto/x25519.ts";
import { ConfigError } from "../lib/errors.ts";
import { socketPath } from "./admin.ts";
import { parseCommand, type OptionSpec } from "./args.ts";
import { runAdd, runRemove, runShow, type PeerFlags, type WgIo } from "./wg-commands.ts";

export type { WgIo } from "./wg-commands.ts";

const OPTIONS: OptionSpec = {
  peers: { type: "string", short: "p" },
  address: { type: "string", multiple: true },
  endpoint: { type: "string", short: "e" },
  qr: { type: "boolean" },
  pool: { type: "string" },
  pool6: { type: "string" },
  dns: { type: "string", multiple: true },
  mtu: { type: "string" },
  route: { type: "string", multiple: true },
  "key-file": { type: "string", key: "keyFile" },
  "control-socket": { type: "string", key: "controlSocket" },
  help: { type: "boolean", short: "h" },
};

/** Flags each subcommand accepts (beyond --help). */
const ALLOWED: Record<string, string[]> = {
  genkey: [],
  pubkey: [],
  genpsk: [],
  add: ["peers", "address", "endpoint", "qr", "pool", "pool6", "dns", "mtu", "route", "keyFile", "controlSocket"],
  remove: ["peers", "controlSocket"],
  show: ["peers", "controlSocket"],
};

/** Help text of `warren wg`. */
export const WG_HELP = `usage: warren wg <command> [options]

Keys and peers of the WireGuard front door (warren server --wg-listen HOST:PORT).

  genkey                 print a new private key (base64), as wg genkey
  pubkey                 read a private key on stdin, print its public key, as wg pubkey
  genpsk                 print a new preshared key, as wg genpsk
  add NAME               new peer: key pair, preshared key, the next free pool
                         address; appended to the peers file, applied live, and the
                         client's wg-quick config printed (its private key is not kept)
      --address A        this tunnel address instead (repeat for IPv4 + IPv6)
      --endpoint H[:P]   what clients dial (default: the server's wg.endpoint)
      --qr               print the config as a QR code for the WireGuard app
      --dns IP, --mtu N, --route CIDR   override what the client is told
      --pool CIDR, --pool6 CIDR, --key-file FILE   when no server runs
  remove NAME            delete the peer (or give its public key); ends its session
  show                   peers with endpoint, latest handshake and transfer, as wg show

options:
  -p, --peers FILE       the peers file (wg.peers)        ${DEFAULT_WG_PEERS_FILE}
      --key-file FILE    the server's key (wg.keyFile)    ${DEFAULT_WG_KEY_FILE}
      --control-socket PATH   env WARREN_CONTROL_SOCKET, default /run/warren/warren.sock
  -h, --help             this text

A running server is asked for its key, pools, routes, DNS, MTU and endpoint; without
one, add uses the flags and warren server's defaults (and creates the key file).

examples:
  warren wg add phone-1 --qr                     scan it with the phone
  warren wg add laptop --endpoint vpn.example.com:51820 > laptop.conf
  wg genkey | tee client.key | warren wg pubkey  keys are interchangeable with wg`;

/** Lines of `warren server --help` for the WireGuard front door (its flags come from the `wg` config section). */
export const WG_SERVER_HELP = `      --wg-listen HOST:PORT  also accept WireGuard clients here; off when absent (wg.listen)
      --wg-key-file FILE   the server's private key, created (0600) if missing (wg.keyFile)
                           wg.key in --state-dir (${DEFAULT_WG_KEY_FILE})
      --wg-peers FILE      [Peer] sections in wg-quick syntax (wg.peers)
                           ${DEFAULT_WG_PEERS_FILE}
      --wg-endpoint HOST[:PORT]  the public name clients dial, for warren wg add (wg.endpoint)`;

/** The process's stdin/stdout/stderr and control socket, for main.ts. */
export function processWgIo(): WgIo {
  return {
    stdin: () => Bun.stdin.text(),
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    // The wg-* requests join RequestSchema / RESULT_SCHEMAS in admin/control-protocol.ts (see wg-control.ts).
    control: (req, path) => controlRequest(path, req as never),
  };
}

async function pubkey(io: WgIo): Promise<void> {
  const key = keyFromBase64((await io.stdin()).trim());
  if (key === null) throw new ConfigError("", "wg pubkey: the key on stdin is not a WireGuard key (44 characters of base64 for 32 bytes)");
  io.out(`${keyToBase64(publicKey(key))}\n`);
  key.fill(0);
}

/** Runs `warren wg ...`. Returns the exit status; throws ConfigError (exit 2) or WarrenError (exit 1). */
export async function runWg(argv: string[], io: WgIo, env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS);
  const [cmd, arg, extra] = positionals;
  if (values.help || cmd === undefined || cmd === "help") {
    io.out(`${WG_HELP}\n`);
    return 0;
  }
  const allowed = ALLOWED[cmd];
  if (allowed === undefined) throw new ConfigError("", `unknown wg command ${JSON.stringify(cmd)}; see warren wg --help`);
  const stray = Object.keys(values).find((k) => k !== "help" && !allowed.includes(k));
  if (stray !== undefined) throw new ConfigError("", `wg ${cmd}: option --${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply`);
  const unexpected = ["add", "remove"].includes(cmd) ? extra : arg;
  if (unexpected !== undefined) throw new ConfigError("", `wg ${cmd}: unexpected argument ${JSON.stringify(unexpected)}`);
  const flags: PeerFlags = { ...(values as Omit<PeerFlags, "controlSocket">), controlSocket: socketPath(values.controlSocket, env) };
  switch (cmd) {
    case "genkey":
      io.out(`${keyToBase64(generatePrivateKey())}\n`);
      return 0;
    case "genpsk":
      io.out(`${keyToBase64(generatePresharedKey())}\n`);
      return 0;
    case "pubkey":
      await pubkey(io);
      return 0;
    case "add":
      return runAdd(arg, flags, io);
    case "remove":
      return runRemove(arg, flags, io);
    default:
      return runShow(flags, io);
  }
}

/**
 * @module cli/lockouts
 * `warren lockouts` lists the handshake sources a running server has locked out, with
 * the time left; `warren unlock ADDR` lifts one (an IPv4 address, or any address of an
 * IPv6 /64). Both talk to the control socket like the other admin commands.
 */

import { controlRequest } from "../admin/control-client.ts";
import { ConfigError } from "../lib/errors.ts";
import { type OptionSpec, parseCommand } from "./args.ts";
import { type Out, socketPath } from "./admin.ts";

/** Help of both commands. */
export const LOCKOUTS_HELP = `usage: warren lockouts [--json] [--control-socket PATH]
       warren unlock ADDRESS [--control-socket PATH]

lockouts   list the sources (IPv4 addresses, IPv6 /64s) whose failed handshakes locked
           them out, with the time left
unlock     lift the lockout of one source

A lockout holds a source to one expensive check (a users-file password) a second; a
valid shared secret or token from it is accepted at once (docs/AUTH.md).

examples:
  warren lockouts
  warren unlock 198.51.100.7
  warren unlock 2001:db8:1:2::/64`;

const OPTIONS: OptionSpec = {
  "control-socket": { type: "string", key: "controlSocket" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** `warren lockouts`. */
export async function runLockouts(argv: string[], env = process.env, out: Out = (t) => process.stdout.write(`${t}\n`)): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS);
  if (values.help) return (out(LOCKOUTS_HELP), 0);
  if (positionals.length > 0) throw new ConfigError("", `lockouts: unexpected argument ${JSON.stringify(positionals[0])}`);
  const r = await controlRequest(socketPath(values.controlSocket, env), { cmd: "lockouts" });
  if (values.json) out(JSON.stringify(r.lockouts, null, 2));
  else if (r.lockouts.length === 0) out("no source is locked out");
  else for (const l of r.lockouts) out(`${l.source.padEnd(24)} ${String(l.leftSec).padStart(5)} s left  (${l.protocol})`);
  return 0;
}

/** `warren unlock ADDRESS`. */
export async function runUnlock(argv: string[], env = process.env, out: Out = (t) => process.stdout.write(`${t}\n`)): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS);
  if (values.help) return (out(LOCKOUTS_HELP), 0);
  if (positionals.length !== 1) throw new ConfigError("", "unlock: exactly one address is required");
  const r = await controlRequest(socketPath(values.controlSocket, env), { cmd: "unlock", source: positionals[0] as string });
  out(r.unlocked ? `unlocked ${r.source}` : `${r.source} was not locked out`);
  return 0;
}

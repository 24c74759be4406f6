/**
 * @module main
 * Entry point: dispatch the command, print any error as one line, exit 0 / 1 / 2.
 * The only place that maps errors to exit statuses:
 *
 *   0  success
 *   1  a runtime failure: no server to talk to, a port or socket in use, a missing
 *      privilege, a server that stopped, a token refused
 *   2  a usage or configuration error: unknown command or option, a bad or missing
 *      value on the command line, in the environment or in the config file (named
 *      as given: `--idle-timeout`, `WARREN_SECRET`, `config: FILE: key`), a setting
 *      the running server refused as invalid
 */

import { runServer, SERVER_HELP } from "./cli/server.ts";
import { CLIENT_HELP, runClient } from "./cli/client.ts";
import { runUser, USER_HELP } from "./cli/user.ts";
import { runToken, TOKEN_HELP } from "./cli/token.ts";
import { runWatchdog, WATCHDOG_HELP } from "./cli/watchdog.ts";
import { reportFailure } from "./cli/daemon.ts";
import { ADMIN_COMMAND_HELP, ADMIN_COMMANDS, ADMIN_HELP, runAdmin } from "./cli/admin.ts";
import { CLEANUP_HELP, runCleanup } from "./cli/cleanup.ts";
import { LOCKOUTS_HELP, runLockouts, runUnlock } from "./cli/lockouts.ts";
import { ConfigError, oneLine, WarrenError } from "./lib/errors.ts";
import { versionLine } from "./lib/version.ts";

/** Error codes that are the user's to fix in what they typed or configured: exit status 2. */
const USAGE_CODES: ReadonlySet<string> = new Set(["ERR_CONFIG", "ERR_BAD_VALUE", "ERR_WRITE_ONLY"]);

/** One command: how to run it and its `--help` text (also `warren help NAME`). */
interface Command {
  run(argv: string[]): Promise<number>;
  help: string;
}

/** Every command. A new family (e.g. `wg`) is one more entry here and one line in USAGE. */
const COMMANDS: Record<string, Command> = {
  server: { run: runServer, help: SERVER_HELP },
  client: { run: runClient, help: CLIENT_HELP },
  user: { run: runUser, help: USER_HELP },
  token: { run: runToken, help: TOKEN_HELP },
  watchdog: { run: runWatchdog, help: WATCHDOG_HELP },
  cleanup: { run: async (argv) => runCleanup(argv), help: CLEANUP_HELP },
  lockouts: { run: runLockouts, help: LOCKOUTS_HELP },
  unlock: { run: runUnlock, help: LOCKOUTS_HELP },
  ...Object.fromEntries(ADMIN_COMMANDS.map((cmd) => [cmd, { run: (argv: string[]) => runAdmin(cmd, argv), help: ADMIN_COMMAND_HELP[cmd] }])),
};

/** Help topics that are not commands. */
const TOPICS: Record<string, string> = { admin: ADMIN_HELP };

/** `warren --help`. */
export const USAGE = `usage: warren <command> [options]

commands:
  server     run the VPN server (ToyVpn protocol)
  client     connect this Linux host to a ToyVpn server
  user       manage the users file (user:password logins)
  token      keys and tokens for controller-issued access
  watchdog   start the server unless it runs (for cron)
  cleanup    undo the NAT rules and sysctls a killed server left behind
  status     summary of the running server and its clients
  clients    connected clients with counters
  kick       end a client's session now
  get        show a setting of the running server
  set        change a setting of the running server now
  reload     re-read the config file (same as SIGHUP)
  capture    start/stop a per-client pcap capture
  lockouts   handshake sources locked out of password checks
  unlock     lift one lockout
  help CMD   the help of CMD (same as warren CMD --help); warren help admin
             shows the commands that talk to a running server together

options:
  -V, --version  print version, commit and build date
  -h, --help     this text

Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.

examples:
  warren server                          (as root; prints the secret it generated)
  warren server --help
  warren status

Then point the Android ToyVpn app (or any ToyVpn client) at this host, port 8000,
with the secret the server prints.`;

/** Where main writes: stdout and stderr (tests capture them). */
export interface MainIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: MainIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** The exit status of a thrown error (see the module comment). */
export function exitStatus(err: unknown): 1 | 2 {
  return err instanceof ConfigError || (err instanceof WarrenError && USAGE_CODES.has(err.code)) ? 2 : 1;
}

async function dispatch(argv: string[], io: MainIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    io.err(`${USAGE}\n`);
    return 2;
  }
  if (cmd === "--version" || cmd === "-V" || cmd === "version") {
    io.out(`${versionLine()}\n`);
    return 0;
  }
  if (cmd === "help" || cmd === "--help" || cmd === "-h") {
    const [topic, extra] = rest;
    if (topic === undefined) {
      io.out(`${USAGE}\n`);
      return 0;
    }
    const text = COMMANDS[topic]?.help ?? TOPICS[topic];
    if (text === undefined || extra !== undefined) {
      io.err(`${USAGE}\n`);
      throw new ConfigError("", `no help for ${JSON.stringify(extra === undefined ? topic : `${topic} ${extra}`)}; see the commands above`, "help");
    }
    io.out(`${text}\n`);
    return 0;
  }
  const command = COMMANDS[cmd];
  if (command === undefined) throw new ConfigError("", `unknown command ${JSON.stringify(cmd)}; see warren --help`);
  return command.run(rest);
}

/** Runs warren with `argv` (without the program name); returns the exit status. Never throws. */
export async function runMain(argv: string[], io: MainIo = processIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    const line = `warren: ${oneLine(err)}`;
    io.err(`${line}\n`);
    reportFailure(line); // a --daemon child tells its parent
    return exitStatus(err);
  }
}

if (import.meta.main) {
  runMain(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

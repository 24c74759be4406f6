/**
 * @module main
 * Entry point: dispatch the command, print any error as one line, exit 0 / 1 / 2
 * (2 = bad configuration or usage). The only place that maps errors to statuses.
 */

import { ConfigError, oneLine } from "./lib/errors.ts";
import { runServer } from "./cli/server.ts";
import { SERVER_HELP } from "./cli/server-help.ts";
import { runClient } from "./cli/client.ts";
import { runUser } from "./cli/user.ts";
import { runToken } from "./cli/token.ts";
import { runWatchdog, WATCHDOG_HELP } from "./cli/watchdog.ts";
import { runCleanup } from "./cli/cleanup.ts";
import { reportFailure } from "./cli/daemon.ts";
import { ADMIN_HELP, isAdminCommand, runAdmin } from "./cli/admin.ts";
import { LOCKOUTS_HELP, runLockouts, runUnlock } from "./cli/lockouts.ts";
import { versionLine } from "./lib/version.ts";

const HELP = `usage: warren <command> [options]

commands:
  server     run the VPN server (ToyVpn protocol)            warren server --help
  client     connect this Linux host to a ToyVpn server      warren client --help
  user       manage the users file (user:password logins)    warren user --help
  token      keys and tokens for controller-issued access    warren token --help
  watchdog   start the server unless it runs (for cron)      warren watchdog --help
  cleanup    undo the NAT rules a killed server left behind  warren cleanup --help
  status     summary of the running server and its clients   warren help admin
  clients    connected clients with counters (--json)
  kick       end a client's session now
  set, get   change or show a setting live (log-level, idle-timeout, ...)
  reload     re-read the config file (same as SIGHUP)
  capture    start/stop a per-client pcap capture
  lockouts   handshake sources locked out (unlock ADDR lifts one)
  help       this text

  --version  print version, commit and build date

Quick start (as root):  warren server
Then point the Android ToyVpn app (or any ToyVpn client) at this host, port 8000,
with the secret the server prints.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "server":
      return runServer(rest);
    case "client":
      return runClient(rest);
    case "user":
      return runUser(rest);
    case "token":
      return runToken(rest);
    case "watchdog":
      return runWatchdog(rest);
    case "lockouts":
      return runLockouts(rest);
    case "unlock":
      return runUnlock(rest);
    case "cleanup":
      return runCleanup(rest);
    case "--version":
    case "-V":
    case "version":
      console.log(versionLine());
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(rest[0] === "server" ? SERVER_HELP : rest[0] === "watchdog" ? WATCHDOG_HELP : rest[0] === "lockouts" || rest[0] === "unlock" ? LOCKOUTS_HELP : isAdminCommand(rest[0]) || rest[0] === "admin" ? ADMIN_HELP : HELP);
      return 0;
    default:
      if (isAdminCommand(cmd)) return runAdmin(cmd, rest);
      throw new ConfigError("", `unknown command ${JSON.stringify(cmd)}; see warren --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof ConfigError;
    const line = `warren: ${usage && err.field ? "config: " : ""}${oneLine(err)}`;
    process.stderr.write(`${line}\n`);
    reportFailure(line); // a --daemon child tells its parent
    process.exitCode = usage ? 2 : 1;
  },
);

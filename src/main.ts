/**
 * @module main
 * Entry point: dispatch the command, print any error as one line, exit 0 / 1 / 2
 * (2 = bad configuration or usage). The only place that maps errors to statuses.
 */

import { ConfigError, oneLine } from "./lib/errors.ts";
import { runServer, SERVER_HELP } from "./cli/server.ts";
import { versionLine } from "./version.ts";

const HELP = `usage: warren <command> [options]

commands:
  server     run the VPN server (ToyVpn protocol)            warren server --help
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
    case "--version":
    case "-V":
    case "version":
      console.log(versionLine());
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(rest[0] === "server" ? SERVER_HELP : HELP);
      return 0;
    default:
      throw new ConfigError("", `unknown command ${JSON.stringify(cmd)}; see warren --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof ConfigError;
    process.stderr.write(`warren: ${usage && err.field ? "config: " : ""}${oneLine(err)}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);

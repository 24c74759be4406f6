/**
 * @module cli/watchdog
 * `warren watchdog --config FILE`: meant for cron, every minute. Starts the server
 * (daemonized, same config, see daemon.ts) unless the pid file names a live warren
 * server, logs each start with its reason, and exits within seconds.
 *
 * 1. Validate the config (a bad one fails here, exit 2, not in a restart loop) and
 *    insist on a configured secret: a generated one would change at every restart.
 * 2. Take the lock `<pid file>.lock` (pidfile.ts: atomic link, stale detection). If
 *    another watchdog holds it, that one is already starting the server: exit 0.
 * 3. Pid file: a live warren server -> exit 0, quietly. Missing, stale, or naming a
 *    process that is not warren -> start `warren server --config FILE --pid-file P
 *    --log-file L --daemon`-style and wait for it to report ready.
 * 4. Release the lock. Lines go to the log file (the server's too); errors also reach
 *    stderr through main.ts, so cron mails them.
 */

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { ServerConfigSchema } from "../config/server-schema.ts";
import { ConfigError, oneLine } from "../lib/errors.ts";
import { configureLogging, getLogger } from "../lib/log.ts";
import { claimFile, isWarrenProcess, pidAlive, readPid, releaseFile } from "../lib/pidfile.ts";
import { parseCommand, type OptionSpec } from "./args.ts";
import { selfCommand, spawnDaemon } from "./daemon.ts";

/** Pid file when neither --pid-file nor the config names one (systemd's RuntimeDirectory). */
export const DEFAULT_PID_FILE = "/run/warren/warren.pid";
/** Log file when neither --log-file nor the config names one (systemd's LogsDirectory). */
export const DEFAULT_LOG_FILE = "/var/log/warren/warren.log";

const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  "pid-file": { type: "string", key: "pidFile" },
  "log-file": { type: "string", key: "logFile" },
  help: { type: "boolean", short: "h" },
};

/** Help text of `warren watchdog`. */
export const WATCHDOG_HELP = `usage: warren watchdog --config FILE [--pid-file PATH] [--log-file PATH]

Starts the server in the background, with FILE, unless it is already running
(the pid file names a live warren server). Meant for cron, every minute:

  * * * * * root /usr/local/bin/warren watchdog --config /etc/warren/warren.json

Two watchdogs at once start one server (lock file <pid file>.lock). Each start
is logged with its reason. FILE must set "secret" (a generated secret would
change with every restart).

options:
  -c, --config FILE     server config file (required)
      --pid-file PATH   the server's pid file; config pidFile, else ${DEFAULT_PID_FILE}
      --log-file PATH   log of the watchdog and the server; config logFile,
                        else ${DEFAULT_LOG_FILE}
  -h, --help            this text

examples:
  warren watchdog --config /etc/warren/warren.json
  warren watchdog -c /etc/warren/warren.json --pid-file /run/warren/lab.pid --log-file /tmp/lab.log`;

/** Whether the server behind `pidFile` runs: `{ pid }`, or the reason it does not. */
export function serverState(pidFile: string): { running: true; pid: number } | { running: false; reason: string } {
  const pid = readPid(pidFile);
  if (pid === null) return { running: false, reason: `no pid file ${pidFile}` };
  if (pid === 0) return { running: false, reason: `pid file ${pidFile} holds no pid` };
  if (isWarrenProcess(pid, "server")) return { running: true, pid };
  if (!pidAlive(pid)) return { running: false, reason: `the server (pid ${pid} in ${pidFile}) is gone` };
  return { running: false, reason: `pid ${pid} in ${pidFile} is not a warren server (stale pid file)` };
}

/** Runs one watchdog pass. Returns the exit status. */
export async function runWatchdog(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS, "watchdog");
  if (values.help) {
    console.log(WATCHDOG_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new ConfigError("", `unexpected argument ${JSON.stringify(positionals[0])} (see warren watchdog --help)`);
  if (typeof values.config !== "string") throw new ConfigError("", "required: the server's config file (see warren watchdog --help)", "--config");
  const configFile = resolve(values.config);
  const cfg = loadConfig(ServerConfigSchema, { config: configFile }, env, { WARREN_SECRET: "secret" });
  if (cfg.secret === undefined) {
    throw new ConfigError("secret", "required: a generated secret would change at every restart", `config: ${configFile}: secret`);
  }
  const pidFile = resolve(pick(values.pidFile, cfg.pidFile, DEFAULT_PID_FILE));
  const logFile = resolve(pick(values.logFile, cfg.logFile, DEFAULT_LOG_FILE));

  mkdirSync(dirname(logFile), { recursive: true, mode: 0o755 });
  configureLogging({ level: cfg.logLevel, format: cfg.logFormat, file: { path: logFile, maxSize: cfg.logMaxSize, keep: cfg.logKeep } });
  const log = getLogger("warren:watchdog");
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o755 });
  const lockFile = `${pidFile}.lock`;
  const lock = claimFile(lockFile, (pid) => isWarrenProcess(pid, "watchdog"));
  if (!lock.ok) {
    log.debug(`another watchdog (pid ${lock.holder}) holds ${lockFile}; leaving it to that one`);
    return 0;
  }
  try {
    const state = serverState(pidFile);
    if (state.running) {
      log.debug(`server running (pid ${state.pid})`);
      return 0;
    }
    log.warn(`starting the server: ${state.reason}`);
    try {
      const d = await spawnDaemon(selfCommand(["server", "--config", configFile, "--pid-file", pidFile, "--log-file", logFile]), { logFile, cwd: "/" });
      log.info(`started the server, pid ${d.pid} (${state.reason})`);
      return 0;
    } catch (e) {
      log.error(`the server did not start: ${oneLine(e)}`);
      throw e;
    }
  } finally {
    releaseFile(lockFile);
  }
}

function pick(flag: unknown, fromConfig: unknown, fallback: string): string {
  if (typeof flag === "string" && flag !== "") return flag;
  if (typeof fromConfig === "string" && fromConfig !== "") return fromConfig;
  return fallback;
}

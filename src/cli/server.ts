/**
 * @module cli/server
 * `warren server`: flags + config file -> a running Server on the real TUN and UDP
 * socket with the ToyVpn front door, a startup summary on stdout, and a clean stop on
 * SIGINT/SIGTERM. Exits 1 when the server stops on its own (a TUN read failure).
 */

import { randomInt } from "node:crypto";
import { networkInterfaces } from "node:os";
import { Ops } from "../admin/ops.ts";
import { AuthSetup } from "../auth/setup.ts";
import { handshakeLimits } from "../config/auth-schema.ts";
import { bool } from "../config/fields.ts";
import { type Loaded, loadSettings } from "../config/load.ts";
import { type ServerConfig, ServerConfigSchema } from "../config/server-schema.ts";
import { systemClock } from "../lib/clock.ts";
import { ConfigError, oneLine } from "../lib/errors.ts";
import { configureLogging, getLogger } from "../lib/log.ts";
import { holdPidFile } from "../lib/pidfile.ts";
import { FileLeaseStore } from "../platform/linux/lease-file.ts";
import { linuxNatDeps, logLeftovers, type NatHandle, setupNat } from "../platform/linux/nat.ts";
import { removeNatLeftovers } from "../platform/linux/nat-state.ts";
import { setSocketBuffers } from "../platform/linux/sockbuf.ts";
import { formatCidr, formatEndpoint } from "../protocol/ip.ts";
import type { DoorSpec } from "../server/door.ts";
import { toyVpnDoor } from "../server/doors/toyvpn.ts";
import { Pool4 } from "../server/pool.ts";
import { Server } from "../server/server.ts";
import { openUdp } from "../transport/udp.ts";
import { flagsFromSchema, type OptionSpec, parseCommand } from "./args.ts";
import { emitSummary, reportReady, runInBackground } from "./daemon.ts";
import { dataPathWiring } from "./server-datapath.ts";
import { SERVER_HELP } from "./server-help.ts";
import { wireGuardFromConfig } from "./server-wg.ts";
import { checkMaxClients, checkPools } from "./preflight.ts";
import { natOffNote, summary } from "./server-summary.ts";

export { SERVER_HELP };

/** `warren server`'s flags: one per config key, plus --config, --daemon and --help. */
const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  ...flagsFromSchema(ServerConfigSchema.entries, bool, {
    rename: { routes: "route", searchDomains: "search", "nat.enabled": "nat", "nat.outInterface": "nat-out" },
    short: { listen: "l" },
  }),
  daemon: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Shorter configured secrets get a warning at start. */
const WEAK_SECRET_LENGTH = 16;

const SECRET_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/** A random secret that is easy to type on a phone: 22 characters, ~128 bits. */
export function generateSecret(): string {
  let s = "";
  for (let i = 0; i < 22; i++) s += SECRET_ALPHABET[randomInt(SECRET_ALPHABET.length)];
  return s;
}

/**
 * Parses and validates `warren server` arguments (and checks --max-clients against the
 * pool); the result also names each setting the way it was given, for later messages.
 */
export function loadServerArgs(argv: string[], env: Record<string, string | undefined>): Loaded<ServerConfig> | "help" {
  const { values, positionals, names } = parseCommand(argv, OPTIONS, "server");
  if (values.help) return "help";
  if (positionals.length > 0) throw new ConfigError("", `unexpected argument ${JSON.stringify(positionals[0])} (see warren server --help)`);
  delete values.help;
  delete values.daemon;
  if ((values["nat.outInterface"] !== undefined || values["nat.allow"] !== undefined) && values["nat.enabled"] === undefined) values["nat.enabled"] = true;
  const loaded = loadSettings(ServerConfigSchema, values, env, { WARREN_SECRET: "secret", WARREN_CONTROL_SOCKET: "controlSocket", WARREN_STATE_DIR: "stateDir", WARREN_DATA_PATH: "dataPath" }, names);
  checkMaxClients(loaded.config, loaded);
  return loaded;
}

/** Parses and validates `warren server` arguments. */
export function serverConfigFromArgs(argv: string[], env: Record<string, string | undefined>): ServerConfig | "help" {
  const loaded = loadServerArgs(argv, env);
  return loaded === "help" ? "help" : loaded.config;
}

/** Everything a running server is made of, for the stop sequence. */
interface Running {
  server: Server;
  auth: AuthSetup;
  ops: Ops;
  nat: NatHandle | null;
}

/** Runs the server until SIGINT/SIGTERM. Returns the exit status. */
export async function runServer(argv: string[]): Promise<number> {
  const loaded = loadServerArgs(argv, process.env);
  if (loaded === "help") {
    console.log(SERVER_HELP);
    return 0;
  }
  const cfg = loaded.config;
  // Errors about a setting found while starting (a log or pid file, a capture folder, a key file) name it as given.
  const named = (e: unknown): never => {
    throw e instanceof ConfigError ? e.named(loaded.label) : e;
  };
  const warnings = checkPools(cfg, networkInterfaces(), loaded);
  if (argv.includes("--daemon")) return runInBackground(argv, cfg).catch(named);
  try {
    configureLogging({ level: cfg.logLevel, format: cfg.logFormat, ...(cfg.logFile ? { file: { path: cfg.logFile, maxSize: cfg.logMaxSize, keep: cfg.logKeep } } : {}) });
    if (cfg.pidFile) holdPidFile(cfg.pidFile);
  } catch (e) {
    named(e);
  }
  const log = getLogger("warren");
  for (const w of warnings) log.warn(w);
  keepServingOnStrayErrors(log);
  const run = await startAll(argv, cfg).catch(named);
  // Handlers first: whoever hears "ready" (a --daemon parent, a test) may signal at once.
  const signalled = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  log.warn("ToyVpn mode sends the secret and all traffic unencrypted; use it only on trusted networks");
  if (cfg.secret !== undefined && cfg.secret.length < WEAK_SECRET_LENGTH) {
    log.warn(`the shared secret is ${cfg.secret.length} characters long; use at least ${WEAK_SECRET_LENGTH} random ones: it is checked for every handshake, so guessing is limited only by its size (docs/AUTH.md)`);
  }
  log.info(`server ready: udp ${formatEndpoint(cfg.listen.host, cfg.listen.port)}, tun ${cfg.tun}`);
  reportReady();
  run.ops.ready(`serving udp ${formatEndpoint(cfg.listen.host, cfg.listen.port)}, tun ${cfg.tun}`);

  const ending = await Promise.race([signalled, run.server.failure]);
  run.ops.stopping();
  if (typeof ending === "string") log.info(`${ending}: stopping`);
  await stopAll(run);
  if (typeof ending !== "string") throw new Error(`server stopped: ${oneLine(ending)}`);
  log.info("stopped");
  return 0;
}

/** Opens everything in order; on a failure, closes what was opened and rethrows. */
async function startAll(argv: string[], cfg: ServerConfig): Promise<Running> {
  const log = getLogger("warren");
  const ops = await Ops.prepare({
    config: cfg,
    reloadConfig: () => {
      const next = serverConfigFromArgs(argv, process.env);
      if (next === "help") throw new ConfigError("", "unexpected --help");
      return next;
    },
    configFile: (parseCommand(argv, OPTIONS).values.config as string | undefined) ?? null,
    now: () => systemClock.now(),
    log,
  });
  let doors: Doors;
  let server: Server;
  try {
    doors = frontDoors(cfg);
    const dp = dataPathWiring(cfg, log, doors.wgNative);
    server = await Server.start(cfg, {
      openTun: dp.openTun,
      openTransport: async (host, port) => dp.opened(host, port, await openTransport(host, port, cfg.udpBuffer)),
      ...(dp.openDataPath ? { openDataPath: dp.openDataPath } : {}),
      doors: doors.specs,
      clock: systemClock,
      log,
      auth: doors.auth,
      leases: { store: new FileLeaseStore(cfg.stateDir, cfg.tun, getLogger("warren:leases")), wallNow: () => Date.now() },
    });
  } catch (e) {
    await ops.stop(); // gives back the control socket it claimed
    throw e;
  }
  const { auth, toy, generated, wireguard } = doors;
  auth.attach(server);
  const run: Running = { server, auth, ops, nat: null };
  try {
    ops.start(server);
    const natLog = getLogger("warren:nat");
    if (cfg.nat.enabled) {
      run.nat = setupNat({
        tun: cfg.tun, mtu: cfg.mtu, pool4: formatCidr(cfg.pool), pool6: cfg.pool6 ? formatCidr(cfg.pool6) : null,
        outInterface: cfg.nat.outInterface, allow: cfg.nat.allow.map(formatCidr), stateDir: cfg.stateDir, log: natLog,
      });
    } else logLeftovers(removeNatLeftovers({ stateDir: cfg.stateDir, tun: cfg.tun, checkRunning: false, log: natLog }, linuxNatDeps), natLog);
    const nat = run.nat ? run.nat.describe() : natOffNote(cfg.routes);
    emitSummary(summary(cfg, server, { pushed: toy.params.template, generatedSecret: generated, auth: auth.describe(), nat, wireguard }));
  } catch (e) {
    await stopAll(run);
    throw e;
  }
  return run;
}

/**
 * A bug in some handler (an unhandled rejection, an exception thrown out of a callback)
 * is logged with its stack and the server keeps serving everyone else.
 */
export function keepServingOnStrayErrors(log: Pick<ReturnType<typeof getLogger>, "error">): void {
  const report = (what: string) => (e: unknown) => {
    log.error(`${what} (still serving): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  };
  process.on("unhandledRejection", report("unhandled rejection"));
  process.on("uncaughtException", report("uncaught exception"));
}

/** The front doors and what they authenticate with. */
interface Doors {
  specs: DoorSpec[];
  auth: AuthSetup;
  toy: ReturnType<typeof toyVpnDoor>;
  /** The secret generated at this start, or null. */
  generated: string | null;
  /** The WireGuard door's summary line, or null when it is off. */
  wireguard: string | null;
  /** The WireGuard door runs and its AEAD is OpenSSL's (the fast path's workers can seal for it). */
  wgNative: boolean;
}

/** Builds the front doors from the config; throws ConfigError for what they refuse. */
function frontDoors(cfg: ServerConfig): Doors {
  const generated = AuthSetup.needsSecret(cfg) ? generateSecret() : null;
  const auth = AuthSetup.load({ ...cfg, secret: generated ?? cfg.secret }, { clock: systemClock, log: getLogger("warren:auth"), pool: new Pool4(cfg.pool.address, cfg.pool.prefixLen) });
  const toy = toyVpnDoor({ ...cfg, limits: handshakeLimits(cfg) }, auth.auth);
  // ToyVpn first: on a shared socket it takes what no door claims (and counts it as junk).
  const wg = wireGuardFromConfig(cfg, getLogger("warren:wg"));
  return { specs: wg ? [toy, wg.spec] : [toy], auth, toy, generated, wireguard: wg?.summary ?? null, wgNative: wg?.native ?? false };
}

/** Stops in reverse order of starting. */
async function stopAll(run: Running): Promise<void> {
  run.auth.stop();
  const leasesSaved = run.server.stop();
  run.nat?.teardown();
  await Promise.all([leasesSaved, run.ops.stop()]);
}

/** The UDP socket of one listen address, with the configured buffer sizes. */
async function openTransport(host: string, port: number, bufferBytes: number) {
  const t = await openUdp(host, port, getLogger("warren:udp"));
  if (bufferBytes > 0 && t.fd !== null) {
    const log = getLogger("warren");
    try {
      const got = setSocketBuffers(t.fd, bufferBytes);
      log.debug(`udp buffers: receive ${got.rcvbuf} B, send ${got.sndbuf} B (kernel counts double)`);
    } catch (e) {
      log.warn(`${oneLine(e)}; keeping the kernel default`);
    }
  }
  return t;
}

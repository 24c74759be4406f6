/**
 * @module cli/server
 * `warren server`: flags + config file -> a running Server on the real TUN and
 * UDP socket, a startup summary on stdout, and a clean stop on SIGINT/SIGTERM.
 */

import { randomInt } from "node:crypto";
import { networkInterfaces } from "node:os";
import { AuthSetup } from "../auth/setup.ts";
import { Pool4 } from "../server/pool.ts";
import { loadConfig } from "../config/load.ts";
import { ServerConfigSchema, type ServerConfig } from "../config/server-schema.ts";
import { Server, serverAddress6 } from "../server/server.ts";
import { systemClock } from "../lib/clock.ts";
import { ConfigError, oneLine } from "../lib/errors.ts";
import { configureLogging, getLogger } from "../lib/log.ts";
import { formatCidr, formatIpv4, formatIpv6 } from "../protocol/ip.ts";
import { openUdp } from "../transport/udp.ts";
import { openLinuxTun } from "../tun/linux.ts";
import { setSocketBuffers } from "../platform/linux/sockbuf.ts";
import { NAT_STATE_DIR, type NatHandle, setupNat } from "../platform/linux/nat.ts";
import { Ops } from "../admin/ops.ts";
import { versionLine } from "../lib/version.ts";
import { parseCommand, type OptionSpec } from "./args.ts";
import { emitSummary, reportReady, runInBackground } from "./daemon.ts";
import { holdPidFile } from "../lib/pidfile.ts";

const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  listen: { type: "string", short: "l" },
  secret: { type: "string" },
  tun: { type: "string" },
  pool: { type: "string" },
  pool6: { type: "string" },
  mtu: { type: "string" },
  dns: { type: "string", multiple: true },
  route: { type: "string", multiple: true, key: "routes" },
  search: { type: "string", multiple: true, key: "searchDomains" },
  isolate: { type: "boolean" },
  nat: { type: "boolean", key: "nat.enabled" },
  "nat-out": { type: "string", key: "nat.outInterface" },
  "idle-timeout": { type: "string", key: "idleTimeout" },
  "max-clients": { type: "string", key: "maxClients" },
  users: { type: "string" },
  "token-key-file": { type: "string", key: "tokenKeyFile" },
  revoked: { type: "string" },
  "handshake-rate": { type: "string", key: "handshakeRate" },
  "handshake-budget": { type: "string", key: "handshakeBudget" },
  "lockout-failures": { type: "string", key: "lockoutFailures" },
  "udp-buffer": { type: "string", key: "udpBuffer" },
  "log-level": { type: "string", key: "logLevel" },
  "log-format": { type: "string", key: "logFormat" },
  "log-file": { type: "string", key: "logFile" },
  "log-max-size": { type: "string", key: "logMaxSize" },
  "log-keep": { type: "string", key: "logKeep" },
  "control-socket": { type: "string", key: "controlSocket" },
  metrics: { type: "string" },
  "capture-dir": { type: "string", key: "captureDir" },
  "capture-max-bytes": { type: "string", key: "captureMaxBytes" },
  "on-connect": { type: "string", key: "onConnect" },
  "on-disconnect": { type: "string", key: "onDisconnect" },
  "pid-file": { type: "string", key: "pidFile" },
  daemon: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Help text of `warren server`. */
export const SERVER_HELP = `usage: warren server [options]

Runs a ToyVpn-compatible VPN server: one TUN device, many clients, each with its
own address from the pool. Needs root or CAP_NET_ADMIN.

options (config file keys in parentheses; flags override the file):
  -c, --config FILE        JSON config file
  -l, --listen HOST:PORT   UDP address to listen on (listen)       [::]:8000
      --secret S           shared secret; env WARREN_SECRET (secret)  generated
      --tun NAME           TUN interface name (tun)                warren0
      --pool CIDR          IPv4 client pool; the server takes the first
                           address (pool)                          10.8.0.0/24
      --pool6 CIDR         IPv6 client pool, e.g. fd00:8::/64 (pool6)   off
      --mtu N              tunnel MTU, 576-32767 (mtu)             1400
      --dns ADDR           DNS server pushed to clients, repeatable (dns)  1.1.1.1
      --route CIDR         route pushed to clients, repeatable (routes)  0.0.0.0/0
      --search DOMAIN      DNS search domain pushed, repeatable (searchDomains)
      --isolate            no traffic between clients (isolate)
      --nat                forward and masquerade the pools to the internet,
                           clamp TCP MSS; removed again on exit (nat.enabled)
      --nat-out IFACE      masquerade out of IFACE instead of the default-route
                           interface; implies --nat (nat.outInterface)
      --idle-timeout SEC   end sessions idle this long (idleTimeout)  180
      --max-clients N      refuse new sessions beyond N, 0 = pool size (maxClients)
      --users FILE         users file: "user:password[:deviceid]" logins (users)
      --token-key-file K   accept controller tokens signed with K (tokenKeyFile)
      --revoked FILE       revoked token ids / sha256: hashes (revoked)
      --handshake-rate N   handshakes a second per source address, bursts
                           of 15x, 0 = off (handshakeRate)         2
      --handshake-budget N handshakes a second in all, 0 = off (handshakeBudget)  1000
      --lockout-failures N failures in 60 s that lock a source out for 5 min,
                           0 = off (lockoutFailures)               10
      --udp-buffer BYTES   UDP socket receive/send buffers, 0 = kernel
                           default (udpBuffer)                     4194304
      --log-level LEVEL    silent|error|warn|info|debug|trace (logLevel)  info
      --log-format FMT     auto|text|json (logFormat)              auto
      --log-file PATH      log to PATH instead of stderr (logFile)
      --log-max-size SIZE  rotate the log file at SIZE, e.g. 10M (logMaxSize)  10M
      --log-keep N         rotated files kept: PATH.1 .. PATH.N (logKeep)  5
      --control-socket P   control socket for warren status/clients/set/...;
                           env WARREN_CONTROL_SOCKET (controlSocket)  /run/warren/warren.sock
      --metrics HOST:PORT  serve /metrics (Prometheus), /healthz and a dashboard
                           at / over HTTP (metrics)                off
      --capture-dir DIR    capture every client to DIR/<id>-<time>.pcap (captureDir)
      --capture-max-bytes SIZE  size limit of one capture file (captureMaxBytes)  100M
      --on-connect CMD     run "sh -c CMD" when a client connects (onConnect)
      --on-disconnect CMD  ... when a session ends (onDisconnect); the client is
                           in WARREN_CLIENT_ID, WARREN_CLIENT_ADDR, ... (docs/OPERATIONS.md)
      --pid-file PATH      keep the server's pid in PATH while it runs; refuse to
                           start when it names a running warren (pidFile)
      --daemon             run in the background: start, print the summary and
                           return once the server is up (pair with --log-file
                           and --pid-file; see also warren watchdog --help)
  -h, --help               this text

Clients send the secret as "secret" or "secret:deviceid"; a device id keeps its
tunnel address across reconnects. With --users or --token-key-file they may send
"user:password[:deviceid]" or a token instead (docs/AUTH.md, docs/TOKENS.md); the
shared secret is then off unless --secret is given. SIGHUP re-reads the users
file, the key file and the revocation list. ToyVpn sends the secret and all traffic
unencrypted: use it only on networks you trust, or inside another tunnel.`;

const SECRET_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/** A random secret that is easy to type on a phone: 22 characters, ~128 bits. */
export function generateSecret(): string {
  let s = "";
  for (let i = 0; i < 22; i++) s += SECRET_ALPHABET[randomInt(SECRET_ALPHABET.length)];
  return s;
}

/** Parses and validates `warren server` arguments. */
export function serverConfigFromArgs(argv: string[], env: Record<string, string | undefined>): ServerConfig | "help" {
  const { values, positionals } = parseCommand(argv, OPTIONS);
  if (values.help) return "help";
  if (positionals.length > 0) throw new ConfigError("", `unexpected argument ${JSON.stringify(positionals[0])}`);
  delete values.help;
  delete values.daemon;
  if (values["nat.outInterface"] !== undefined && values["nat.enabled"] === undefined) values["nat.enabled"] = true;
  return loadConfig(ServerConfigSchema, values, env, { WARREN_SECRET: "secret", WARREN_CONTROL_SOCKET: "controlSocket" });
}

/** Runs the server until SIGINT/SIGTERM. Returns the exit status. */
export async function runServer(argv: string[]): Promise<number> {
  const cfg = serverConfigFromArgs(argv, process.env);
  if (cfg === "help") {
    console.log(SERVER_HELP);
    return 0;
  }
  if (argv.includes("--daemon")) return runInBackground(argv, cfg);
  configureLogging({ level: cfg.logLevel, format: cfg.logFormat, ...(cfg.logFile ? { file: { path: cfg.logFile, maxSize: cfg.logMaxSize, keep: cfg.logKeep } } : {}) });
  const log = getLogger("warren");
  if (cfg.pidFile) holdPidFile(cfg.pidFile);
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
  const generated = AuthSetup.needsSecret(cfg);
  const secret = generated ? generateSecret() : cfg.secret;
  const authSetup = AuthSetup.load({ ...cfg, secret }, { clock: systemClock, log: getLogger("warren:auth"), pool: new Pool4(cfg.pool.address, cfg.pool.prefixLen) });
  const server = await Server.start(cfg, {
    openTun: (spec) => openLinuxTun({ ...spec, onError: (e) => getLogger("warren:tun").error(`tun read stopped: ${oneLine(e)}`) }),
    openTransport: async (host, port) => {
      const t = await openUdp(host, port, getLogger("warren:udp"));
      if (cfg.udpBuffer > 0 && t.fd !== null) {
        try {
          const got = setSocketBuffers(t.fd, cfg.udpBuffer);
          log.debug(`udp buffers: receive ${got.rcvbuf} B, send ${got.sndbuf} B (kernel counts double)`);
        } catch (e) {
          log.warn(`${oneLine(e)}; keeping the kernel default`);
        }
      }
      return t;
    },
    auth: authSetup.auth,
    clock: systemClock,
    log,
  });
  authSetup.attach(server);
  // The reload path (SIGHUP and `warren reload`, admin/ops.ts): the config file, then the
  // users / key / revocation files, ending sessions they no longer allow.
  ops.onReload.push(() => void authSetup.reload());
  let nat: NatHandle | null = null;
  try {
    ops.start(server);
    if (cfg.nat.enabled) {
      nat = setupNat({
        tun: cfg.tun, mtu: cfg.mtu, pool4: formatCidr(cfg.pool), pool6: cfg.pool6 ? formatCidr(cfg.pool6) : null,
        outInterface: cfg.nat.outInterface, stateDir: process.env.WARREN_STATE_DIR || NAT_STATE_DIR, log: getLogger("warren:nat"),
      });
    }
    emitSummary(summary(server, generated ? (secret ?? null) : null, authSetup.describe()) + `\n  nat       ${nat ? nat.describe() : natOffNote(cfg.routes)}\n`);
  } catch (e) {
    server.stop();
    authSetup.stop();
    nat?.teardown();
    await ops.stop();
    throw e;
  }
  log.warn("ToyVpn mode sends the secret and all traffic unencrypted; use it only on trusted networks");
  log.info(`server ready: udp ${hostPort(cfg.listen.host, cfg.listen.port)}, tun ${cfg.tun}`);
  reportReady();

  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  log.info(`${signal}: stopping`);
  authSetup.stop();
  server.stop();
  nat?.teardown();
  await ops.stop();
  log.info("stopped");
  return 0;
}

/** The summary's nat line when NAT is off: say what a pushed default route then means. */
function natOffNote(routes: ServerConfig["routes"]): string {
  const pushesDefault = routes.some((r) => r.prefixLen === 0);
  return pushesDefault
    ? "off: clients send all traffic here but reach only this host and each other; --nat gives them the internet"
    : "off (--nat to forward and masquerade)";
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** This host's non-loopback addresses, for "how a phone connects". */
function hostAddresses(exclude: string): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name === exclude) continue;
    for (const a of addrs ?? []) if (!a.internal && a.family === "IPv4") out.push(a.address);
  }
  return out;
}

function summary(server: Server, generatedSecret: string | null, auth: string): string {
  const c = server.config;
  const p = server.pool4;
  const first = formatIpv4(p.serverAddress + 1);
  const last = formatIpv4(p.serverAddress + p.capacity);
  const hosts = hostAddresses(c.tun);
  const lines = [
    versionLine(),
    `  listen    udp ${hostPort(c.listen.host, c.listen.port)}${c.listen.host === "::" ? " (IPv4 and IPv6)" : ""}`,
    `  tun       ${c.tun} ${formatIpv4(p.serverAddress)}/${c.pool.prefixLen}${server.pool6 ? ` ${formatIpv6(serverAddress6(server.pool6))}/${server.pool6.prefixLen}` : ""}, mtu ${c.mtu}`,
    `  pool      ${formatCidr(c.pool)}: ${first} - ${last} (${p.capacity} clients)${c.pool6 ? `, IPv6 ${formatCidr(c.pool6)}` : ""}`,
    `  pushed    ${server.paramsTemplate}`,
    `  clients   ${c.isolate ? "isolated from each other" : "can reach each other (hub)"}; idle timeout ${c.idleTimeout} s`,
    `  auth      ${auth}`,
    generatedSecret !== null
      ? `  secret    ${generatedSecret}   (generated now; set --secret or WARREN_SECRET to keep one)`
      : `  secret    ${c.secret !== undefined ? "(set by configuration, not shown)" : "off"}`,
    `  connect   ToyVpn app: Server Address ${hosts.length ? hosts.join(" or ") : "<this host>"}, Server Port ${c.listen.port}, Shared Secret ${generatedSecret !== null || c.secret !== undefined ? "as above" : "user:password or a token"} (append ":<device-id>" to keep an address)`,
  ];
  return lines.join("\n");
}

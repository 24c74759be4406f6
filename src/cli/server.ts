/**
 * @module cli/server
 * `warren server`: flags + config file -> a running Server on the real TUN and
 * UDP socket, a startup summary on stdout, and a clean stop on SIGINT/SIGTERM.
 */

import { randomInt } from "node:crypto";
import { networkInterfaces } from "node:os";
import { SecretAuth } from "../auth/secret.ts";
import { loadConfig } from "../config/load.ts";
import { ServerConfigSchema, type ServerConfig } from "../config/schema.ts";
import { Server } from "../engine/server.ts";
import { systemClock } from "../lib/clock.ts";
import { ConfigError, oneLine } from "../lib/errors.ts";
import { configureLogging, getLogger } from "../lib/log.ts";
import { formatCidr, formatIpv4 } from "../protocol/ip.ts";
import { openUdp } from "../transport/udp.ts";
import { openLinuxTun } from "../tun/linux.ts";
import { setSocketBuffers } from "../platform/linux/sockbuf.ts";
import { versionLine } from "../version.ts";
import { parseCommand, type OptionSpec } from "./args.ts";

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
  "idle-timeout": { type: "string", key: "idleTimeout" },
  "max-clients": { type: "string", key: "maxClients" },
  "udp-buffer": { type: "string", key: "udpBuffer" },
  "log-level": { type: "string", key: "logLevel" },
  "log-format": { type: "string", key: "logFormat" },
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
      --idle-timeout SEC   end sessions idle this long (idleTimeout)  180
      --max-clients N      refuse new sessions beyond N, 0 = pool size (maxClients)
      --udp-buffer BYTES   UDP socket receive/send buffers, 0 = kernel
                           default (udpBuffer)                     4194304
      --log-level LEVEL    silent|error|warn|info|debug|trace (logLevel)  info
      --log-format FMT     auto|text|json (logFormat)              auto
  -h, --help               this text

Clients send the secret as "secret" or "secret:deviceid"; a device id keeps its
tunnel address across reconnects. ToyVpn sends the secret and all traffic
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
  return loadConfig(ServerConfigSchema, values, env, { WARREN_SECRET: "secret" });
}

/** Runs the server until SIGINT/SIGTERM. Returns the exit status. */
export async function runServer(argv: string[]): Promise<number> {
  const cfg = serverConfigFromArgs(argv, process.env);
  if (cfg === "help") {
    console.log(SERVER_HELP);
    return 0;
  }
  configureLogging({ level: cfg.logLevel, format: cfg.logFormat });
  const log = getLogger("warren");
  const generated = cfg.secret === undefined;
  const secret = cfg.secret ?? generateSecret();
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
    auth: new SecretAuth(secret),
    clock: systemClock,
    log,
  });
  process.stdout.write(summary(server, generated ? secret : null) + "\n");
  log.warn("ToyVpn mode sends the secret and all traffic unencrypted; use it only on trusted networks");
  log.info(`server ready: udp ${hostPort(cfg.listen.host, cfg.listen.port)}, tun ${cfg.tun}`);

  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  log.info(`${signal}: stopping`);
  server.stop();
  log.info("stopped");
  return 0;
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

function summary(server: Server, generatedSecret: string | null): string {
  const c = server.config;
  const p = server.pool4;
  const first = formatIpv4(p.serverAddress + 1);
  const last = formatIpv4(p.serverAddress + p.capacity);
  const hosts = hostAddresses(c.tun);
  const lines = [
    versionLine(),
    `  listen    udp ${hostPort(c.listen.host, c.listen.port)}${c.listen.host === "::" ? " (IPv4 and IPv6)" : ""}`,
    `  tun       ${c.tun} ${formatIpv4(p.serverAddress)}/${c.pool.prefixLen}${c.pool6 ? ` ${formatCidr(c.pool6).replace(/::\/(\d+)$/, "::1/$1")}` : ""}, mtu ${c.mtu}`,
    `  pool      ${formatCidr(c.pool)}: ${first} - ${last} (${p.capacity} clients)${c.pool6 ? `, IPv6 ${formatCidr(c.pool6)}` : ""}`,
    `  pushed    ${server.paramsTemplate}`,
    `  clients   ${c.isolate ? "isolated from each other" : "can reach each other (hub)"}; idle timeout ${c.idleTimeout} s`,
    generatedSecret !== null
      ? `  secret    ${generatedSecret}   (generated now; set --secret or WARREN_SECRET to keep one)`
      : `  secret    (set by configuration, not shown)`,
    `  connect   ToyVpn app: Server Address ${hosts.length ? hosts.join(" or ") : "<this host>"}, Server Port ${c.listen.port}, Shared Secret as above (append ":<device-id>" to keep an address)`,
  ];
  return lines.join("\n");
}

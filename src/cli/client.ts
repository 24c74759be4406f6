/**
 * @module cli/client
 * `warren client`: flags + config file -> a Client engine on a real TUN, connected UDP
 * sockets and the Linux route table; one `connected: ...` line on stdout once the tunnel
 * is up; on SIGINT/SIGTERM everything it added is removed (and, with `--dns apply`,
 * resolv.conf restored) and the exit status is 0.
 */

import { ClientConfigSchema, type ClientConfig, type ServerAddress } from "../config/client-schema.ts";
import { bool } from "../config/fields.ts";
import { loadConfig } from "../config/load.ts";
import { Client } from "../client/client.ts";
import { ClientDns, withDns } from "../client/dns.ts";
import { ClientNetConfig, type NetOps } from "../client/net.ts";
import { mtuOf, primaryAddress } from "../client/params.ts";
import { systemClock } from "../lib/clock.ts";
import { ConfigError } from "../lib/errors.ts";
import { configureLogging, getLogger } from "../lib/log.ts";
import { FileStateStore } from "../platform/linux/client-state.ts";
import { addRoute4, addRoute6, delRoute4, delRoute6, setMtu } from "../platform/linux/netconf.ts";
import { FileDnsBackup, readResolvConf, writeResolvConf } from "../platform/linux/resolvconf.ts";
import { routeTo } from "../platform/linux/route-lookup.ts";
import { formatEndpoint } from "../protocol/ip.ts";
import type { Params } from "../protocol/toyvpn.ts";
import { openClientUdp, resolveServer } from "../transport/client-udp.ts";
import { openLinuxTun } from "../tun/linux.ts";
import { flagsFromSchema, type OptionSpec, parseCommand } from "./args.ts";

/** `warren client`'s flags: one per config key (as for the server), plus --config and --help. */
const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  ...flagsFromSchema(ClientConfigSchema.entries, bool, { short: { server: "s" } }),
  help: { type: "boolean", short: "h" },
};

/** Help text of `warren client`. */
export const CLIENT_HELP = `usage: warren client --server HOST:PORT --secret S [options]

Connects to a ToyVpn server (warren, or any server speaking the Android ToyVpn
protocol), configures a TUN from the parameters it pushes and keeps the tunnel up,
reconnecting by itself, until Ctrl-C or SIGTERM. Needs root or CAP_NET_ADMIN.

options (config file keys in parentheses; flags override the file):
  -c, --config FILE        JSON config file
  -s, --server HOST:PORT   server name or address; [v6]:PORT for IPv6 (server)  port 8000
      --secret S           shared secret; env WARREN_SECRET (secret)
      --id ID              device id: the server keeps this device's address (id)
      --tun NAME           TUN interface name (tun)                 warren1
      --routes MODE        pushed: install the pushed routes; none: only the
                           interface address (routes)               pushed
      --dns MODE           show: pushed DNS servers are only printed; apply: they
                           (and search domains) replace the resolv.conf content
                           while the tunnel is up, the original comes back at
                           stop (dns)                               show
      --resolv-conf FILE   the file --dns apply rewrites in place (resolvConf)
                                                                    /etc/resolv.conf
      --state-dir DIR      where the client remembers the routes it added and the
                           original resolv.conf, so a killed run is cleaned up by
                           the next (stateDir)                      /run/warren
      --log-level LEVEL    silent|error|warn|info|debug|trace (logLevel)  info
      --log-format FMT     auto|text|json (logFormat)               auto
  -h, --help               this text

examples:
  warren client --server vpn.example.org:8000 --secret "$SECRET"
  WARREN_SECRET=... warren client -s [2001:db8::1]:8000 --id laptop --dns apply
  warren client --config /etc/warren/client.json

A pushed default route (r,0.0.0.0,0 / r,::,0) is installed as 0.0.0.0/1 + 128.0.0.0/1
(::/1 + 8000::/1) next to a host route to the server via the current gateway, so the
tunnel never captures its own datagrams and the real default route is never touched.
ToyVpn sends the secret and all traffic unencrypted: use it only on trusted networks.`;

/** The validated configuration, with the fields the client cannot do without. */
export type ClientSettings = ClientConfig & { server: ServerAddress; secret: string };

/** Parses and validates `warren client` arguments. */
export function clientConfigFromArgs(argv: string[], env: Record<string, string | undefined>): ClientSettings | "help" {
  const { values, positionals, names } = parseCommand(argv, OPTIONS, "client");
  if (values.help) return "help";
  if (positionals.length > 0) throw new ConfigError("", `unexpected argument ${JSON.stringify(positionals[0])} (see warren client --help)`);
  delete values.help;
  const cfg = loadConfig(ClientConfigSchema, values, env, { WARREN_SECRET: "secret" }, names);
  if (cfg.server === undefined) throw new ConfigError("server", "required, e.g. --server vpn.example.org:8000", "--server");
  if (cfg.secret === undefined) throw new ConfigError("secret", "required: give --secret S or set WARREN_SECRET", "--secret");
  return { ...cfg, server: cfg.server, secret: cfg.secret };
}

/** The one line printed on stdout when the tunnel is up. */
export function connectedLine(p: Params, server: string): string {
  return `connected: ${primaryAddress(p)} via ${server} (mtu ${mtuOf(p)})`;
}

type Ending = { signal: string } | { error: Error };

/** Runs the client until SIGINT/SIGTERM. Returns the exit status; throws (one line) on failure. */
export async function runClient(argv: string[]): Promise<number> {
  const cfg = clientConfigFromArgs(argv, process.env);
  if (cfg === "help") {
    console.log(CLIENT_HELP);
    return 0;
  }
  configureLogging({ level: cfg.logLevel, format: cfg.logFormat });
  const log = getLogger("warren:client");
  const label = formatEndpoint(cfg.server.host, cfg.server.port);
  const dns = new ClientDns(
    { tun: cfg.tun, pid: process.pid, path: cfg.resolvConf },
    { read: readResolvConf, write: writeResolvConf },
    new FileDnsBackup(cfg.stateDir, cfg.tun),
    getLogger("warren:dns"),
  );
  // First of all (a killed run's resolv.conf may point at servers only its tunnel reached,
  // and the server's name is looked up next); in either --dns mode.
  dns.cleanupStale();
  const server = await resolveServer(cfg.server.host, cfg.server.port);

  const { ended, end, release } = endings();
  const net = new ClientNetConfig(
    { tun: cfg.tun, routes: cfg.routes, server: { family: server.family, address: server.address }, pid: process.pid },
    LINUX_NET_OPS,
    new FileStateStore(cfg.stateDir, cfg.tun),
    getLogger("warren:net"),
  );
  const client = new Client(
    { credential: cfg.id !== undefined ? `${cfg.secret}:${cfg.id}` : cfg.secret, serverLabel: label },
    {
      openTransport: () => openClientUdp(server, getLogger("warren:udp")),
      net: cfg.dns === "apply" ? withDns(net, dns) : net,
      clock: systemClock,
      log,
      onFatal: (error) => end({ error }),
    },
  );
  try {
    net.cleanupStale();
    const first = await Promise.race([client.start().then((params) => ({ params }), (error: Error) => ({ error })), ended]);
    if ("error" in first) throw first.error;
    if ("signal" in first) return 0;
    process.stdout.write(`${connectedLine(first.params, label)}\n`);
    describeTunnel(first.params, cfg.tun, cfg.dns, log);
    const last = await ended;
    if ("error" in last) throw last.error;
    log.info(`${last.signal}: removing the tunnel`);
    return 0;
  } finally {
    client.stop();
    release();
  }
}

/** The Linux client's host operations: TUN, MTU and routes through platform/linux. */
const LINUX_NET_OPS: NetOps = {
  openTun: (spec) => openLinuxTun(spec),
  setMtu,
  addRoute: (r) => (r.family === 4 ? addRoute4(r.dest, r.prefixLen, r.dev, r.gateway) : addRoute6(r.dest, r.prefixLen, r.dev, r.gateway)),
  delRoute: (r) => (r.family === 4 ? delRoute4(r.dest, r.prefixLen, r.dev, r.gateway) : delRoute6(r.dest, r.prefixLen, r.dev, r.gateway)),
  routeTo,
};

/**
 * How a run ends: `ended` resolves on SIGINT/SIGTERM or with what `end` is given (a fatal
 * error). Holds the event loop until `release()`: sockets come and go while reconnecting
 * and the engine's timers are unref'd.
 */
function endings(): { ended: Promise<Ending>; end: (e: Ending) => void; release(): void } {
  let end: (e: Ending) => void = () => {};
  const ended = new Promise<Ending>((resolve) => {
    end = resolve;
  });
  const onSignal = (signal: string) => end({ signal });
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const hold = setInterval(() => {}, 1 << 30);
  const release = (): void => {
    clearInterval(hold);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  return { ended, end, release };
}

function describeTunnel(p: Params, tun: string, dns: ClientSettings["dns"], log: ReturnType<typeof getLogger>): void {
  const addrs = p.addresses.map((a) => `${a.address}/${a.prefixLen}`).join(" ");
  log.info(`tunnel ${tun}: ${addrs}, mtu ${mtuOf(p)}`);
  if (dns === "show" && (p.dns.length > 0 || p.searchDomains.length > 0)) {
    const search = p.searchDomains.length > 0 ? ` search ${p.searchDomains.join(" ")}` : "";
    log.info(`pushed DNS: ${p.dns.join(" ") || "-"}${search} (shown only; --dns apply writes them to resolv.conf)`);
  }
  log.warn("ToyVpn mode sends the secret and all traffic unencrypted; use it only on trusted networks");
}

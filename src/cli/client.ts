/**
 * @module cli/client
 * `warren client`: flags + config file -> a Client engine on a real TUN, connected UDP
 * sockets and the Linux route table; one `connected: ...` line on stdout once the tunnel
 * is up (a JSON object with --log-format json); a control socket for `warren client
 * status` (client-status.ts) while it runs; on SIGINT/SIGTERM everything it added is
 * removed (and, with `--dns apply`, resolv.conf restored) and the exit status is 0.
 */

import { mkdirSync } from "node:fs";
import { type ClientStatusSource, serveClientControl } from "../admin/client-control.ts";
import type { ControlServer } from "../admin/control.ts";
import { ClientConfigSchema, type ClientConfig, type ServerAddress } from "../config/client-schema.ts";
import { bool, MAX_SOCKET_PATH } from "../config/fields.ts";
import { loadConfig } from "../config/load.ts";
import { Client } from "../client/client.ts";
import { ClientDns, withDns } from "../client/dns.ts";
import { ClientNetConfig, type NetOps } from "../client/net.ts";
import { mtuOf, primaryAddress } from "../client/params.ts";
import { systemClock } from "../lib/clock.ts";
import { ConfigError, fsReason, WarrenError } from "../lib/errors.ts";
import { got } from "../lib/issues.ts";
import { configureLogging, getLogger, type Logger } from "../lib/log.ts";
import { versionLine } from "../lib/version.ts";
import { clientSocketPath, FileStateStore, netnsId } from "../platform/linux/client-state.ts";
import { addRoute4, addRoute6, delRoute4, delRoute6, setMtu } from "../platform/linux/netconf.ts";
import { FileDnsBackup, readResolvConf, writeResolvConf } from "../platform/linux/resolvconf.ts";
import { routeTo } from "../platform/linux/route-lookup.ts";
import { disableIpv6 } from "../platform/linux/sysctl.ts";
import { formatEndpoint } from "../protocol/ip.ts";
import type { Params } from "../protocol/toyvpn.ts";
import { openClientUdp, resolveServer, type ServerEndpoint } from "../transport/client-udp.ts";
import { openLinuxTun } from "../tun/linux.ts";
import { flagsFromSchema, type OptionSpec, parseCommand } from "./args.ts";
import { runClientStatus } from "./client-status.ts";

/** `warren client`'s flags: one per config key (as for the server), plus --config and --help. */
const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  ...flagsFromSchema(ClientConfigSchema.entries, bool, { short: { server: "s" } }),
  help: { type: "boolean", short: "h" },
};

/** Help text of `warren client`. */
export const CLIENT_HELP = `usage: warren client --server HOST:PORT --secret S [options]
       warren client status [--tun NAME | -c FILE | --control-socket PATH] [--json]

Connects to a ToyVpn server (warren, or any server speaking the Android ToyVpn
protocol), configures a TUN from the parameters it pushes and keeps the tunnel up,
reconnecting by itself, until Ctrl-C or SIGTERM. Needs root or CAP_NET_ADMIN.
\`warren client status\` shows a running client: server, addresses, routes, last
handshake, transfer, and its state (connecting, up, retrying and the last error).

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
                           the next; files client-TUN-NETNS.* (stateDir) /run/warren
      --retry N|forever    how often a failed first connection is tried again, with
                           a backoff from 1 s doubling to 30 s: 0 = exit 1 at the
                           first failure (no answer within 5 s, refused, name not
                           resolved); forever = never give up (the warren-client@
                           unit's choice). Reconnects once the tunnel was up never
                           stop (retry)                              0
      --control-socket PATH  where \`warren client status\` asks; none: no socket
                           (controlSocket)  STATE-DIR/client-TUN-NETNS.sock
      --log-level LEVEL    silent|error|warn|info|debug|trace (logLevel)  info
      --log-format FMT     auto|text|json (logFormat)               auto
  -h, --help               this text

examples:
  warren client --server vpn.example.org:8000 --secret "$SECRET"
  WARREN_SECRET=... warren client -s [2001:db8::1]:8000 --id laptop --dns apply
  warren client --config /etc/warren/client.json --retry forever
  warren client status
  systemctl enable --now warren-client@office    (runs with /etc/warren/client-office.json)

A pushed default route (r,0.0.0.0,0 / r,::,0) is installed as 0.0.0.0/1 + 128.0.0.0/1
(::/1 + 8000::/1) next to a host route to the server via the current gateway, so the
tunnel never captures its own datagrams and the real default route is never touched.
Without a pushed IPv6 address, IPv6 is turned off on the TUN (no link-local chatter
goes into the tunnel). With --log-format json the connected line is a JSON object
{"event":"connected","server":...,"address":...,"mtu":...}.
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

/**
 * The one line printed on stdout when the tunnel is up: `connected: 10.8.0.5/32 via
 * vpn.example.org:8000 (mtu 1400)`, or with `json` one JSON object with the same facts
 * (event, server, address, mtu) and the log records' `t`, `level`, `tag` and `msg`.
 */
export function connectedLine(p: Params, server: string, json = false, now = new Date()): string {
  const msg = `connected: ${primaryAddress(p)} via ${server} (mtu ${mtuOf(p)})`;
  if (!json) return msg;
  const addresses = p.addresses.map((a) => `${a.address}/${a.prefixLen}`);
  return JSON.stringify({
    t: now.toISOString(), level: "info", tag: "warren:client", msg, event: "connected", server, address: primaryAddress(p), addresses, mtu: mtuOf(p),
  });
}

type Ending = { signal: string } | { error: Error };

/** One client run as wired on Linux: the engine, its configurator, and what status reads. */
interface ClientRun {
  client: Client;
  net: ClientNetConfig;
  status: ClientStatusSource;
  dns: ClientDns;
}

/** Builds the engine on the real TUN, UDP and route table. The server's name is resolved on the first attempt. */
function wireClient(cfg: ClientSettings, netns: string, end: (e: Ending) => void): ClientRun {
  const label = formatEndpoint(cfg.server.host, cfg.server.port);
  const dns = new ClientDns(
    { tun: cfg.tun, pid: process.pid, path: cfg.resolvConf },
    { read: readResolvConf, write: writeResolvConf },
    new FileDnsBackup(cfg.stateDir, cfg.tun, netns),
    getLogger("warren:dns"),
  );
  // Looked up until it once succeeds (a reconnect keeps the address: with a pushed default
  // route and --dns apply, a lookup would need the tunnel it is trying to bring back).
  let server: ServerEndpoint | null = null;
  const net = new ClientNetConfig(
    { tun: cfg.tun, routes: cfg.routes, server: () => resolvedOrThrow(server), pid: process.pid },
    LINUX_NET_OPS,
    new FileStateStore(cfg.stateDir, cfg.tun, netns),
    getLogger("warren:net"),
  );
  const client = new Client(
    { credential: cfg.id !== undefined ? `${cfg.secret}:${cfg.id}` : cfg.secret, serverLabel: label, retry: cfg.retry },
    {
      openTransport: async () => {
        server ??= await resolveServer(cfg.server.host, cfg.server.port);
        return openClientUdp(server, getLogger("warren:udp"));
      },
      net: cfg.dns === "apply" ? withDns(net, dns) : net,
      clock: systemClock,
      log: getLogger("warren:client"),
      onFatal: (error) => end({ error }),
    },
  );
  const status: ClientStatusSource = {
    client, version: versionLine(), pid: process.pid, tun: cfg.tun, server: label, serverAddress: () => server?.address ?? null,
    routes: () => net.installedRoutes(), dnsApplied: cfg.dns === "apply",
  };
  return { client, net, status, dns };
}

/** The tunnel comes up only after a socket to the server was opened, so its address is known by then. */
function resolvedOrThrow(server: ServerEndpoint | null): ServerEndpoint {
  if (server === null) throw new WarrenError("ERR_CLIENT_STATE", "the server's address is not known yet");
  return server;
}

/** Opens the status socket (see --control-socket); null when switched off or the default path is too long. */
async function openStatusSocket(cfg: ClientSettings, netns: string, run: ClientRun, log: Logger): Promise<ControlServer | null> {
  if (cfg.controlSocket === null) return null;
  const path = cfg.controlSocket ?? clientSocketPath(cfg.stateDir, cfg.tun, netns);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    log.warn(`no status socket: ${path} is longer than ${MAX_SOCKET_PATH} bytes (set --control-socket)`);
    return null;
  }
  if (cfg.controlSocket === undefined) {
    try {
      mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new ConfigError("stateDir", `cannot create it: ${fsReason(e)}${got(cfg.stateDir)}`, "--state-dir");
    }
  }
  return serveClientControl(path, run.status, systemClock, getLogger("warren:control")).catch((e: unknown) => {
    throw e instanceof ConfigError ? new ConfigError(e.field, e.reason, "--control-socket") : e;
  });
}

/** Runs the client until SIGINT/SIGTERM. Returns the exit status; throws (one line) on failure. */
export async function runClient(argv: string[]): Promise<number> {
  if (argv[0] === "status") return runClientStatus(argv.slice(1), process.env);
  const cfg = clientConfigFromArgs(argv, process.env);
  if (cfg === "help") {
    console.log(CLIENT_HELP);
    return 0;
  }
  configureLogging({ level: cfg.logLevel, format: cfg.logFormat });
  const log = getLogger("warren:client");
  const netns = netnsId();
  const { ended, end, release } = endings();
  const run = wireClient(cfg, netns, end);
  let control: ControlServer | null = null;
  try {
    // First of all (a killed run's resolv.conf may point at servers only its tunnel
    // reached, and the server's name is looked up next); in either --dns mode.
    run.dns.cleanupStale();
    run.net.cleanupStale();
    control = await openStatusSocket(cfg, netns, run, log);
    const first = await Promise.race([run.client.start().then((params) => ({ params }), (error: Error) => ({ error })), ended]);
    if ("error" in first) throw first.error;
    if ("signal" in first) return 0;
    process.stdout.write(`${connectedLine(first.params, run.status.server, cfg.logFormat === "json")}\n`);
    describeTunnel(first.params, cfg.tun, cfg.dns, log);
    const last = await ended;
    if ("error" in last) throw last.error;
    log.info(`${last.signal}: removing the tunnel`);
    return 0;
  } finally {
    control?.stop();
    run.client.stop();
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
  disableIpv6: (name) => disableIpv6(name),
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

function describeTunnel(p: Params, tun: string, dns: ClientSettings["dns"], log: Logger): void {
  const addrs = p.addresses.map((a) => `${a.address}/${a.prefixLen}`).join(" ");
  log.info(`tunnel ${tun}: ${addrs}, mtu ${mtuOf(p)}`);
  if (dns === "show" && (p.dns.length > 0 || p.searchDomains.length > 0)) {
    const search = p.searchDomains.length > 0 ? ` search ${p.searchDomains.join(" ")}` : "";
    log.info(`pushed DNS: ${p.dns.join(" ") || "-"}${search} (shown only; --dns apply writes them to resolv.conf)`);
  }
  log.warn("ToyVpn mode sends the secret and all traffic unencrypted; use it only on trusted networks");
}

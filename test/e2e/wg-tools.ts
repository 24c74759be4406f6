/**
 * @module wg-tools
 * Standard WireGuard clients for the e2e tests (Debian's wireguard-go and wireguard-tools):
 * a wireguard-go interface configured with `wg set`, a `wg-quick up` of a config file, and
 * the small probes the WireGuard tests share (DF ping, a packet capture, `wg show` parsing).
 *
 * - The machine has no WireGuard kernel module: wg-quick runs with
 *   WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go.
 * - wireguard-go's control socket /var/run/wireguard/<ifname>.sock lives in the shared file
 *   system, not in the namespace: every interface gets a name unique to this run
 *   (`wt<pid><tag>`), and `cleanupWgSockets()` removes this run's sockets and those of dead runs.
 * - wg-quick is given a PATH whose `resolvconf` only records what it is told (the DNS line of
 *   the config), so the host's /etc/resolv.conf is never touched.
 * - wireguard-go is stopped by PID (Lab.cleanup also ends everything left in its namespaces).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BgProcess, killPid, type Lab, type Netns, pidAlive, run, runOk, waitFor, waitForLog } from "./netns.ts";

/** Where wireguard-go puts its control sockets (not per namespace). */
export const WG_SOCKET_DIR = "/var/run/wireguard";
const MY_IFS = new Set<string>();
const OUR_SOCKET = /^wt(\d+)[a-z][a-z0-9]*\.sock$/;

/** The WireGuard programs that are missing (empty: all there). */
export function wgToolsMissing(): string[] {
  return ["wireguard-go", "wg", "wg-quick", "tcpdump", "ping"].filter((t) => Bun.which(t) === null);
}

/** An interface name unique to this run: `wt<pid><tag>` (tag: a letter, then up to 3 of [a-z0-9]). */
export function wgIfName(tag: string): string {
  if (!/^[a-z][a-z0-9]{0,3}$/.test(tag)) throw new Error(`bad interface tag "${tag}"`);
  const name = `wt${process.pid}${tag}`;
  MY_IFS.add(name);
  return name;
}

/** Removes the control sockets of this run's interfaces and of interfaces of runs that are gone. */
export function cleanupWgSockets(): void {
  if (!existsSync(WG_SOCKET_DIR)) return;
  for (const f of readdirSync(WG_SOCKET_DIR)) {
    const m = OUR_SOCKET.exec(f);
    const pid = Number(m?.[1]);
    if (!m || (pid === process.pid ? !MY_IFS.has(f.slice(0, -5)) : pidAlive(pid))) continue;
    rmSync(join(WG_SOCKET_DIR, f), { force: true });
  }
}

/** A key pair (and its files), made by `wg genkey` / `wg pubkey`. */
export interface WgKeys {
  privateFile: string;
  publicKey: string;
}

/** `wg genkey` into `<dir>/<name>.key` (mode 0600) and its public key. */
export async function wgKeys(dir: string, name: string): Promise<WgKeys> {
  mkdirSync(dir, { recursive: true });
  const priv = (await runOk(["wg", "genkey"])).trim();
  const privateFile = join(dir, `${name}.key`);
  writeFileSync(privateFile, `${priv}\n`, { mode: 0o600 });
  return { privateFile, publicKey: await wgPubkey(privateFile) };
}

/** `wg pubkey < file`. */
export async function wgPubkey(privateFile: string): Promise<string> {
  const r = await run(["sh", "-c", 'exec wg pubkey < "$0"', privateFile]);
  if (r.code !== 0) throw new Error(`wg pubkey < ${privateFile} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** `wg genpsk` into `<dir>/<name>.psk` (mode 0600); returns the file and the key. */
export async function wgPsk(dir: string, name: string): Promise<{ file: string; key: string }> {
  const key = (await runOk(["wg", "genpsk"])).trim();
  const file = join(dir, `${name}.psk`);
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { file, key };
}

/** A running wireguard-go interface in a namespace. */
export interface WgGo {
  ns: Netns;
  ifname: string;
  proc: BgProcess;
  /** Runs `wg ARGS` in the namespace; throws unless it exits 0. */
  wg(...args: string[]): Promise<string>;
}

/** Starts `wireguard-go -f IFNAME` in `ns` and waits for its control socket. */
export async function startWireguardGo(lab: Lab, ns: Netns, ifname: string): Promise<WgGo> {
  const proc = lab.spawn(ns, ifname, ["wireguard-go", "-f", ifname], { env: { WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "verbose" } });
  await waitFor(`wireguard-go's socket for ${ifname}`, () => {
    if (proc.exitCode() !== null) throw new Error(`wireguard-go ${ifname} exited ${proc.exitCode()}: ${proc.logText()}`);
    return existsSync(join(WG_SOCKET_DIR, `${ifname}.sock`)) || undefined;
  }, { timeoutMs: 10_000 });
  return { ns, ifname, proc, wg: (...args) => ns.execOk(["wg", ...args]) };
}

/** What a `wg set` client is told. */
export interface WgClientSpec {
  keys: WgKeys;
  pskFile?: string;
  serverPublicKey: string;
  endpoint: string;
  /** Its tunnel address, e.g. 10.8.0.10 (a /32; the route covers `route`). */
  address: string;
  route: string;
  mtu?: number;
}

/** A wireguard-go client configured with `wg set` and `ip`, up. */
export async function wgSetClient(lab: Lab, ns: Netns, ifname: string, spec: WgClientSpec): Promise<WgGo> {
  const w = await startWireguardGo(lab, ns, ifname);
  const psk = spec.pskFile ? ["preshared-key", spec.pskFile] : [];
  await w.wg("set", ifname, "private-key", spec.keys.privateFile, "peer", spec.serverPublicKey, ...psk,
    "allowed-ips", spec.route, "endpoint", spec.endpoint);
  await ns.ip("addr", "add", `${spec.address}/32`, "dev", ifname);
  await ns.ip("link", "set", ifname, "mtu", String(spec.mtu ?? 1400), "up");
  await ns.ip("route", "add", spec.route, "dev", ifname);
  return w;
}

/** A `wg-quick up` interface: its wireguard-go PID and what its `resolvconf` was handed. */
export interface WgQuick {
  ns: Netns;
  ifname: string;
  conf: string;
  pid: number;
  /** Everything wg-quick passed to resolvconf (arguments and stdin), as recorded. */
  resolvconf(): string;
}

/** A directory with a `resolvconf` that only records its arguments and stdin into `log`. */
function fakeResolvconf(dir: string, log: string): string {
  const bin = join(dir, "fakebin");
  mkdirSync(bin, { recursive: true });
  const script = join(bin, "resolvconf");
  writeFileSync(script, `#!/bin/sh\n# test double: records, never touches /etc/resolv.conf\n{ echo "resolvconf $*"; cat; } >> "${log}"\n`);
  chmodSync(script, 0o755);
  return bin;
}

/** `wg-quick up <dir>/<ifname>.conf` in `ns` with `config` (userspace wireguard-go); returns its wireguard-go PID. */
export async function wgQuickUp(lab: Lab, ns: Netns, ifname: string, config: string): Promise<WgQuick> {
  const dir = join(lab.dir, `wgquick-${ifname}`);
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, `${ifname}.conf`);
  writeFileSync(conf, config, { mode: 0o600 });
  const log = join(dir, "resolvconf.log");
  const path = `${fakeResolvconf(dir, log)}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
  const r = await ns.exec(["env", `PATH=${path}`, "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go", "wg-quick", "up", conf], { timeoutMs: 30_000 });
  writeFileSync(join(dir, "up.log"), `${r.stdout}${r.stderr}`);
  if (r.code !== 0) throw new Error(`wg-quick up ${conf} failed (exit ${r.code}):\n${r.stderr}`);
  const pid = await wireguardGoPid(ns, ifname);
  return { ns, ifname, conf, pid, resolvconf: () => (existsSync(log) ? readFileSync(log, "utf8") : "") };
}

/** `wg-quick down` of `q`; then makes sure its wireguard-go is gone (by PID). */
export async function wgQuickDown(q: WgQuick): Promise<void> {
  const path = `${join(q.conf, "..", "fakebin")}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
  const r = await q.ns.exec(["env", `PATH=${path}`, "wg-quick", "down", q.conf], { timeoutMs: 30_000 });
  await killPid(q.pid);
  if (r.code !== 0) throw new Error(`wg-quick down ${q.conf} failed (exit ${r.code}):\n${r.stderr}`);
}

/** The PID of the wireguard-go serving `ifname` in `ns` (wg-quick starts it as a daemon). */
async function wireguardGoPid(ns: Netns, ifname: string): Promise<number> {
  const pids = (await runOk(["ip", "netns", "pids", ns.name])).split(/\s+/).map(Number).filter((p) => p > 1);
  for (const p of pids) {
    const cmd = existsSync(`/proc/${p}/cmdline`) ? readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0") : [];
    if (cmd[0]?.endsWith("wireguard-go") && cmd.includes(ifname)) return p;
  }
  throw new Error(`no wireguard-go for ${ifname} in ${ns.name} (pids ${pids.join(" ")})`);
}

/** Result of an iputils ping. */
export interface PingTally {
  sent: number;
  received: number;
  out: string;
}

/** iputils `ping -c COUNT -s SIZE` from `ns`, with `-M do` (don't fragment) when `df`. Never throws on loss. */
export async function pingSize(ns: Netns, addr: string, opts: { size: number; df?: boolean; count?: number }): Promise<PingTally> {
  const count = opts.count ?? 3;
  const args = ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "2", "-s", String(opts.size), ...(opts.df ? ["-M", "do"] : []), addr];
  const r = await ns.exec(args, { timeoutMs: 20_000 });
  const out = `${r.stdout}${r.stderr}`;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), out };
}

/** A background iputils ping, stopped with SIGINT (it then prints its tally). */
export interface SteadyPing {
  stop(): Promise<PingTally>;
}

/** Starts `ping -i 0.05` from `ns` to `addr` (at most 60 s); stop() ends it and returns the tally. */
export async function steadyPing(lab: Lab, ns: Netns, addr: string, name: string): Promise<SteadyPing> {
  const proc = lab.spawn(ns, name, ["ping", "-n", "-i", "0.05", "-w", "60", addr]);
  await waitForLog(proc, /bytes from/, 5000);
  return {
    async stop() {
      await lab.stop(proc, "SIGINT");
      const out = proc.logText();
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), out };
    },
  };
}

/** One captured UDP datagram. */
export interface Datagram {
  from: string;
  to: string;
  length: number;
}

/** A running tcpdump of UDP on one interface of a namespace. */
export interface Capture {
  /** Stops tcpdump (by PID) and returns the datagrams it saw. */
  stop(): Promise<Datagram[]>;
}

const UDP_LINE = /IP (\d+\.\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+\.\d+): UDP, length (\d+)/;

/** Starts `tcpdump -i DEV udp port PORT` in `ns` and waits until it listens. */
export async function captureUdp(lab: Lab, ns: Netns, name: string, dev: string, port: number): Promise<Capture> {
  const proc = lab.spawn(ns, name, ["tcpdump", "-i", dev, "-nn", "-l", "-U", "udp", "port", String(port)]);
  await waitForLog(proc, "listening on", 10_000);
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300)); // let the last lines through
      await lab.stop(proc, "SIGINT");
      return proc.logText().split("\n").flatMap((l) => {
        const m = UDP_LINE.exec(l);
        return m ? [{ from: m[1] ?? "", to: m[2] ?? "", length: Number(m[3]) }] : [];
      });
    },
  };
}

/** One peer block of `wg show` / `warren wg show`. */
export interface ShownPeer {
  publicKey: string;
  fields: Record<string, string>;
}

/** Parses `wg show` style text into its peer blocks (field name -> value). */
export function parseWgShow(text: string): ShownPeer[] {
  const peers: ShownPeer[] = [];
  let cur: ShownPeer | undefined;
  for (const line of text.split("\n")) {
    const peer = /^peer: (\S+)/.exec(line);
    if (peer?.[1]) peers.push((cur = { publicKey: peer[1], fields: {} }));
    const field = /^\s+([a-z ]+): (.*)$/.exec(line);
    if (cur && field?.[1] && field[2] !== undefined) cur.fields[field[1]] = field[2];
  }
  return peers;
}

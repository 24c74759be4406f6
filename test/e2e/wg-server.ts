/**
 * @module wg-server
 * The warren side of the WireGuard e2e tests: a `warren server --wg-listen ...` in a
 * namespace with its own control socket, the operator CLI run in that namespace against it
 * (clients, status, wg, kick), a peers-file section, and a checksummed TCP transfer between
 * two namespaces (peer.ts tcp-sink / tcp-send).
 */
import { expect } from "bun:test";
import { join } from "node:path";
import type { ClientInfo, Snapshot } from "../../src/admin/snapshot.ts";
import {
  type BgProcess, type ClientHost, type Lab, type Netns, type RunResult, type Topology, waitForLog, waitForUdpListener, withLogs,
} from "./netns.ts";
import { ensureWarren, spawnPeer } from "./tools.ts";
import { wgPubkey } from "./wg-tools.ts";

/** Client host `k` (1-based) of a topology. */
export function host(topo: Topology, k: number): ClientHost {
  const c = topo.clients[k - 1];
  if (!c) throw new Error(`no client ${k}`);
  return c;
}

/** One `[Peer]` section of a peers file (wg-quick syntax, named by a `# Name =` comment). */
export function peerSection(name: string, publicKey: string, address: string, psk?: string): string {
  return ["[Peer]", `# Name = ${name}`, `PublicKey = ${publicKey}`, ...(psk ? [`PresharedKey = ${psk}`] : []), `AllowedIPs = ${address}/32`, ""].join("\n");
}

/** A running warren with a WireGuard door, and the CLI against its control socket. */
export interface WgServer {
  proc: BgProcess;
  ns: Netns;
  /** The server's WireGuard public key (`wg pubkey` of its key file). */
  publicKey: string;
  /** What it printed up to "server ready" (the startup summary). */
  summary: string;
  /** `warren ARGS --control-socket SOCK` in the server namespace. */
  cli(...args: string[]): Promise<RunResult>;
  /** Like cli, but throws unless it exits 0; returns stdout. */
  cliOk(...args: string[]): Promise<string>;
  clients(): Promise<ClientInfo[]>;
  /** `warren status --json`: the server's state and its clients. */
  snapshot(): Promise<Snapshot>;
  status(): Promise<Snapshot["status"]>;
  /** Waits (10 s) for a log line matching `re` after byte `from` of the log. */
  waitLog(re: RegExp, from?: number): Promise<string>;
}

/** How to start the server. */
export interface WgServerOptions {
  /** `warren server` arguments (must include --wg-key-file). */
  args: string[];
  /** WARREN_CRYPTO for the server. */
  crypto: "openssl" | "pure-ts";
  /** The WireGuard UDP port to wait for. */
  port: number;
}

/** Starts `warren server ARGS` in `ns` and waits for "server ready" and its WireGuard socket. */
export async function startWgServer(lab: Lab, ns: Netns, name: string, o: WgServerOptions): Promise<WgServer> {
  const bin = await ensureWarren();
  const sock = join(lab.dir, `${name}.sock`);
  const proc = lab.spawn(ns, name, [bin, "server", ...o.args, "--control-socket", sock, "--log-level", "debug"], { env: { WARREN_CRYPTO: o.crypto } });
  await waitForLog(proc, "server ready", 20_000);
  await waitForLog(proc, /^\s*wireguard\s+udp /, 5000); // the summary (stdout) may land just after
  await withLogs([proc], () => waitForUdpListener(ns, o.port, 5000));
  const keyFile = o.args[o.args.indexOf("--wg-key-file") + 1];
  if (keyFile === undefined) throw new Error("startWgServer: --wg-key-file is required");
  const cli = (...args: string[]) => ns.exec([bin, ...args, "--control-socket", sock], { timeoutMs: 20_000 });
  const cliOk = async (...args: string[]) => {
    const r = await cli(...args);
    if (r.code !== 0) throw new Error(`warren ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  return {
    proc,
    ns,
    publicKey: await wgPubkey(keyFile),
    summary: proc.logText(),
    cli,
    cliOk,
    clients: async () => JSON.parse(await cliOk("clients", "--json")) as ClientInfo[],
    snapshot: async () => JSON.parse(await cliOk("status", "--json")) as Snapshot,
    status: async () => (JSON.parse(await cliOk("status", "--json")) as Snapshot).status,
    waitLog: (re, from = 0) => waitForLog(proc, re, 10_000, from),
  };
}

let transfers = 0;

/** One TCP transfer. */
export interface TransferSpec {
  from: Netns;
  to: Netns;
  /** Where the sink listens, ADDRESS:PORT in `to`. */
  bind: string;
  bytes: number;
  name: string;
  /** Runs while the transfer is under way (the sender is started); the transfer waits for it. */
  whileRunning?: (sender: BgProcess) => Promise<void>;
}

/**
 * Sends `bytes` random bytes over TCP from `from` to a sink at `bind` in `to`; asserts that
 * every byte arrived with the sender's sha256. Returns the source address the sink saw.
 */
export async function tcpTransfer(lab: Lab, t: TransferSpec): Promise<{ from: string; ms: number }> {
  const n = ++transfers;
  const sink = spawnPeer(lab, t.to, `${t.name}-sink-${n}`, ["tcp-sink", "--bind", t.bind, "--max-ms", "110000"]);
  await waitForLog(sink, '"kind":"listening"', 10_000);
  const sender = spawnPeer(lab, t.from, `${t.name}-send-${n}`, ["tcp-send", "--to", t.bind, "--bytes", String(t.bytes), "--max-ms", "100000"]);
  return withLogs([sink, sender], async () => {
    if (t.whileRunning) await t.whileRunning(sender);
    const sent = JSON.parse(await waitForLog(sender, /"kind":"tcp-(sent|error)"/, 100_000)) as Record<string, unknown>;
    const got = JSON.parse(await waitForLog(sink, '"kind":"tcp-received"', 10_000)) as Record<string, unknown>;
    expect(sent).toMatchObject({ kind: "tcp-sent", bytes: t.bytes, complete: true });
    expect(got.bytes).toBe(t.bytes);
    expect(got.sha256).toBe(sent.sha256 as string);
    return { from: String(got.from), ms: Number(sent.ms) };
  });
}

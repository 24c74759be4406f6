/**
 * @module tools
 * The programs the e2e tests run, and how to start and read them: the C reference client and
 * server and a tiny ping (compiled once per run with gcc), the toyclient and peer helper scripts
 * (run with the same bun as the tests), and the warren binary (built when missing or stale).
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  ARTIFACTS,
  BUN,
  type BgProcess,
  type ClientHost,
  jsonLines,
  type Lab,
  type Netns,
  newestMtime,
  REPO_ROOT,
  run,
  tail,
  waitFor,
  waitForLog,
} from "./netns.ts";

/** Where the C reference sources live: $WARREN_REF_DIR or ../shared/bench/ref beside the repo. */
export const REF_DIR = process.env.WARREN_REF_DIR ?? resolve(REPO_ROOT, "../shared/bench/ref");
/** The compiled warren binary. */
export const WARREN = join(REPO_ROOT, "dist/warren");
const TOYCLIENT = join(import.meta.dir, "toyclient.ts");
const PEER = join(import.meta.dir, "peer.ts");

/** Paths of the compiled helper programs. */
export interface CTools {
  refclient: string;
  refserver: string;
  miniping: string;
}

let cTools: Promise<CTools> | undefined;

/** Compiles refclient, refserver (from REF_DIR) and miniping once per run; throws with gcc's output. */
export function buildCTools(): Promise<CTools> {
  cTools ??= (async () => {
    const bin = join(ARTIFACTS, "bin");
    mkdirSync(bin, { recursive: true });
    const sources: Array<[keyof CTools, string]> = [
      ["refclient", join(REF_DIR, "refclient.c")],
      ["refserver", join(REF_DIR, "refserver.c")],
      ["miniping", join(import.meta.dir, "miniping.c")],
    ];
    const out: Partial<CTools> = {};
    for (const [name, src] of sources) {
      if (!existsSync(src)) throw new Error(`missing ${src} (set WARREN_REF_DIR to the folder with refclient.c/refserver.c)`);
      const exe = join(bin, name);
      const r = await run(["gcc", "-O2", "-pthread", "-Wall", "-o", exe, src], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`gcc ${src} failed (exit ${r.code}):\n${r.stderr}`);
      out[name] = exe;
    }
    return out as CTools;
  })();
  return cTools;
}

let warren: Promise<string> | undefined;

/**
 * Builds dist/warren with `bun run build` when it is missing or older than any file under src/
 * (or build.ts / package.json), once per run. Throws with the build output when the build fails.
 */
export function ensureWarren(): Promise<string> {
  warren ??= buildWarren();
  return warren;
}

async function buildWarren(): Promise<string> {
  const built = existsSync(WARREN) ? statSync(WARREN).mtimeMs : 0;
  const inputs = [join(REPO_ROOT, "build.ts"), join(REPO_ROOT, "package.json")].filter(existsSync);
  const newest = Math.max(newestMtime(join(REPO_ROOT, "src")), ...inputs.map((f) => statSync(f).mtimeMs));
  if (built > 0 && built >= newest) return WARREN;
  if (!existsSync(join(REPO_ROOT, "src/main.ts"))) {
    throw new Error(`dist/warren is ${built ? "stale" : "missing"} and src/main.ts does not exist yet: nothing to build`);
  }
  const r = await run([BUN, "run", "build"], { cwd: REPO_ROOT, timeoutMs: 300_000 });
  if (r.code !== 0 || !existsSync(WARREN)) {
    throw new Error(`'bun run build' failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stdout}\n${r.stderr}`);
  }
  return WARREN;
}

/** One miniping run: echo requests sent and replies received. */
export interface PingResult {
  target: string;
  sent: number;
  received: number;
  rtt_ms: number[];
}

/** Pings `addr` from `ns` (kernel ICMP, raw socket) `count` times; never throws on loss. */
export async function ping(
  ns: Netns, addr: string, opts: { count?: number; intervalMs?: number; waitMs?: number } = {},
): Promise<PingResult> {
  const { miniping } = await buildCTools();
  const count = opts.count ?? 3;
  const args = ["-c", String(count), "-i", String(opts.intervalMs ?? 200), "-W", String(opts.waitMs ?? 1000), addr];
  const r = await ns.exec([miniping, ...args], { timeoutMs: 30_000 });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as PingResult;
  } catch {
    throw new Error(`miniping ${args.join(" ")} in ${ns.name} printed no result (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
}

/** Waits until one echo to `addr` from `ns` is answered. */
export function waitForPing(ns: Netns, addr: string, timeoutMs: number): Promise<PingResult> {
  return waitFor(`ping ${addr} from ${ns.name}`, async () => {
    const r = await ping(ns, addr, { count: 1, waitMs: 500 });
    return r.received > 0 ? r : undefined;
  }, { timeoutMs, intervalMs: 200 });
}

/** A running reference client and the tunnel address it was given. */
export interface RefClient {
  proc: BgProcess;
  host: ClientHost;
  address: string;
  params: string;
  tun: string;
}

/**
 * Starts `refclient -R` in `host` against `<host.serverAddr>:<port>` and waits until its TUN is up.
 * `address` is the one refclient put on its TUN: the last `a` option of the parameters.
 */
export async function startRefclient(
  lab: Lab, host: ClientHost, name: string, opts: { port: number; secret: string; tun: string; timeoutMs?: number },
): Promise<RefClient> {
  const { refclient } = await buildCTools();
  const proc = lab.spawn(host.ns, name, [
    refclient, "-s", host.serverAddr, "-p", String(opts.port), "-k", opts.secret, "-t", opts.tun, "-R",
  ]);
  const up = await waitForLog(proc, /refclient: \S+ up \(/, opts.timeoutMs ?? 10_000);
  // refclient configures only the LAST `a` option it was pushed (IPv4 or IPv6).
  const m = /up \(([\da-fA-F.:]+)\/(\d+)/.exec(up);
  if (!m?.[1]) throw new Error(`cannot parse the address from "${up}"\n${tail(proc)}`);
  const params = /^params: (.*)$/m.exec(proc.logText())?.[1] ?? "";
  return { proc, host, address: m[1], params, tun: opts.tun };
}

/** Options of one toyclient run (see toyclient.ts for their meaning). */
export interface ToyOptions {
  server: string;
  secret: string;
  id?: string;
  ping?: string[];
  count?: number;
  waitMs?: number;
  spoofSrc?: string;
  expectNone?: boolean;
  keepalive?: boolean;
  reconnect?: boolean;
  udpProbe?: string;
  serveEcho?: boolean;
  lingerMs?: number;
  handshakeMs?: number;
  deadlineMs?: number;
  dump?: boolean;
}

function toyArgs(o: ToyOptions): string[] {
  const a = ["--server", o.server, "--secret", o.secret];
  const opt = (flag: string, v: string | number | undefined) => {
    if (v !== undefined) a.push(flag, String(v));
  };
  const on = (flag: string, v: boolean | undefined) => {
    if (v) a.push(flag);
  };
  opt("--id", o.id);
  if (o.ping?.length) a.push("--ping", o.ping.join(","));
  opt("--count", o.count);
  opt("--wait-ms", o.waitMs);
  opt("--spoof-src", o.spoofSrc);
  on("--expect-none", o.expectNone);
  on("--keepalive", o.keepalive);
  on("--reconnect", o.reconnect);
  opt("--udp-probe", o.udpProbe);
  on("--serve-echo", o.serveEcho);
  opt("--linger-ms", o.lingerMs);
  opt("--handshake-ms", o.handshakeMs);
  opt("--deadline-ms", o.deadlineMs);
  on("--dump", o.dump);
  return a;
}

/** Starts the toyclient in `ns` in the background. */
export function spawnToyclient(lab: Lab, ns: Netns, name: string, o: ToyOptions): BgProcess {
  return lab.spawn(ns, name, [BUN, TOYCLIENT, ...toyArgs(o)]);
}

/** A toyclient's ping tally per target. */
export type PingTally = Record<string, { sent: number; received: number }>;

/** What the toyclient reports (the fields the tests read; see toyclient.ts). */
export interface ToyResult {
  kind: "result";
  error?: string;
  address?: string;
  localPort?: number;
  handshake: {
    answered: boolean;
    ms?: number;
    datagrams: number;
    sizes: number[];
    localPort: number;
    params?: { raw: string; valid: boolean; errors: string[]; mtu?: number; address?: string; prefix?: number; routes: string[]; dns: string[] };
  };
  keepalive?: { echoed: boolean; ms?: number; otherControlSizes: number[] };
  reconnect?: ToyResult["handshake"];
  pingsBefore?: PingTally;
  pings?: PingTally;
  oldPings?: PingTally;
  oldSocketDataAfterReconnect?: number;
  udpProbe?: { nonce: string; labels: string[] };
  dataPacketsReceived: number;
  dump?: string[];
}

/** Waits for a toyclient's result line (it stops by itself) and returns it. */
export async function toyResult(p: BgProcess, timeoutMs = 30_000): Promise<ToyResult> {
  await waitForLog(p, '"kind":"result"', timeoutMs);
  const r = jsonLines(p).find((l) => l.kind === "result");
  if (!r) throw new Error(`no result line from ${p.name}\n${tail(p)}`);
  return r as unknown as ToyResult;
}

/** Runs the toyclient in `ns` to its result. */
export function toyclient(lab: Lab, ns: Netns, name: string, o: ToyOptions): Promise<ToyResult> {
  return toyResult(spawnToyclient(lab, ns, name, o), (o.deadlineMs ?? 30_000) + 5000);
}

/** Starts a peer.ts helper (udp-sink, tcp-sink, tcp-send) in `ns`. */
export function spawnPeer(lab: Lab, ns: Netns, name: string, args: string[]): BgProcess {
  return lab.spawn(ns, name, [BUN, PEER, ...args]);
}

/** Payloads a udp-sink has received so far. */
export function sinkPayloads(p: BgProcess): Array<{ from: string; payload: string }> {
  return jsonLines(p)
    .filter((l) => l.kind === "udp")
    .map((l) => ({ from: String(l.from), payload: String(l.payload) }));
}

/**
 * @module netns
 * The e2e harness: builds small networks out of Linux network namespaces, runs processes
 * inside them and always tears everything down again (rules: /work/shared/TESTING.md).
 *
 *   [<run>-<tag>-c1] v0 10.77.1.2/24 --veth-- vc1 10.77.1.1/24 [<run>-<tag>-srv] vn 10.88.0.1/24 --veth-- v0 10.88.0.2/24 [<run>-<tag>-net]
 *   [<run>-<tag>-c2] v0 10.77.2.2/24 --veth-- vc2 10.77.2.1/24         (server)            (optional "internet")
 *
 * - Every name starts with this run's prefix `wt<pid>-`; veths are created directly inside
 *   their namespaces, so the root namespace never sees a link, address or route.
 * - A `Lab` owns the namespaces and processes it made: `cleanup()` kills its processes by PID
 *   (SIGTERM, then SIGKILL after 3 s), then any process still inside its namespaces (by the PIDs
 *   `ip netns pids` lists), then deletes the namespaces (and with them veths and TUNs).
 * - `removeStale()` deletes namespaces named `wt<pid>-*` whose creating process is gone (it ends
 *   processes only in namespaces of this process; in others it only removes the name).
 * - Every wait has a timeout; every helper process is bounded. The process helpers live in
 *   proc.ts and are re-exported here, so tests import the harness from this one module.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { type BgProcess, killPid, pidAlive, run, runOk, type RunResult, type SpawnOptions, spawnLogged, stopProcess, waitFor } from "./proc.ts";

export * from "./proc.ts";

/** Repository root (this file is test/e2e/netns.ts). */
export const REPO_ROOT = resolve(import.meta.dir, "../..");
/** Prefix of every namespace this process creates. */
export const RUN_PREFIX = `wt${process.pid}-`;
/** Where logs of this run go (test/artifacts is git-ignored); kept after the run for post-mortems. */
export const ARTIFACTS = join(REPO_ROOT, "test/artifacts/e2e", `wt${process.pid}`);
/** The bun binary running the tests; used to run the helper scripts inside namespaces. */
export const BUN = process.execPath;

const STALE_NS = /^wt(\d+)-/;
/** Prefixes of the labs of this process that have not been cleaned up yet. */
const liveLabs = new Set<string>();

// ---------------------------------------------------------------------------------------
// Can this machine run the e2e tests?

/** Whether namespaces can be used, and why not. Synchronous, so `describe.skipIf` can use it. */
export function canNetns(): { ok: boolean; reason: string } {
  if (process.platform !== "linux") return { ok: false, reason: `needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "needs root (network namespaces, TUN devices)" };
  if (!existsSync("/dev/net/tun")) return { ok: false, reason: "no /dev/net/tun" };
  const probe = `${RUN_PREFIX}probe`;
  const add = Bun.spawnSync(["ip", "netns", "add", probe], { stdout: "pipe", stderr: "pipe" });
  if (!add.success) {
    return { ok: false, reason: `'ip netns add' failed: ${add.stderr.toString().trim() || `exit ${add.exitCode}`}` };
  }
  Bun.spawnSync(["ip", "netns", "del", probe]);
  return { ok: true, reason: "" };
}

/** `canNetns()`, and when it fails, one loud warning naming the suite that is skipped. */
export function netnsOrWarn(suite: string): boolean {
  const { ok, reason } = canNetns();
  if (!ok) console.warn(`\n*** SKIPPING ${suite}: ${reason} ***\n`);
  return ok;
}

/** Names of all namespaces on the machine. */
export async function listNamespaces(): Promise<string[]> {
  const out = await runOk(["ip", "netns", "list"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((n) => n !== "");
}

/**
 * Kills every process inside `ns` (by the PIDs `ip netns pids` lists; only with `killInside`,
 * i.e. for namespaces this process made), then deletes it. Never throws.
 */
export async function destroyNamespace(ns: string, killInside = true): Promise<void> {
  const pids = await run(["ip", "netns", "pids", ns], { timeoutMs: 5000 });
  const list = pids.stdout.split(/\s+/).map(Number).filter((p) => p > 1 && p !== process.pid);
  if (killInside) await Promise.all(list.map((p) => killPid(p)));
  else if (list.length > 0) console.warn(`netns: stale namespace ${ns} still holds processes ${list.join(" ")} (not ours to kill); deleting its name only`);
  await run(["ip", "netns", "del", ns], { timeoutMs: 10_000 });
}

/**
 * Deletes leftovers: namespaces `wt<pid>-*` whose pid is no longer alive, or is this process
 * but belongs to no live `Lab` (an earlier suite of this run that could not clean up), and
 * artifact folders of dead runs. Returns the namespaces it deleted.
 */
export async function removeStale(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const m = STALE_NS.exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    const mine = pid === process.pid && ![...liveLabs].some((p) => ns.startsWith(p));
    if (mine || !pidAlive(pid)) {
      await destroyNamespace(ns, mine);
      removed.push(ns);
    }
  }
  const base = join(REPO_ROOT, "test/artifacts/e2e");
  if (existsSync(base)) {
    for (const d of readdirSync(base)) {
      const m = /^wt(\d+)$/.exec(d);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) rmSync(join(base, d), { recursive: true, force: true });
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------
// Namespaces and background processes

/** One network namespace. */
export class Netns {
  constructor(readonly name: string) {}

  /** `ip netns exec <ns> argv`, run to completion (bounded, default 20 s). */
  exec(argv: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return run(["ip", "netns", "exec", this.name, ...argv], opts);
  }

  /** Like exec, but throws unless it exits 0. */
  execOk(argv: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    return runOk(["ip", "netns", "exec", this.name, ...argv], opts);
  }

  /** `ip -n <ns> args`. */
  ip(...args: string[]): Promise<string> {
    return runOk(["ip", "-n", this.name, ...args]);
  }

  /**
   * Starts `argv` in the namespace in the background, stdout and stderr appended to `logFile`
   * (stdout to `<logFile minus .log>.stdout.log` with `separateStdout`).
   * `ip netns exec` execs the command itself, so the PID is the command's own.
   */
  spawnBg(name: string, argv: string[], logFile: string, opts: SpawnOptions = {}): BgProcess {
    return spawnLogged(name, ["ip", "netns", "exec", this.name, ...argv], logFile, opts);
  }

  /** True when a UDP socket listens on `port` in this namespace. */
  async udpListening(port: number): Promise<boolean> {
    const r = await this.exec(["ss", "-Hlun", `sport = :${port}`], { timeoutMs: 5000 });
    return r.code === 0 && r.stdout.trim() !== "";
  }

  /** True when a TCP socket listens on `port` in this namespace. */
  async tcpListening(port: number): Promise<boolean> {
    const r = await this.exec(["ss", "-Hltn", `sport = :${port}`], { timeoutMs: 5000 });
    return r.code === 0 && r.stdout.trim() !== "";
  }

  /** True when `ip link show <dev>` succeeds in this namespace. */
  async hasLink(dev: string): Promise<boolean> {
    return (await run(["ip", "-n", this.name, "link", "show", dev], { timeoutMs: 5000 })).code === 0;
  }
}

/** A client namespace joined to the server namespace by its own veth pair. */
export interface ClientHost {
  readonly ns: Netns;
  /** Client side of the veth, e.g. 10.77.1.2. */
  readonly addr: string;
  /** Server side of the veth as seen from this client, e.g. 10.77.1.1. */
  readonly serverAddr: string;
}

/** A server namespace, N clients and optionally an "internet" namespace behind the server. */
export interface Topology {
  readonly server: Netns;
  readonly clients: ClientHost[];
  /** The namespace behind the server (10.88.0.2; the server has 10.88.0.1), if asked for. */
  readonly internet?: Netns;
}

/**
 * Owner of everything one test suite creates: namespaces, background processes, log files.
 * `cleanup()` is idempotent and never throws; call it from afterAll.
 */
export class Lab {
  readonly prefix: string;
  readonly dir: string;
  readonly #namespaces: string[] = [];
  readonly #procs: BgProcess[] = [];

  /** `tag` distinguishes several labs of one run: names are `wt<pid>-<tag>-...`. */
  constructor(readonly tag: string) {
    if (!/^[a-z0-9]{1,8}$/.test(tag)) throw new Error(`lab tag must be 1-8 of [a-z0-9]: "${tag}"`);
    this.prefix = `${RUN_PREFIX}${tag}-`;
    if (liveLabs.has(this.prefix)) throw new Error(`a lab "${tag}" is already live in this process`);
    liveLabs.add(this.prefix);
    this.dir = join(ARTIFACTS, tag);
  }

  /** Creates a namespace `<prefix><suffix>` with lo up (any leftover of that name is removed first). */
  async namespace(suffix: string): Promise<Netns> {
    const name = `${this.prefix}${suffix}`;
    if ((await listNamespaces()).includes(name)) await destroyNamespace(name);
    await runOk(["ip", "netns", "add", name]);
    this.#namespaces.push(name);
    const ns = new Netns(name);
    await ns.ip("link", "set", "lo", "up");
    return ns;
  }

  /** Joins `a` and `b` with a veth pair created inside them (`ifA` in a, `ifB` in b), addresses set, up. */
  async veth(a: Netns, ifA: string, addrA: string, b: Netns, ifB: string, addrB: string): Promise<void> {
    await runOk(["ip", "link", "add", ifA, "netns", a.name, "type", "veth", "peer", "name", ifB, "netns", b.name]);
    await a.ip("addr", "add", addrA, "dev", ifA);
    await b.ip("addr", "add", addrB, "dev", ifB);
    await a.ip("link", "set", ifA, "up");
    await b.ip("link", "set", ifB, "up");
  }

  /** Server namespace plus `clients` client namespaces (client k: 10.77.k.2/24 <-> 10.77.k.1/24). */
  async topology(clients: number, opts: { internet?: boolean } = {}): Promise<Topology> {
    if (clients < 1 || clients > 250) throw new Error(`clients must be 1..250, got ${clients}`);
    const server = await this.namespace("srv");
    const hosts: ClientHost[] = [];
    for (let k = 1; k <= clients; k++) {
      const ns = await this.namespace(`c${k}`);
      await this.veth(ns, "v0", `10.77.${k}.2/24`, server, `vc${k}`, `10.77.${k}.1/24`);
      hosts.push({ ns, addr: `10.77.${k}.2`, serverAddr: `10.77.${k}.1` });
    }
    let internet: Netns | undefined;
    if (opts.internet) {
      internet = await this.namespace("net");
      await this.veth(internet, "v0", "10.88.0.2/24", server, "vn", "10.88.0.1/24");
    }
    // A fresh veth is usable at once but reports operstate UP only after the kernel's link
    // watcher runs (up to ~1-2 s); wait, so servers see every interface as running.
    const all = [server, ...hosts.map((h) => h.ns), ...(internet ? [internet] : [])];
    await waitFor("every veth to report operstate UP", async () => {
      for (const ns of all) {
        const links = await ns.ip("-o", "link", "show", "type", "veth");
        if (/state (DOWN|LOWERLAYERDOWN|UNKNOWN)/.test(links)) return undefined;
      }
      return true;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    return internet ? { server, clients: hosts, internet } : { server, clients: hosts };
  }

  /**
   * Starts `argv` in `ns` in the background; its log is `<dir>/<name>.log`. A warren
   * started here gets its own control socket (WARREN_CONTROL_SOCKET) and state directory
   * (WARREN_STATE_DIR: leases, NAT state) in the lab directory unless `opts.env` names
   * them, so servers never meet at the host-wide default paths.
   */
  spawn(ns: Netns, name: string, argv: string[], opts: SpawnOptions = {}): BgProcess {
    mkdirSync(this.dir, { recursive: true });
    const env = { WARREN_CONTROL_SOCKET: join(this.dir, `${name}.sock`), WARREN_STATE_DIR: join(this.dir, `${name}.state`), ...opts.env };
    const p = ns.spawnBg(name, argv, join(this.dir, `${name}.log`), { ...opts, env });
    this.#procs.push(p);
    return p;
  }

  /** Stops one process: `signal` (default SIGTERM), up to 3 s, then SIGKILL. Returns its exit code. */
  stop(p: BgProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    return stopProcess(p, signal);
  }

  /** Kills everything this lab started and deletes its namespaces. Never throws. */
  async cleanup(): Promise<void> {
    await Promise.all(this.#procs.map((p) => this.stop(p).catch(() => null)));
    for (const ns of this.#namespaces.splice(0).reverse()) await destroyNamespace(ns).catch(() => undefined);
    liveLabs.delete(this.prefix);
  }
}

/** Waits until a UDP socket is bound on `port` in `ns`. */
export function waitForUdpListener(ns: Netns, port: number, timeoutMs: number): Promise<true> {
  return waitFor(`a UDP listener on port ${port} in ${ns.name}`, async () => (await ns.udpListening(port)) || undefined, { timeoutMs });
}

/** Waits until a TCP socket listens on `port` in `ns`. */
export function waitForTcpListener(ns: Netns, port: number, timeoutMs: number): Promise<true> {
  return waitFor(`a TCP listener on port ${port} in ${ns.name}`, async () => (await ns.tcpListening(port)) || undefined, { timeoutMs });
}

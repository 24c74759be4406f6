/**
 * @module client-dns.e2e.test
 * `warren client --dns apply` in network namespaces (rules: /work/shared/TESTING.md).
 *
 * The real /etc/resolv.conf is never written: each client runs in a private mount namespace
 * (`unshare -m --propagation private`) where a temp file of the lab is bind-mounted over
 * /etc/resolv.conf, so the client writes that file through the default path; the test reads
 * it from outside. One test uses `--resolv-conf FILE` instead. The host file's hash is taken
 * before the suite and compared after it.
 *
 *   srv: warren server (TUN wtdn0 10.8.0.1/24, pushes d,192.0.2.53 d,2001:db8::53 s,corp.example)
 *        refserver on :8001 (TUN wtdr0 10.9.0.1/24, pushes no DNS)
 *   c1:  warren client --dns apply (TUN wdn1), state dir = the lab dir
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type BgProcess, Lab, netnsOrWarn, type Netns, removeStale, type Topology, waitFor, waitForLog, waitForUdpListener, withLogs,
} from "./netns.ts";
import { buildCTools, ensureWarren, ping, waitForPing } from "./tools.ts";

const SECRET = "client-dns-e2e-S3cret";
const HOST_RESOLV_CONF = "/etc/resolv.conf";
const ok = netnsOrWarn("warren client --dns apply e2e tests (need root, ip netns and mount namespaces)");
const TUN = "wdn1";
const HEADER = `# written by warren client (tun ${TUN}); the original is restored when it stops`;
const PUSHED = `${HEADER}\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch corp.example\n`;
// Comments, options, a blank line, non-ASCII and no final newline: all must come back exactly.
const ORIGINAL = Buffer.from("# the namespace's own resolver\nnameserver 10.77.1.1\noptions ndots:2 edns0\n\n# caf\xe9 \u00e9 (no final newline)", "latin1");

const warrenBin = (): Promise<string> => (process.env.WARREN_BIN ? Promise.resolve(process.env.WARREN_BIN) : ensureWarren());
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const hostHash = () => sha256(readFileSync(HOST_RESOLV_CONF));

/** A running client: its process and where its stderr goes. */
interface DnsClient {
  proc: BgProcess;
  err: string;
}

/** How the client's mount namespace sees /etc/resolv.conf: `file` bound over it (read-only with `ro`), or untouched. */
type Mount = { file: string; ro?: boolean } | null;

/**
 * Starts `warren client ARGS` in `ns`, inside a private mount namespace with `mount.file`
 * bound over /etc/resolv.conf, and waits for its "connected" line. Every step execs the
 * next, so the PID is the client's own. If the bind mount fails, the client never starts.
 */
async function startClient(lab: Lab, ns: Netns, name: string, mount: Mount, args: string[]): Promise<DnsClient> {
  const err = join(lab.dir, `${name}.err`);
  const bind = mount ? `mount --bind "$1" ${HOST_RESOLV_CONF} && ${mount.ro ? `mount -o remount,ro,bind ${HOST_RESOLV_CONF} && ` : ""}` : "";
  const script = `${bind}shift 2 && exec "$@" 2>>"$0"`;
  const proc = lab.spawn(ns, name, [
    "unshare", "-m", "--propagation", "private", "sh", "-c", script, err, mount?.file ?? "-", "-", await warrenBin(), "client", ...args,
  ]);
  await waitForLog(proc, "connected: ", 20_000).catch((e: Error) => {
    e.message += `\n--- ${name} stderr:\n${existsSync(err) ? readFileSync(err, "utf8") : ""}`;
    throw e;
  });
  return { proc, err };
}

const stderrOf = (c: DnsClient) => (existsSync(c.err) ? readFileSync(c.err, "utf8") : "");

describe.skipIf(!ok)("warren client --dns apply", () => {
  const lab = new Lab("cdns");
  let topo: Topology;
  let server: BgProcess;
  let hashBefore = "";
  let rc = ""; // the file bound over /etc/resolv.conf in the clients' mount namespaces
  const c1 = () => {
    const c = topo.clients[0];
    if (!c) throw new Error("no client namespace");
    return c.ns;
  };
  // Keyed by TUN name and network namespace (the inode of the namespace, as /run/netns/NAME shows it).
  const backup = () => join(lab.dir, `client-${TUN}-${statSync(`/run/netns/${c1().name}`).ino}.dns.json`);
  const args = (extra: string[] = []) => ["--server", "10.77.1.1:8000", "--secret", SECRET, "--tun", TUN, "--state-dir", lab.dir, "--dns", "apply", ...extra];
  const serverArgs = (dns: string[]) => [
    "--secret", SECRET, "--tun", "wtdn0", "--pool", "10.8.0.0/24", "--route", "10.8.0.0/24", ...dns.flatMap((d) => ["--dns", d]), "--search", "corp.example",
  ];

  async function startServer(name: string, dns: string[]): Promise<BgProcess> {
    const p = lab.spawn(topo.server, name, [await warrenBin(), "server", ...serverArgs(dns)]);
    await waitForLog(p, "server ready", 20_000);
    await withLogs([p], () => waitForUdpListener(topo.server, 8000, 5000));
    return p;
  }

  beforeAll(async () => {
    hashBefore = hostHash();
    await removeStale();
    await Promise.all([buildCTools(), warrenBin()]);
    topo = await lab.topology(1);
    mkdirSync(lab.dir, { recursive: true });
    rc = join(lab.dir, "resolv.conf");
    writeFileSync(rc, ORIGINAL);
    server = await startServer("server", ["192.0.2.53", "2001:db8::53"]);
  }, 90_000);

  afterAll(async () => {
    await lab.cleanup();
    if (hostHash() !== hashBefore) console.error(`\n*** ${HOST_RESOLV_CONF} OF THE HOST CHANGED DURING THE DNS E2E SUITE ***\n`);
  }, 30_000);

  test("the default path under a private mount: pushed DNS while up, the original byte for byte after SIGTERM", async () => {
    const ino = statSync(rc).ino;
    const c = await startClient(lab, c1(), "client", { file: rc }, args());
    expect(readFileSync(rc, "latin1")).toBe(PUSHED);
    expect(statSync(rc).ino).toBe(ino); // rewritten in place (a rename could not replace a bind mount anyway)
    expect(existsSync(backup())).toBe(true);
    expect(stderrOf(c)).toContain("DNS: /etc/resolv.conf now lists 192.0.2.53 2001:db8::53, search corp.example");
    expect(c.proc.logText().trim().split("\n")).toHaveLength(1); // stdout: only the connected line
    expect(hostHash()).toBe(hashBefore);
    expect(await lab.stop(c.proc, "SIGTERM")).toBe(0);
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
    expect(existsSync(backup())).toBe(false);
  }, 60_000);

  test("a reconnect that pushes the same DNS writes nothing; other DNS rewrites it; the original still comes back", async () => {
    const c = await startClient(lab, c1(), "client-reconnect", { file: rc }, args());
    const restart = async (name: string, dns: string[]) => {
      await lab.stop(server, "SIGKILL");
      // Traffic while the server is gone: the client notices and handshakes again.
      await ping(c1(), "10.8.0.1", { count: 2, waitMs: 500 });
      server = await startServer(name, dns);
      await withLogs([server, c.proc], () => waitForPing(c1(), "10.8.0.1", 15_000));
    };
    await restart("server-same", ["192.0.2.53", "2001:db8::53"]);
    expect(readFileSync(rc, "latin1")).toBe(PUSHED);
    expect(stderrOf(c).match(/now lists/g)).toHaveLength(1);
    await restart("server-other", ["198.51.100.53"]);
    await waitFor("resolv.conf to list the new server", () => readFileSync(rc, "latin1").includes("nameserver 198.51.100.53"), { timeoutMs: 10_000 });
    expect(readFileSync(rc, "latin1")).toBe(`${HEADER}\nnameserver 198.51.100.53\nsearch corp.example\n`);
    expect(stderrOf(c).match(/now lists/g)).toHaveLength(2);
    expect(await lab.stop(c.proc, "SIGTERM")).toBe(0);
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
    // Back to the first DNS for the tests below.
    await lab.stop(server, "SIGKILL");
    server = await startServer("server-again", ["192.0.2.53", "2001:db8::53"]);
  }, 90_000);

  test("killed with SIGKILL: the next start restores the original before anything else", async () => {
    const first = await startClient(lab, c1(), "client-killed", { file: rc }, args());
    await lab.stop(first.proc, "SIGKILL");
    expect(readFileSync(rc, "latin1")).toBe(PUSHED);
    expect(existsSync(backup())).toBe(true);
    // The second run only shows DNS: whatever puts the original back is the cleanup.
    const second = await startClient(lab, c1(), "client-second", { file: rc }, args(["--dns", "show"]));
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
    expect(existsSync(backup())).toBe(false);
    expect(stderrOf(second)).toContain(`DNS: /etc/resolv.conf restored (left by an earlier run (pid ${first.proc.pid}))`);
    expect(await lab.stop(second.proc, "SIGTERM")).toBe(0);
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
    // And once more with --dns apply on both sides.
    const third = await startClient(lab, c1(), "client-killed2", { file: rc }, args());
    await lab.stop(third.proc, "SIGKILL");
    const fourth = await startClient(lab, c1(), "client-fourth", { file: rc }, args());
    expect(readFileSync(rc, "latin1")).toBe(PUSHED);
    expect(stderrOf(fourth)).toContain("restored (left by an earlier run");
    expect(await lab.stop(fourth.proc, "SIGTERM")).toBe(0);
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
    expect(existsSync(backup())).toBe(false);
  }, 90_000);

  test("a read-only resolv.conf: one warning line, the tunnel comes up and works anyway", async () => {
    const c = await startClient(lab, c1(), "client-ro", { file: rc, ro: true }, args());
    const warnings = stderrOf(c).split("\n").filter((l) => l.includes("DNS not applied"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("DNS not applied: cannot write /etc/resolv.conf: EROFS; the tunnel stays up");
    await withLogs([server, c.proc], async () => {
      expect((await ping(c1(), "10.8.0.1", { count: 2 })).received).toBe(2);
    });
    expect(await lab.stop(c.proc, "SIGTERM")).toBe(0);
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
    expect(existsSync(backup())).toBe(false);
  }, 60_000);

  test("--resolv-conf FILE: that file instead, same lifecycle", async () => {
    const other = join(lab.dir, "other-resolv.conf");
    writeFileSync(other, ORIGINAL);
    const c = await startClient(lab, c1(), "client-path", null, args(["--resolv-conf", other]));
    expect(readFileSync(other, "latin1")).toBe(PUSHED);
    expect(stderrOf(c)).toContain(`DNS: ${other} now lists`);
    expect(await lab.stop(c.proc, "SIGTERM")).toBe(0);
    expect(readFileSync(other).equals(ORIGINAL)).toBe(true);
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
  }, 60_000);

  test("a server that pushes no DNS (C reference server): nothing is touched", async () => {
    const { refserver } = await buildCTools();
    const srv = lab.spawn(topo.server, "refserver", [refserver, "-p", "8001", "-k", SECRET, "-t", "wtdr0", "-A", "10.9.0.1/24", "-o", "m,1400 a,10.9.0.2,32 r,10.9.0.0,24"]);
    await waitForLog(srv, "listening on udp port", 10_000);
    const mtime = statSync(rc).mtimeMs;
    const c = await startClient(lab, c1(), "client-nodns", { file: rc }, args().map((a) => (a === "10.77.1.1:8000" ? "10.77.1.1:8001" : a)));
    expect(existsSync(backup())).toBe(false);
    expect(stderrOf(c)).not.toContain("DNS");
    expect(await lab.stop(c.proc, "SIGTERM")).toBe(0);
    expect(readFileSync(rc).equals(ORIGINAL)).toBe(true);
    expect(statSync(rc).mtimeMs).toBe(mtime);
    await lab.stop(srv, "SIGTERM");
  }, 60_000);

  test("the host's own /etc/resolv.conf is unchanged", () => {
    expect(hostHash()).toBe(hashBefore);
  });
});

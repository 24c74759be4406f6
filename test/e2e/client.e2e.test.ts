/**
 * @module client.e2e.test
 * `warren client` in network namespaces (rules: /work/shared/TESTING.md), against the
 * warren server and against the C reference server.
 *
 *   hub:  srv (warren server, TUN wthc0 10.8.0.1/24 + fd00:8::1, --route 10.8.0.0/24)
 *         <- c1 warren client over IPv4 (10.77.1.1), c2 over IPv6 ([fd77:2::1])
 *   ref:  srv (refserver, TUN wtrf0 10.9.0.1/24) <- c1 warren client
 *   def:  c1 (default via 10.77.1.1) -> srv (warren server on 192.0.2.1, pushes 0.0.0.0/0 and
 *         ::/0, forwards) -> net 10.88.0.2 (return route to 10.8.0.0/24 only: reachable only
 *         through the tunnel)
 *
 * WARREN_BIN=<path> runs another build than dist/warren (built when stale).
 * Logs stay in test/artifacts/e2e/wt<pid>/<lab>/ (client stderr in <name>.err).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type BgProcess, type ClientHost, Lab, netnsOrWarn, type Netns, removeStale, type Topology, waitFor, waitForLog, waitForUdpListener, withLogs,
} from "./netns.ts";
import { buildCTools, ensureWarren, ping, spawnPeer, waitForPing } from "./tools.ts";

const SECRET = "client-e2e-S3cret";
const ok = netnsOrWarn("warren client e2e tests (need root and ip netns)");
const CONNECTED = /^connected: (\S+)\/(\d+) via (\S+) \(mtu (\d+)\)$/;

const warrenBin = (): Promise<string> => (process.env.WARREN_BIN ? Promise.resolve(process.env.WARREN_BIN) : ensureWarren());

function host(topo: Topology, k: number): ClientHost {
  const c = topo.clients[k - 1];
  if (!c) throw new Error(`no client ${k}`);
  return c;
}

/** Starts `warren server ARGS` in `ns` and waits until it serves `port`. */
async function startServer(lab: Lab, ns: Netns, name: string, port: number, args: string[]): Promise<BgProcess> {
  const p = lab.spawn(ns, name, [await warrenBin(), "server", ...args]);
  await waitForLog(p, "server ready", 20_000);
  await withLogs([p], () => waitForUdpListener(ns, port, 5000));
  return p;
}

/** A running `warren client`: stdout in the lab log, stderr in `<name>.err`. */
interface WarrenClient {
  proc: BgProcess;
  err: string;
  address: string;
  line: string;
}

/** Starts `warren client ARGS` in `ns` (stderr kept apart) and waits for its "connected" line. */
async function startClient(lab: Lab, ns: Netns, name: string, args: string[]): Promise<WarrenClient> {
  const err = join(lab.dir, `${name}.err`);
  const proc = lab.spawn(ns, name, ["sh", "-c", `exec "$0" "$@" 2>>"${err}"`, await warrenBin(), "client", ...args]);
  const line = await waitForLog(proc, "connected: ", 20_000).catch((e: Error) => {
    e.message += `\n--- ${name} stderr:\n${existsSync(err) ? readFileSync(err, "utf8") : ""}`;
    throw e;
  });
  const m = CONNECTED.exec(line.trim());
  if (!m?.[1]) throw new Error(`unexpected line from ${name}: ${JSON.stringify(line)}`);
  return { proc, err, address: m[1], line: line.trim() };
}

const stderrOf = (c: WarrenClient) => (existsSync(c.err) ? readFileSync(c.err, "utf8") : "");

/** The client's state file for `tun` in `ns` (keyed by the namespace's inode, as /run/netns/NAME shows it). */
const stateFile = (dir: string, tun: string, ns: Netns) => join(dir, `client-${tun}-${statSync(`/run/netns/${ns.name}`).ino}.json`);

/** `ip route` and `ip -6 route` of `ns`. */
async function routes(ns: Netns): Promise<{ v4: string; v6: string }> {
  return { v4: await ns.ip("route"), v6: await ns.ip("-6", "route") };
}

/** Stops a client with SIGTERM and returns its exit code (bounded). */
async function term(lab: Lab, c: WarrenClient): Promise<number | null> {
  return lab.stop(c.proc, "SIGTERM");
}

describe.skipIf(!ok)("warren client <-> warren server (hub, IPv4 and IPv6 transport)", () => {
  const lab = new Lab("chub");
  let topo: Topology;
  let server: BgProcess;
  const serverArgs = ["--listen", "[::]:8000", "--secret", SECRET, "--tun", "wthc0", "--pool", "10.8.0.0/24", "--pool6", "fd00:8::/64", "--route", "10.8.0.0/24", "--dns", "192.0.2.53"];
  let c1: WarrenClient;
  let c2: WarrenClient;

  beforeAll(async () => {
    await removeStale();
    await Promise.all([buildCTools(), warrenBin()]);
    topo = await lab.topology(2);
    const h2 = host(topo, 2);
    await h2.ns.ip("addr", "add", "fd77:2::2/64", "dev", "v0", "nodad");
    await topo.server.ip("addr", "add", "fd77:2::1/64", "dev", "vc2", "nodad");
    server = await startServer(lab, topo.server, "server", 8000, serverArgs);
    c1 = await startClient(lab, host(topo, 1).ns, "client1", ["--server", "10.77.1.1:8000", "--secret", SECRET, "--id", "c1", "--tun", "wc1", "--state-dir", lab.dir]);
    c2 = await startClient(lab, h2.ns, "client2", ["--server", "[fd77:2::1]:8000", "--secret", SECRET, "--id", "c2", "--tun", "wc2", "--state-dir", lab.dir]);
  }, 90_000);

  afterAll(() => lab.cleanup(), 30_000);

  test("one line on stdout in the documented form; DNS shown on stderr, not applied", () => {
    expect(c1.line).toBe(`connected: ${c1.address}/32 via 10.77.1.1:8000 (mtu 1400)`);
    expect(c2.line).toBe(`connected: ${c2.address}/32 via [fd77:2::1]:8000 (mtu 1400)`);
    expect(c1.proc.logText().trim().split("\n")).toEqual([c1.line]);
    expect(stderrOf(c1)).toContain("pushed DNS: 192.0.2.53 (shown only");
  });

  test("ping the server's tunnel address from both clients", async () => {
    await withLogs([server, c1.proc, c2.proc], async () => {
      expect((await ping(host(topo, 1).ns, "10.8.0.1", { count: 3 })).received).toBe(3);
      expect((await ping(host(topo, 2).ns, "10.8.0.1", { count: 3 })).received).toBe(3);
    });
  }, 30_000);

  test("IPv6 inside the tunnel: 1 MB TCP to the server's fd00:8::1 arrives intact", async () => {
    const BYTES = 1024 * 1024;
    const sink = spawnPeer(lab, topo.server, "tcp-sink6", ["tcp-sink", "--bind", "fd00:8::1:9102", "--max-ms", "60000"]);
    await waitForLog(sink, '"kind":"listening"', 10_000);
    const sender = spawnPeer(lab, host(topo, 2).ns, "tcp-send6", ["tcp-send", "--to", "fd00:8::1:9102", "--bytes", String(BYTES), "--max-ms", "60000"]);
    await withLogs([server, sender, sink, c2.proc], async () => {
      const sent = JSON.parse(await waitForLog(sender, /"kind":"tcp-(sent|error)"/, 60_000));
      const got = JSON.parse(await waitForLog(sink, '"kind":"tcp-received"', 10_000));
      expect(sent).toMatchObject({ kind: "tcp-sent", bytes: BYTES, complete: true });
      expect(got.sha256).toBe(sent.sha256);
      expect(got.from).toMatch(/^fd00:8::/);
    });
  }, 90_000);

  test("the two clients reach each other through the hub", async () => {
    await withLogs([server, c1.proc, c2.proc], async () => {
      expect((await ping(host(topo, 1).ns, c2.address, { count: 3 })).received).toBe(3);
      expect((await ping(host(topo, 2).ns, c1.address, { count: 3 })).received).toBe(3);
    });
  }, 30_000);

  test("20 MB TCP from the client to the server arrives intact (sha256)", async () => {
    const BYTES = 20 * 1024 * 1024;
    const sink = spawnPeer(lab, topo.server, "tcp-sink", ["tcp-sink", "--bind", "10.8.0.1:9100", "--max-ms", "100000"]);
    await waitForLog(sink, '"kind":"listening"', 10_000);
    const sender = spawnPeer(lab, host(topo, 1).ns, "tcp-send", ["tcp-send", "--to", "10.8.0.1:9100", "--bytes", String(BYTES), "--max-ms", "100000"]);
    await withLogs([server, sender, sink, c1.proc], async () => {
      const sent = JSON.parse(await waitForLog(sender, /"kind":"tcp-(sent|error)"/, 100_000));
      const got = JSON.parse(await waitForLog(sink, '"kind":"tcp-received"', 10_000));
      expect(sent).toMatchObject({ kind: "tcp-sent", bytes: BYTES, complete: true });
      expect(got.bytes).toBe(BYTES);
      expect(got.sha256).toBe(sent.sha256);
      expect(got.from).toBe(c1.address);
      console.log(`  20 MiB through warren client + server in ${sent.ms} ms (${((BYTES * 8) / 1e3 / sent.ms).toFixed(0)} Mbit/s)`);
    });
  }, 120_000);

  test("SIGTERM: exit 0, interface and state file gone", async () => {
    expect(await term(lab, c2)).toBe(0);
    expect(await host(topo, 2).ns.hasLink("wc2")).toBe(false);
    expect(existsSync(stateFile(lab.dir, "wc2", host(topo, 2).ns))).toBe(false);
  }, 20_000);

  test("server killed (-9) and restarted: the client reconnects by itself within 10 s, same address", async () => {
    const before = await host(topo, 1).ns.ip("-4", "addr", "show", "wc1");
    await lab.stop(server, "SIGKILL");
    // Traffic while the server is gone: ICMP port unreachable, the client backs off and retries.
    expect((await ping(host(topo, 1).ns, "10.8.0.1", { count: 2, waitMs: 500 })).received).toBe(0);
    server = await startServer(lab, topo.server, "server-again", 8000, serverArgs);
    const t0 = Date.now();
    await withLogs([server, c1.proc], () => waitForPing(host(topo, 1).ns, "10.8.0.1", 10_000));
    console.log(`  ping answered again ${Date.now() - t0} ms after the restarted server was ready`);
    expect(c1.proc.exitCode()).toBeNull();
    expect(await host(topo, 1).ns.ip("-4", "addr", "show", "wc1")).toBe(before);
    expect(server.logText()).toContain("session up device=c1 ");
  }, 40_000);
});

describe.skipIf(!ok)("warren client <-> C reference server", () => {
  const lab = new Lab("cref");
  let topo: Topology;

  beforeAll(async () => {
    await removeStale();
    await Promise.all([buildCTools(), warrenBin()]);
    topo = await lab.topology(1);
  }, 90_000);

  afterAll(() => lab.cleanup(), 30_000);

  test("handshake with refserver's parameters, ping through the tunnel", async () => {
    const { refserver } = await buildCTools();
    const srv = lab.spawn(topo.server, "refserver", [refserver, "-p", "8001", "-k", SECRET, "-t", "wtrf0", "-A", "10.9.0.1/24", "-o", "m,1400 a,10.9.0.2,32 r,10.9.0.0,24"]);
    await waitForLog(srv, "listening on udp port", 10_000);
    const c = await startClient(lab, host(topo, 1).ns, "client", ["--server", "10.77.1.1:8001", "--secret", SECRET, "--tun", "wr1", "--state-dir", lab.dir]);
    expect(c.line).toBe("connected: 10.9.0.2/32 via 10.77.1.1:8001 (mtu 1400)");
    await withLogs([srv, c.proc], async () => {
      expect((await ping(host(topo, 1).ns, "10.9.0.1", { count: 3 })).received).toBe(3);
    });
    expect(await term(lab, c)).toBe(0);
  }, 60_000);
});

describe.skipIf(!ok)("warren client with a pushed default route", () => {
  const lab = new Lab("cdef");
  let topo: Topology;
  let server: BgProcess;
  let baseline: { v4: string; v6: string };
  const c1 = () => host(topo, 1).ns;
  const args = (extra: string[] = []) => ["--server", "192.0.2.1:8000", "--secret", SECRET, "--tun", "wd1", "--state-dir", lab.dir, ...extra];

  beforeAll(async () => {
    await removeStale();
    await Promise.all([buildCTools(), warrenBin()]);
    topo = await lab.topology(1, { internet: true });
    const net = topo.internet;
    if (!net) throw new Error("no internet namespace");
    // The server's public address is not on the client's link: the client reaches it via its default gateway.
    await topo.server.ip("addr", "add", "192.0.2.1/32", "dev", "lo");
    // The server's socket is bound to `::`: make its replies to the client leave from 192.0.2.1.
    await topo.server.ip("route", "replace", "10.77.1.0/24", "dev", "vc1", "src", "192.0.2.1");
    await c1().ip("route", "add", "default", "via", "10.77.1.1");
    await topo.server.execOk(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]); // this namespace only
    await net.ip("route", "add", "10.8.0.0/24", "via", "10.88.0.1");
    server = await startServer(lab, topo.server, "server", 8000, ["--secret", SECRET, "--tun", "wtdf0", "--pool", "10.8.0.0/24", "--pool6", "fd00:8::/64", "--route", "0.0.0.0/0"]);
    baseline = await routes(c1());
  }, 90_000);

  afterAll(() => lab.cleanup(), 30_000);

  test("wrong secret: non-zero exit after the 5 s wait, one line on stderr, nothing left behind", async () => {
    const t0 = Date.now();
    const r = await c1().exec([await warrenBin(), "client", ...args().map((a) => (a === SECRET ? "wrong-secret" : a))], { timeoutMs: 30_000 });
    const ms = Date.now() - t0;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe("warren: no answer from 192.0.2.1:8000 within 5 s (wrong secret, or no ToyVpn server there?)");
    expect(ms).toBeGreaterThanOrEqual(4500);
    expect(await routes(c1())).toEqual(baseline);
    expect(existsSync(stateFile(lab.dir, "wd1", c1()))).toBe(false);
  }, 40_000);

  test("traffic to the third namespace goes through the tunnel, the server stays reachable; SIGTERM restores the tables exactly", async () => {
    const c = await startClient(lab, c1(), "client", args());
    await withLogs([server, c.proc], async () => {
      const now = await routes(c1());
      expect(now.v4).toContain("0.0.0.0/1 dev wd1");
      expect(now.v4).toContain("128.0.0.0/1 dev wd1");
      expect(now.v4).toContain("192.0.2.1 via 10.77.1.1 dev v0");
      expect(now.v4).toContain("default via 10.77.1.1 dev v0"); // never replaced
      expect(now.v6).toContain("::/1 dev wd1");
      expect(now.v6).toContain("8000::/1 dev wd1");
      expect(await c1().ip("route", "get", "10.88.0.2")).toContain("dev wd1");
      expect(await c1().ip("route", "get", "192.0.2.1")).toContain("via 10.77.1.1 dev v0");
      // 10.88.0.2 has a return route only to the tunnel pool: an answer proves the path.
      expect((await ping(c1(), "10.88.0.2", { count: 3 })).received).toBe(3);
      expect((await ping(c1(), "192.0.2.1", { count: 2 })).received).toBe(2);
      expect((await ping(c1(), "10.8.0.1", { count: 2 })).received).toBe(2);
    });
    expect(await term(lab, c)).toBe(0);
    expect(await routes(c1())).toEqual(baseline);
    expect(await c1().hasLink("wd1")).toBe(false);
    expect(existsSync(stateFile(lab.dir, "wd1", c1()))).toBe(false);
  }, 60_000);

  test("killed with SIGKILL: the next start removes the routes the first run left behind", async () => {
    const first = await startClient(lab, c1(), "client-killed", args());
    await lab.stop(first.proc, "SIGKILL");
    // The TUN and its routes went with the process; the host route to the server did not.
    await waitFor("wd1 to disappear", async () => !(await c1().hasLink("wd1")), { timeoutMs: 5000 });
    expect((await routes(c1())).v4).toContain("192.0.2.1 via 10.77.1.1 dev v0");
    expect(existsSync(stateFile(lab.dir, "wd1", c1()))).toBe(true);
    // The second run adds no routes itself (--routes none), so whatever is gone was removed by it.
    const second = await startClient(lab, c1(), "client-second", args(["--routes", "none"]));
    // Only the kernel's own routes for the new interface's addresses may differ.
    const during = await routes(c1());
    const notWd1 = (t: string) => t.split("\n").filter((l) => !l.includes(" dev wd1 ")).join("\n");
    expect(during.v4).toBe(baseline.v4);
    expect(notWd1(during.v6)).toBe(notWd1(baseline.v6));
    expect(during.v6).not.toContain("::/1");
    expect(stderrOf(second)).toContain("route(s) left by an earlier run");
    expect(await term(lab, second)).toBe(0);
    expect(await routes(c1())).toEqual(baseline);
    expect(existsSync(stateFile(lab.dir, "wd1", c1()))).toBe(false);
  }, 60_000);

  test("the client exits non-zero with one line when the server port is closed", async () => {
    await lab.stop(server, "SIGKILL");
    const r = await c1().exec([await warrenBin(), "client", ...args()], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toEqual(["warren: server 192.0.2.1:8000 unreachable (ECONNREFUSED: nothing listens on that port)"]);
    expect(await routes(c1())).toEqual(baseline);
  }, 40_000);
});

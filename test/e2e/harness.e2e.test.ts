/**
 * @module harness.e2e.test
 * Checks the e2e tooling itself against the C reference server (which serves one client at a
 * time): namespaces and veths, refclient, miniping, the toyclient's handshake and its
 * hand-built IPv4/IPv6 ICMP and UDP packets (a real kernel answers them only if their
 * checksums are right), and the UDP sink. When these fail, warren's e2e results mean nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type BgProcess,
  Lab,
  listNamespaces,
  netnsOrWarn,
  pidAlive,
  removeStale,
  runOk,
  type Topology,
  waitFor,
  waitForLog,
  waitForUdpListener,
} from "./netns.ts";
import { buildCTools, ping, sinkPayloads, spawnPeer, startRefclient, toyclient } from "./tools.ts";

const SECRET = "harness-secret";
const PORT = 8000;
const TUN = "wtref0";
const ok = netnsOrWarn("e2e harness tests (need root and ip netns)");

describe.skipIf(!ok)("e2e harness against the C reference server", () => {
  const lab = new Lab("ref");
  let topo: Topology;
  let server: BgProcess;

  beforeAll(async () => {
    await removeStale();
    const tools = await buildCTools();
    topo = await lab.topology(2, { internet: true });
    server = lab.spawn(topo.server, "refserver", [
      tools.refserver, "-p", String(PORT), "-k", SECRET, "-t", TUN, "-A", "10.8.0.1/24",
      "-o", "m,1400 a,fd00:8::2,128 a,10.8.0.2,32 r,10.8.0.0,24",
    ]);
    await waitForLog(server, "listening on udp port", 10_000);
    await topo.server.ip("addr", "add", "fd00:8::1/64", "dev", TUN, "nodad");
    await waitForUdpListener(topo.server, PORT, 5000);
  }, 90_000);

  afterAll(() => lab.cleanup(), 30_000);

  test("removeStale deletes namespaces of dead runs, keeps those of live labs", async () => {
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    expect(pidAlive(dead.pid)).toBe(false);
    const stale = `wt${dead.pid}-stale`;
    await runOk(["ip", "netns", "add", stale]);
    const removed = await removeStale();
    const left = await listNamespaces();
    expect(removed).toContain(stale);
    expect(left).not.toContain(stale);
    expect(left).toContain(topo.server.name); // this suite's own lab is live
  }, 20_000);

  test("every client namespace reaches its side of the server namespace; the server reaches the internet namespace", async () => {
    for (const c of topo.clients) {
      const r = await ping(c.ns, c.serverAddr, { count: 1 });
      expect(r.received).toBe(1);
    }
    expect(topo.internet).toBeDefined();
    if (topo.internet) expect((await ping(topo.server, "10.88.0.2", { count: 1 })).received).toBe(1);
    // no forwarding in the server namespace: a client cannot reach the internet namespace by itself
    expect((await ping(topo.clients[0]?.ns ?? topo.server, "10.88.0.2", { count: 1, waitMs: 300 })).received).toBe(0);
  }, 20_000);

  test("refclient: handshake, TUN up, kernel ping through the tunnel", async () => {
    const c1 = topo.clients[0];
    if (!c1) throw new Error("no client");
    const rc = await startRefclient(lab, c1, "refclient", { port: PORT, secret: SECRET, tun: "rc0" });
    expect(rc.address).toBe("10.8.0.2");
    expect(rc.params).toBe("m,1400 a,fd00:8::2,128 a,10.8.0.2,32 r,10.8.0.0,24");
    const r = await ping(c1.ns, "10.8.0.1", { count: 3 });
    expect(r.received).toBe(3);
    await lab.stop(rc.proc);
  }, 30_000);

  test("toyclient: parameters, hand-built IPv4 and IPv6 pings answered by the kernel", async () => {
    const c2 = topo.clients[1];
    if (!c2) throw new Error("no client");
    const r = await toyclient(lab, c2.ns, "toy-ping", {
      server: `${c2.serverAddr}:${PORT}`, secret: SECRET, ping: ["10.8.0.1", "fd00:8::1"], count: 3,
    });
    expect(r.handshake.answered).toBe(true);
    expect(r.handshake.sizes).toEqual([1024]);
    expect(r.handshake.datagrams).toBeGreaterThanOrEqual(3);
    expect(r.handshake.params).toMatchObject({ valid: true, mtu: 1400, address: "10.8.0.2", prefix: 32, address6: "fd00:8::2" });
    expect(r.pings).toEqual({ "10.8.0.1": { sent: 3, received: 3 }, "fd00:8::1": { sent: 3, received: 3 } });
  }, 30_000);

  test("toyclient: hand-built UDP (IPv4 and IPv6) reaches a sink behind the TUN; spoofed sources too (refserver does not filter)", async () => {
    const c2 = topo.clients[1];
    if (!c2) throw new Error("no client");
    const sink4 = spawnPeer(lab, topo.server, "sink4", ["udp-sink", "--bind", "10.8.0.1:9000"]);
    const sink6 = spawnPeer(lab, topo.server, "sink6", ["udp-sink", "--bind", "fd00:8::1:9001"]);
    await waitForLog(sink4, '"kind":"listening"', 10_000);
    await waitForLog(sink6, '"kind":"listening"', 10_000);
    const r4 = await toyclient(lab, c2.ns, "toy-udp4", { server: `${c2.serverAddr}:${PORT}`, secret: SECRET, udpProbe: "10.8.0.1:9000" });
    const r6 = await toyclient(lab, c2.ns, "toy-udp6", { server: `${c2.serverAddr}:${PORT}`, secret: SECRET, udpProbe: "[fd00:8::1]:9001" });
    const got4 = await waitFor("the IPv4 probe at the sink", () => sinkPayloads(sink4).find((p) => p.payload === `legit:${r4.udpProbe?.nonce}`), { timeoutMs: 5000 });
    const got6 = await waitFor("the IPv6 probe at the sink", () => sinkPayloads(sink6).find((p) => p.payload === `legit:${r6.udpProbe?.nonce}`), { timeoutMs: 5000 });
    expect(got4.from).toBe("10.8.0.2");
    expect(got6.from).toBe("fd00:8::2");
    // Negative control for warren's anti-spoofing test: refserver does not filter, so a spoofed
    // source must show up at the sink. If it did not, that test could not fail.
    const rs = await toyclient(lab, c2.ns, "toy-spoof", {
      server: `${c2.serverAddr}:${PORT}`, secret: SECRET, spoofSrc: "10.8.0.99", udpProbe: "10.8.0.1:9000",
    });
    const spoofed = await waitFor("the spoofed probe at the sink", () => sinkPayloads(sink4).find((p) => p.payload === `spoofed:${rs.udpProbe?.nonce}`), { timeoutMs: 5000 });
    expect(spoofed.from).toBe("10.8.0.99");
    await lab.stop(sink4);
    await lab.stop(sink6);
  }, 40_000);
});

/**
 * @module datapath.e2e.test
 * The fast data path's own behaviour (docs/DATAPATH.md), with the compiled `dist/warren
 * server` in network namespaces (rules: /work/shared/TESTING.md):
 *
 *   srv: warren (TUN wtdp0 10.40.0.1/24, UDP 0.0.0.0:8020), a UDP sink on 10.40.0.1:9000
 *   c1, c2: toyclients (hand-built packets, so every count is known in advance)
 *
 * - Counters: the same scripted traffic (pings to the server, UDP datagrams, client-to-client
 *   pings through the hub, the same pings with --isolate on, spoofed pings and datagrams) on a
 *   simple server and on a fast one gives the same per-client and server-wide counts.
 * - Fallback: when the TUN name belongs to an existing interface without multi-queue, a fast
 *   server says why it runs the simple path, and serves clients.
 * Spoofing, hub and isolation for real clients, capture, NAT and WireGuard on both paths are
 * in server/ops/nat/wireguard e2e (datapaths.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { ClientInfo, Snapshot } from "../../src/admin/snapshot.ts";
import { type BgProcess, Lab, netnsOrWarn, removeStale, type Topology, waitForLog, waitForUdpListener, withLogs } from "./netns.ts";
import { dataPathArgs, type DataPathName, expectDataPath } from "./datapaths.ts";
import { ensureWarren, spawnPeer, spawnToyclient, toyclient, toyResult, sinkPayloads } from "./tools.ts";

const SECRET = "dp-e2e-Secret-9b2";
const PORT = 8020;
const SERVER = "10.40.0.1";
const ok = netnsOrWarn("data path e2e tests (need root and ip netns)");

describe.skipIf(!ok)("the fast data path", () => {
  const lab = new Lab("dp");
  let topo: Topology;
  let sink: BgProcess;
  let bin = "";
  let runs = 0;

  /** Starts a server with `args`; returns it and the CLI on its control socket. */
  async function start(name: string, args: string[]) {
    const p = lab.spawn(topo.server, name, [bin, "server", "--listen", `0.0.0.0:${PORT}`, "--secret", SECRET, "--pool", "10.40.0.0/24", "--route", "10.40.0.0/24", ...args]);
    await waitForLog(p, "server ready", 20_000);
    await withLogs([p], () => waitForUdpListener(topo.server, PORT, 5000));
    const cliJson = async <T>(...a: string[]): Promise<T> => {
      const r = await topo.server.exec([bin, ...a, "--json", "--control-socket", join(lab.dir, `${name}.sock`)], { timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`warren ${a.join(" ")} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    const set = async (key: string, value: string) => {
      const r = await topo.server.exec([bin, "set", key, value, "--control-socket", join(lab.dir, `${name}.sock`)], { timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`warren set ${key} ${value} exited ${r.code}: ${r.stderr}`);
    };
    return { p, status: () => cliJson<Snapshot>("status"), set };
  }

  const toyServer = (k: number) => `${topo.clients[k - 1]?.serverAddr}:${PORT}`;

  /**
   * The scripted traffic on a fresh server with data path `dp`; returns what the server
   * counted, per client (by device id) and in total.
   */
  async function countedTraffic(dp: DataPathName) {
    const srv = await start(`warren-${dp}`, ["--tun", `wtdp${++runs}`, ...dataPathArgs(dp)]);
    await expectDataPath(srv.p, dp);
    const c1 = topo.clients[0]?.ns;
    const c2 = topo.clients[1]?.ns;
    if (!c1 || !c2) throw new Error("clients missing");
    const probes0 = sinkPayloads(sink).length;
    await withLogs([srv.p, sink], async () => {
      // 1. echo: 10 pings to the server, 3 datagrams to the sink; then answers pings for a while
      const echo = spawnToyclient(lab, c1, `toy-echo-${dp}`, {
        server: toyServer(1), secret: `${SECRET}:echo`, ping: [SERVER], count: 10, waitMs: 3000, udpProbe: `${SERVER}:9000`,
        serveEcho: true, lingerMs: 60_000, deadlineMs: 90_000,
      });
      const e = await toyResult(echo);
      expect(e.pings?.[SERVER]).toEqual({ sent: 10, received: 10 });
      const peer = e.address ?? "";
      // 2. pinger: 6 pings to the echo client through the hub, 4 to the server
      const hub = await toyclient(lab, c2, `toy-hub-${dp}`, { server: toyServer(2), secret: `${SECRET}:pinger`, ping: [peer, SERVER], count: 6, waitMs: 3000 });
      expect(hub.pings).toEqual({ [peer]: { sent: 6, received: 6 }, [SERVER]: { sent: 6, received: 6 } });
      // 3. the same with --isolate: dropped (counted as isolated on the sender)
      await srv.set("isolate", "true");
      const iso = await toyclient(lab, c2, `toy-iso-${dp}`, { server: toyServer(2), secret: `${SECRET}:isolated`, ping: [peer], count: 3, waitMs: 800, expectNone: true });
      expect(iso.pings?.[peer]).toEqual({ sent: 3, received: 0 });
      await srv.set("isolate", "false");
      // 4. spoofer: 4 pings and 3 datagrams from another address (dropped), then 3 legit datagrams
      const spoof = await toyclient(lab, c2, `toy-spoof-${dp}`, {
        server: toyServer(2), secret: `${SECRET}:spoofer`, spoofSrc: "10.40.0.99", ping: [SERVER], count: 4, waitMs: 800, expectNone: true,
        udpProbe: `${SERVER}:9000`,
      });
      expect(spoof.pings?.[SERVER]).toEqual({ sent: 4, received: 0 });
      await lab.stop(echo);
    });
    const delivered = sinkPayloads(sink).slice(probes0).map((x) => x.payload.split(":")[0]);
    const snap = await srv.status();
    await lab.stop(srv.p);
    const pick = (c: ClientInfo) => ({ rx: [c.rxPackets, c.rxBytes], tx: [c.txPackets, c.txBytes], drops: Object.fromEntries(Object.entries(c.drops).filter(([, n]) => n > 0)) });
    const clients = Object.fromEntries(snap.clients.map((c) => [c.deviceId, pick(c)]));
    const t = snap.status.totals;
    const drops = Object.fromEntries(Object.entries(snap.status.drops).filter(([, n]) => n > 0));
    return { clients, totals: { rx: [t.rxPackets, t.rxBytes], tx: [t.txPackets, t.txBytes], hub: t.hubPackets }, drops, delivered, dataPath: snap.status.dataPath };
  }

  beforeAll(async () => {
    await removeStale();
    bin = await ensureWarren();
    topo = await lab.topology(2);
    sink = spawnPeer(lab, topo.server, "udp-sink", ["udp-sink", "--bind", "0.0.0.0:9000", "--max-ms", "170000"]);
    await waitForLog(sink, '"kind":"listening"', 10_000);
  }, 120_000);

  afterAll(() => lab.cleanup(), 30_000);

  test("the same traffic gives the same counters on the simple and the fast path", async () => {
    const simple = await countedTraffic("simple");
    const fast = await countedTraffic("fast");
    // what the traffic must have produced (on both)
    expect(simple.clients.echo).toMatchObject({ rx: [10 + 3 + 6, expect.any(Number)], tx: [10 + 6, expect.any(Number)] });
    expect(simple.clients.isolated).toMatchObject({ drops: { isolated: 3 } });
    expect(simple.clients.spoofer).toMatchObject({ rx: [3, expect.any(Number)], drops: { spoofed: 4 + 3 } });
    expect(simple.totals.hub).toBe(12);
    expect(simple.delivered.sort()).toEqual(["legit", "legit", "legit", "legit", "legit", "legit"]);
    expect(simple.dataPath?.name).toBe("simple");
    expect(fast.dataPath?.name).toMatch(/^fast \(\d workers?, coalescing, TSO, paced\)$/);
    expect(fast.dataPath?.handoffDrops).toBe(0);
    console.log(`  counters: ${JSON.stringify(fast.clients)}; fast path: ${JSON.stringify(fast.dataPath)}`);
    // hub (6 + 6), isolated (3) and spoofed (4 + 3) datagrams went to the main thread; the workers moved the rest
    expect(fast.dataPath?.handoffs).toBe(22);
    const { dataPath: _s, ...s } = simple;
    const { dataPath: _f, ...f } = fast;
    expect(f).toEqual(s);
  }, 120_000);

  test("an existing TUN without multi-queue: the fast server says why it runs the simple path, and serves", async () => {
    await topo.server.ip("tuntap", "add", "dev", "wtdpx0", "mode", "tun");
    const srv = await start("warren-fallback", ["--tun", "wtdpx0", ...dataPathArgs("fast")]);
    await withLogs([srv.p], async () => {
      const why = await waitForLog(srv.p, "fast data path unavailable", 5000);
      expect(why).toContain("wtdpx0 exists without multi-queue support");
      await expectDataPath(srv.p, "simple");
      const r = await toyclient(lab, topo.clients[0]?.ns ?? topo.server, "toy-fallback", { server: toyServer(1), secret: SECRET, ping: [SERVER], count: 3 });
      expect(r.pings?.[SERVER]).toEqual({ sent: 3, received: 3 });
      expect((await srv.status()).status.dataPath?.name).toBe("simple");
      expect(await lab.stop(srv.p)).toBe(0);
    });
  }, 60_000);
});

/**
 * @module server.e2e.test
 * The compiled `dist/warren server` in network namespaces (rules: /work/shared/TESTING.md),
 * driven by the C reference client (kernel TUN, kernel ping and TCP) and by the toyclient
 * (hand-built packets: spoofing, keepalive, reconnects, wrong secrets).
 *
 *   hub:  srv (warren, TUN wthub0 10.8.0.1/24, UDP [::]:8000) <- c1 refclient, c2 refclient, c3 toyclient, c4 toyclient
 *   iso:  srv (warren --isolate, TUN wtiso0 10.9.0.1/24, UDP 0.0.0.0:8001, JSON logs) <- c1, c2 refclients
 *
 * Both run once per data path (--data-path fast and simple, datapaths.ts): spoofing, the hub
 * and isolation must hold the same way whether the workers or the main thread move packets.
 *
 * Each describe shares one server; tests that need clients start them, so each can be read alone.
 * Failures append the server's (and clients') log tails. Logs stay in test/artifacts/e2e/wt<pid>/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type BgProcess,
  type ClientHost,
  Lab,
  netnsOrWarn,
  type Netns,
  removeStale,
  sleep,
  type Topology,
  waitFor,
  waitForExit,
  waitForLog,
  waitForUdpListener,
  withLogs,
} from "./netns.ts";
import {
  buildCTools,
  ensureWarren,
  ping,
  type RefClient,
  sinkPayloads,
  spawnPeer,
  spawnToyclient,
  startRefclient,
  toyclient,
  toyResult,
} from "./tools.ts";
import { dataPathArgs, dataPathTag, E2E_DATA_PATHS, expectDataPath } from "./datapaths.ts";

const SECRET = "e2e-Secret-7f3a";
const ok = netnsOrWarn("warren server e2e tests (need root and ip netns)");

/**
 * Starts `warren server ARGS` in `ns` and waits for "server ready" and its UDP socket.
 * With `separateStdout`, the process's `log` holds only stderr (where warren logs).
 */
async function startWarren(lab: Lab, ns: Netns, name: string, port: number, args: string[], separateStdout = false): Promise<BgProcess> {
  const bin = await ensureWarren();
  const p = lab.spawn(ns, name, [bin, "server", ...args], { separateStdout });
  await waitForLog(p, "server ready", 20_000);
  await withLogs([p], () => waitForUdpListener(ns, port, 5000));
  return p;
}

function client(topo: Topology, k: number): ClientHost {
  const c = topo.clients[k - 1];
  if (!c) throw new Error(`no client ${k}`);
  return c;
}

for (const dp of E2E_DATA_PATHS) {
  describe.skipIf(!ok)(`warren server (${dp}): hub`, () => {
    const PORT = 8000;
    const TUN = "wthub0";
    const lab = new Lab(dataPathTag("hub", dp));
    let topo: Topology;
    let server: BgProcess | undefined;
    let rcs: RefClient[] = [];
    let sink: BgProcess | undefined;

    /** The two refclients (c1, c2), started on first use and kept for later tests. */
    async function refclients(): Promise<RefClient[]> {
      if (rcs.length === 0) {
        rcs = [
          await startRefclient(lab, client(topo, 1), "refclient1", { port: PORT, secret: SECRET, tun: "rc1" }),
          await startRefclient(lab, client(topo, 2), "refclient2", { port: PORT, secret: SECRET, tun: "rc2" }),
        ];
      }
      return rcs;
    }

    /** A UDP sink on 10.8.0.1:9000 in the server namespace, shared by the probe tests. */
    async function udpSink(): Promise<BgProcess> {
      if (!sink) {
        sink = spawnPeer(lab, topo.server, "udp-sink", ["udp-sink", "--bind", "10.8.0.1:9000", "--max-ms", "170000"]);
        await waitForLog(sink, '"kind":"listening"', 10_000);
      }
      return sink;
    }

    const toy = (k: number) => `${client(topo, k).serverAddr}:${PORT}`;

    beforeAll(async () => {
      await removeStale();
      await Promise.all([buildCTools(), ensureWarren()]);
      topo = await lab.topology(4);
      // Default --listen ([::]:8000, dual stack) on purpose.
      server = await startWarren(lab, topo.server, "warren-hub", PORT, [
        "--secret", SECRET, "--tun", TUN, "--route", "10.8.0.0/24", "--log-level", "debug", ...dataPathArgs(dp),
      ]);
      await expectDataPath(server, dp);
    }, 360_000);

    afterAll(() => lab.cleanup(), 30_000);

    test("handshake: 1024-byte answers, sent at least 3 times, with parameters the Android client accepts", async () => {
      const r = await toyclient(lab, client(topo, 4).ns, "toy-handshake", { server: toy(4), secret: SECRET });
      await withLogs([server], async () => {
        expect(r.handshake.answered).toBe(true);
        expect(r.handshake.sizes).toEqual([1024]);
        expect(r.handshake.datagrams).toBeGreaterThanOrEqual(3);
        const p = r.handshake.params;
        expect(p?.valid, `parameter errors: ${p?.errors.join("; ")}`).toBe(true);
        expect(p).toMatchObject({ mtu: 1400, prefix: 32, routes: ["10.8.0.0/24"], dns: ["1.1.1.1"] });
        expect(p?.address).toMatch(/^10\.8\.0\.(\d+)$/);
        expect(p?.address).not.toBe("10.8.0.1");
        expect(p?.raw).toMatch(/^m,1400 a,10\.8\.0\.\d+,32 r,10\.8\.0\.0,24 d,1\.1\.1\.1 *$/);
        const up = await waitForLog(server as BgProcess, new RegExp(`session up.*${p?.address?.replaceAll(".", "\\.")}\\b`), 5000);
        expect(up).toContain("10.77.4.2");
      });
    }, 30_000);

    test("three clients at once (2 refclients + toyclient) reach 10.8.0.1 and each other", async () => {
      const [rc1, rc2] = await refclients();
      if (!rc1 || !rc2) throw new Error("refclients missing");
      expect(rc1.address).not.toBe(rc2.address);
      const t = spawnToyclient(lab, client(topo, 3).ns, "toy-hub", {
        server: toy(3), secret: SECRET, ping: ["10.8.0.1", rc1.address, rc2.address], count: 3, waitMs: 3000,
        serveEcho: true, lingerMs: 30_000, deadlineMs: 60_000,
      });
      await withLogs([server, t, rc1.proc, rc2.proc], async () => {
        const r = await toyResult(t);
        const me = r.address ?? "";
        expect(me).toMatch(/^10\.8\.0\.\d+$/);
        expect([rc1.address, rc2.address]).not.toContain(me);
        expect(r.pings).toEqual({
          "10.8.0.1": { sent: 3, received: 3 },
          [rc1.address]: { sent: 3, received: 3 },
          [rc2.address]: { sent: 3, received: 3 },
        });
        for (const [rc, other] of [[rc1, rc2], [rc2, rc1]] as const) {
          for (const target of ["10.8.0.1", other.address, me]) {
            const res = await ping(rc.host.ns, target, { count: 3 });
            expect({ from: rc.address, target, received: res.received }).toEqual({ from: rc.address, target, received: 3 });
          }
        }
        await lab.stop(t);
        const served = await waitForLog(t, '"kind":"served"', 5000);
        expect(JSON.parse(served).echoRequestsAnswered).toBeGreaterThanOrEqual(6);
      });
    }, 90_000);

    /**
     * 20 MiB over TCP from rc1 to a sink at `bind` in namespace `sinkNs`: it arrives whole
     * (sha256) and from rc1's tunnel address; logs the rate as `label`.
     */
    async function tcp20MiB(tag: string, sinkNs: Netns, bind: string, others: BgProcess[], label: string): Promise<void> {
      const [rc1] = await refclients();
      if (!rc1) throw new Error("refclient missing");
      const BYTES = 20 * 1024 * 1024;
      const tcpSink = spawnPeer(lab, sinkNs, `tcp-sink${tag}`, ["tcp-sink", "--bind", bind, "--max-ms", "100000"]);
      await waitForLog(tcpSink, '"kind":"listening"', 10_000);
      const sender = spawnPeer(lab, rc1.host.ns, `tcp-send${tag}`, ["tcp-send", "--to", bind, "--bytes", String(BYTES), "--max-ms", "100000"]);
      await withLogs([server, sender, tcpSink, rc1.proc, ...others], async () => {
        const sent = JSON.parse(await waitForLog(sender, /"kind":"tcp-(sent|error)"/, 100_000));
        const got = JSON.parse(await waitForLog(tcpSink, '"kind":"tcp-received"', 10_000));
        expect(sent).toMatchObject({ kind: "tcp-sent", bytes: BYTES, complete: true });
        expect(got.bytes).toBe(BYTES);
        expect(got.sha256).toBe(sent.sha256);
        expect(got.from).toBe(rc1.address);
        console.log(`  20 MiB ${label} in ${sent.ms} ms (${((BYTES * 8) / 1e3 / sent.ms).toFixed(0)} Mbit/s)`);
      });
    }

    test("20 MB TCP transfer from a refclient to 10.8.0.1 arrives intact (sha256)", async () => {
      await tcp20MiB("", topo.server, "10.8.0.1:9100", [], "through the tunnel");
    }, 120_000);

    test("20 MB TCP between two refclients through the hub arrives intact (sha256)", async () => {
      const [, rc2] = await refclients();
      if (!rc2) throw new Error("refclients missing");
      await tcp20MiB("-c2c", rc2.host.ns, `${rc2.address}:9101`, [rc2.proc], "client to client");
    }, 120_000);

    test("wrong secret: no answer, 'handshake rejected from' logged, secret never logged", async () => {
      const bad = `wrong-${Math.random().toString(36).slice(2, 10)}`;
      const from = (server as BgProcess).logText().length;
      const r = await toyclient(lab, client(topo, 4).ns, "toy-wrong-secret", { server: toy(4), secret: bad, handshakeMs: 2000 });
      await withLogs([server], async () => {
        expect(r.handshake.answered).toBe(false);
        expect(r.dataPacketsReceived).toBe(0);
        const line = await waitForLog(server as BgProcess, "handshake rejected from", 5000, from);
        expect(line).toMatch(/handshake rejected from \[?(::ffff:)?10\.77\.4\.2\]?:\d+/);
        const log = (server as BgProcess).logText();
        expect(log).not.toContain(bad);
        expect(log).not.toContain(SECRET);
      });
    }, 30_000);

    test("spoofed sources are dropped (unassigned, and another client's), a correctly sourced packet is delivered", async () => {
      const s = await udpSink();
      const [rc1] = await refclients();
      if (!rc1) throw new Error("refclient missing");
      for (const spoof of ["10.8.0.99", rc1.address]) {
        const r = await toyclient(lab, client(topo, 4).ns, `toy-spoof-${spoof}`, {
          server: toy(4), secret: SECRET, spoofSrc: spoof, ping: ["10.8.0.1"], expectNone: true, waitMs: 1000,
          udpProbe: "10.8.0.1:9000",
        });
        await withLogs([server, s], async () => {
          expect(r.handshake.answered).toBe(true);
          expect(r.address).not.toBe(spoof);
          expect(r.pings?.["10.8.0.1"]).toEqual({ sent: 3, received: 0 });
          const nonce = r.udpProbe?.nonce;
          expect(r.udpProbe?.labels).toEqual(["spoofed", "legit"]);
          const legit = await waitFor("the correctly sourced probe at the sink",
            () => sinkPayloads(s).find((p) => p.payload === `legit:${nonce}`), { timeoutMs: 5000 });
          expect(legit.from).toBe(r.address ?? "?");
          await sleep(300); // the spoofed copies were sent first; give stragglers a moment anyway
          expect({ spoof, delivered: sinkPayloads(s).filter((p) => p.payload === `spoofed:${nonce}`) }).toEqual({ spoof, delivered: [] });
        });
      }
    }, 40_000);

    test("keepalive: a lone 0x00 is answered with a lone 0x00", async () => {
      const r = await toyclient(lab, client(topo, 4).ns, "toy-keepalive", { server: toy(4), secret: SECRET, keepalive: true });
      await withLogs([server], () => {
        expect(r.handshake.answered).toBe(true);
        expect(r.keepalive?.echoed).toBe(true);
      });
    }, 30_000);

    test("a device id reconnecting from a new UDP port keeps its address; the old endpoint is no longer served", async () => {
      const s = await udpSink();
      const id = `e2e-dev-${process.pid}`;
      const r = await toyclient(lab, client(topo, 4).ns, "toy-reconnect", {
        server: toy(4), secret: SECRET, id, reconnect: true, ping: ["10.8.0.1"], count: 3, waitMs: 1500,
        udpProbe: "10.8.0.1:9000",
      });
      await withLogs([server, s], async () => {
        expect(r.handshake.answered).toBe(true);
        expect(r.reconnect?.answered).toBe(true);
        expect(r.reconnect?.localPort).not.toBe(r.handshake.localPort);
        expect(r.pingsBefore?.["10.8.0.1"]).toEqual({ sent: 3, received: 3 }); // the first session worked
        expect(r.reconnect?.params?.address).toBe(r.handshake.params?.address ?? "?");
        expect(r.pings?.["10.8.0.1"]).toEqual({ sent: 3, received: 3 }); // the new one works
        expect(r.oldPings?.["10.8.0.1"]).toEqual({ sent: 3, received: 0 }); // the old one is gone
        expect(r.oldSocketDataAfterReconnect).toBe(0);
        const nonce = r.udpProbe?.nonce;
        expect(r.udpProbe?.labels).toEqual(["old", "legit"]);
        await waitFor("the new endpoint's probe at the sink",
          () => sinkPayloads(s).find((p) => p.payload === `legit:${nonce}`), { timeoutMs: 5000 });
        await sleep(500);
        expect(sinkPayloads(s).filter((p) => p.payload === `old:${nonce}`)).toEqual([]);
        const ups = (server as BgProcess).logText().split("\n").filter((l) => l.includes("session up") && l.includes(id));
        expect(ups.length).toBeGreaterThanOrEqual(1);
      });
    }, 40_000);

    test("SIGTERM: exits 0 and removes its TUN", async () => {
      const p = server;
      if (!p) throw new Error("server did not start");
      await withLogs([p], async () => {
        expect(p.exitCode()).toBeNull(); // still alive after all the tests above
        expect(await topo.server.hasLink(TUN)).toBe(true);
        p.proc.kill("SIGTERM");
        const code = await waitForExit(p, 5000);
        expect(code).toBe(0);
        expect(await topo.server.hasLink(TUN)).toBe(false);
      });
    }, 30_000);
  });

  describe.skipIf(!ok)(`warren server (${dp}): --isolate`, () => {
    const PORT = 8001;
    const TUN = "wtiso0";
    const lab = new Lab(dataPathTag("iso", dp));
    let topo: Topology;
    let server: BgProcess | undefined;
    let rcs: RefClient[] = [];

    beforeAll(async () => {
      await removeStale();
      await Promise.all([buildCTools(), ensureWarren()]);
      topo = await lab.topology(2);
      server = await startWarren(lab, topo.server, "warren-iso", PORT, [
        "--listen", `0.0.0.0:${PORT}`, "--secret", SECRET, "--tun", TUN, "--pool", "10.9.0.0/24",
        "--route", "10.9.0.0/24", "--isolate", "--log-format", "json", ...dataPathArgs(dp),
      ], true);
      await expectDataPath(server, dp);
      rcs = [
        await startRefclient(lab, client(topo, 1), "refclient1", { port: PORT, secret: SECRET, tun: "rc1" }),
        await startRefclient(lab, client(topo, 2), "refclient2", { port: PORT, secret: SECRET, tun: "rc2" }),
      ];
    }, 360_000);

    afterAll(() => lab.cleanup(), 30_000);

    test("clients get addresses from --pool and reach the server's tunnel address", async () => {
      await withLogs([server, ...rcs.map((r) => r.proc)], async () => {
        for (const rc of rcs) {
          expect(rc.address).toMatch(/^10\.9\.0\.\d+$/);
          expect(rc.params).toContain("r,10.9.0.0,24");
          const r = await ping(rc.host.ns, "10.9.0.1", { count: 3 });
          expect({ from: rc.address, received: r.received }).toEqual({ from: rc.address, received: 3 });
        }
      });
    }, 30_000);

    test("clients do not reach each other", async () => {
      const [a, b] = rcs;
      if (!a || !b) throw new Error("refclients missing");
      await withLogs([server, a.proc, b.proc], async () => {
        for (const [from, to] of [[a, b], [b, a]] as const) {
          const r = await ping(from.host.ns, to.address, { count: 3, waitMs: 1500 });
          expect({ from: from.address, to: to.address, received: r.received }).toEqual({ from: from.address, to: to.address, received: 0 });
        }
        // and the tunnel still works afterwards
        const back = await ping(a.host.ns, "10.9.0.1", { count: 1 });
        expect(back.received).toBe(1);
      });
    }, 30_000);

    test("--log-format json: every line on stderr is a JSON object with t, level, tag, msg", async () => {
      const p = server;
      if (!p) throw new Error("server did not start");
      const lines = p.errText().split("\n").filter((l) => l.trim() !== "");
      expect(lines.length).toBeGreaterThan(0);
      const bad = lines.filter((l) => {
        try {
          const o = JSON.parse(l);
          return !(o && typeof o === "object" && "t" in o && "level" in o && "tag" in o && typeof o.msg === "string");
        } catch {
          return true;
        }
      });
      expect(bad).toEqual([]);
      expect(lines.some((l) => l.includes("server ready"))).toBe(true);
    }, 10_000);

    test("SIGINT: exits 0 and removes its TUN", async () => {
      const p = server;
      if (!p) throw new Error("server did not start");
      await withLogs([p], async () => {
        expect(p.exitCode()).toBeNull();
        p.proc.kill("SIGINT");
        expect(await waitForExit(p, 5000)).toBe(0);
        expect(await topo.server.hasLink(TUN)).toBe(false);
      });
    }, 30_000);
  });
}

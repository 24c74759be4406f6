/**
 * @module wireguard.e2e.test
 * The WireGuard front door of the compiled `dist/warren server` against standard clients
 * (Debian's wireguard-go, configured with wireguard-tools' `wg set`), in network namespaces
 * (rules: /work/shared/TESTING.md; client helpers: wg-tools.ts):
 *
 *   srv: warren --listen 0.0.0.0:8000 --wg-listen 0.0.0.0:8000 (one socket for both doors),
 *        TUN wtwg0 10.8.0.1/24, --route 10.8.0.0/24, OpenSSL AEAD (WARREN_CRYPTO=openssl)
 *   c1: wireguard-go "alpha" with a preshared key (10.8.0.10)   c2: "beta" without one (10.8.0.11)
 *   c3: ToyVpn refclient (pool address)                          c4: a key the server does not know
 *   pts: a second server on WARREN_CRYPTO=pure-ts, its own WireGuard port, one client.
 * The shared-port suite runs once per data path (datapaths.ts): with --data-path fast the
 * kernel steers WireGuard handshakes to Bun's socket and transport data to the workers,
 * which seal and open it themselves (the TCP test checks how little reaches the main thread).
 *
 * Live peer management (`warren wg add` + wg-quick, `wg remove`, `kick`) is in
 * wireguard-ops.e2e.test.ts. Logs stay in test/artifacts/e2e/wt<pid>/<lab>/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClientInfo } from "../../src/admin/snapshot.ts";
import { type BgProcess, BUN, Lab, netnsOrWarn, type Netns, removeStale, type Topology, waitFor, withLogs } from "./netns.ts";
import { buildCTools, ping, type RefClient, startRefclient, waitForPing } from "./tools.ts";
import {
  captureUdp, cleanupWgSockets, parseWgShow, pingSize, type WgGo, wgIfName, wgKeys, wgPsk, wgSetClient,
  wgToolsMissing,
} from "./wg-tools.ts";
import { dataPathArgs, dataPathTag, E2E_DATA_PATHS, expectDataPath } from "./datapaths.ts";
import { host, peerSection, startWgServer, tcpTransfer, type WgServer } from "./wg-server.ts";

const SECRET = "wg-e2e-Secret-5d1";
const PORT = 8000;
const ok = netnsOrWarn("WireGuard e2e tests (need root and ip netns)");
const missing = ok ? wgToolsMissing() : [];
if (missing.length > 0) console.warn(`\n*** SKIPPING WireGuard e2e tests: ${missing.join(", ")} missing (apt-get install wireguard-go wireguard-tools tcpdump iputils-ping) ***\n`);
const run = ok && missing.length === 0;

for (const dp of E2E_DATA_PATHS) {
  describe.skipIf(!run)(`warren server --wg-listen, sharing the ToyVpn port, with wireguard-go clients (${dp})`, () => {
    const lab = new Lab(dataPathTag("wg", dp));
    let topo: Topology;
    let srv: WgServer;
    let alpha: WgGo;
    let beta: WgGo;
    let rc: RefClient | undefined;
    const logs = (): Array<BgProcess | undefined> => [srv?.proc, alpha?.proc, beta?.proc, rc?.proc];
    const byId = async (id: string): Promise<ClientInfo | undefined> => (await srv.clients()).find((c) => c.id === id);

    beforeAll(async () => {
      await removeStale();
      cleanupWgSockets();
      await buildCTools();
      topo = await lab.topology(4);
      const keys = { alpha: await wgKeys(lab.dir, "alpha"), beta: await wgKeys(lab.dir, "beta"), server: await wgKeys(lab.dir, "server") };
      const psk = await wgPsk(lab.dir, "alpha");
      const peers = join(lab.dir, "peers.conf");
      writeFileSync(peers, `${peerSection("alpha", keys.alpha.publicKey, "10.8.0.10", psk.key)}\n${peerSection("beta", keys.beta.publicKey, "10.8.0.11")}`, { mode: 0o600 });
      srv = await startWgServer(lab, topo.server, "warren-wg", {
        args: ["--secret", SECRET, "--tun", "wtwg0", "--listen", `0.0.0.0:${PORT}`, "--wg-listen", `0.0.0.0:${PORT}`,
          "--wg-key-file", keys.server.privateFile, "--wg-peers", peers, "--route", "10.8.0.0/24", ...dataPathArgs(dp)],
        crypto: "openssl", port: PORT,
      });
      await expectDataPath(srv.proc, dp);
      const client = (k: number, name: "alpha" | "beta", address: string, pskFile?: string) =>
        wgSetClient(lab, host(topo, k).ns, wgIfName(name === "alpha" ? "a" : "b"), {
          keys: keys[name], ...(pskFile ? { pskFile } : {}), serverPublicKey: keys.server.publicKey,
          endpoint: `${host(topo, k).serverAddr}:${PORT}`, address, route: "10.8.0.0/24",
        });
      alpha = await client(1, "alpha", "10.8.0.10", psk.file);
      beta = await client(2, "beta", "10.8.0.11");
    }, 120_000);

    afterAll(async () => {
      await lab.cleanup();
      cleanupWgSockets();
    }, 30_000);

    test("both clients (preshared key and none) connect; ping and a 1400-byte don't-fragment ping go through", async () => {
      await withLogs(logs(), async () => {
        expect(srv.summary).toMatch(/^\s*wireguard\s+udp 0\.0\.0\.0:8000 \(shared with ToyVpn\), public key \S+, 2 peers in .*; crypto openssl/m);
        for (const [w, me] of [[alpha, "10.8.0.10"], [beta, "10.8.0.11"]] as const) {
          await waitForPing(w.ns, "10.8.0.1", 15_000);
          expect({ me, ping: (await ping(w.ns, "10.8.0.1", { count: 5 })).received }).toEqual({ me, ping: 5 });
          const df = await pingSize(w.ns, "10.8.0.1", { size: 1372, df: true });
          expect({ me, sent: df.sent, received: df.received }).toEqual({ me, sent: 3, received: 3 });
          // 1373 would make a 1401-byte packet: the client's own MTU (1400, as the server's) refuses it.
          expect((await pingSize(w.ns, "10.8.0.1", { size: 1373, df: true, count: 1 })).received).toBe(0);
        }
        expect(await srv.waitLog(/session up device=alpha protocol=wireguard endpoint=10\.77\.1\.2:\d+ address=10\.8\.0\.10\b/)).toBeTruthy();
        expect(await srv.waitLog(/session up device=beta protocol=wireguard endpoint=10\.77\.2\.2:\d+ address=10\.8\.0\.11\b/)).toBeTruthy();
      });
    }, 60_000);

    test("warren clients, status and wg show list both peers as wireguard, with endpoint, handshake and transfer", async () => {
      await withLogs(logs(), async () => {
        for (const w of [alpha, beta]) await waitForPing(w.ns, "10.8.0.1", 15_000);
        const snap = await srv.snapshot();
        for (const [w, id, k, addr] of [[alpha, "alpha", 1, "10.8.0.10"], [beta, "beta", 2, "10.8.0.11"]] as const) {
          const port = (await w.wg("show", w.ifname, "listen-port")).trim();
          const want = { protocol: "wireguard", deviceId: id, address: addr, endpoint: `10.77.${k}.2:${port}` };
          const c = await byId(id);
          expect(c).toMatchObject(want);
          expect(c?.rxPackets).toBeGreaterThan(0);
          expect(c?.txPackets).toBeGreaterThan(0);
          expect(snap.clients.find((x) => x.id === id)).toMatchObject(want);
          expect(await srv.cliOk("clients")).toMatch(new RegExp(`^${id}\\s+wireguard\\s+10\\.77\\.${k}\\.2:${port}\\s+${addr.replaceAll(".", "\\.")}\\s`, "m"));
        }
        expect(snap.status.handshakes.ok).toBeGreaterThanOrEqual(2);
        const shown = parseWgShow(await srv.cliOk("wg", "show"));
        const a = shown.find((p) => p.fields.name === "alpha");
        const b = shown.find((p) => p.fields.name === "beta");
        expect(a?.publicKey).toBe((await alpha.wg("show", alpha.ifname, "public-key")).trim());
        expect(a?.fields).toMatchObject({ "preshared key": "(hidden)", "allowed ips": "10.8.0.10/32", endpoint: expect.stringMatching(/^10\.77\.1\.2:\d+$/) });
        expect(b?.fields["preshared key"]).toBeUndefined();
        for (const p of [a, b]) {
          expect(p?.fields["latest handshake"]).toMatch(/^(Now|\d+ seconds? ago)$/);
          expect(p?.fields.transfer).toMatch(/^[\d.]+ (B|KiB|MiB) received, [\d.]+ (B|KiB|MiB) sent$/);
        }
        // The client's own view agrees: a handshake with the server's key.
        const mine = parseWgShow(await alpha.wg("show", alpha.ifname));
        expect(mine[0]?.fields["latest handshake"]).toMatch(/ago|Now/);
      });
    }, 30_000);

    test("20 MB TCP each way between a wireguard client and the server arrives intact (sha256)", async () => {
      await withLogs(logs(), async () => {
        const before = (await srv.snapshot()).status.dataPath?.handoffs ?? 0;
        const up = await tcpTransfer(lab, { from: beta.ns, to: srv.ns, bind: "10.8.0.1:9100", bytes: 20 << 20, name: "tcp-up" });
        expect(up.from).toBe("10.8.0.11");
        const down = await tcpTransfer(lab, { from: srv.ns, to: beta.ns, bind: "10.8.0.11:9101", bytes: 20 << 20, name: "tcp-down" });
        expect(down.from).toBe("10.8.0.1");
        const handed = ((await srv.snapshot()).status.dataPath?.handoffs ?? 0) - before;
        console.log(`  20 MiB up in ${up.ms} ms, down in ${down.ms} ms; ${handed} packets handed to the main thread`);
        // The fast path seals and opens WireGuard data on its workers: of the ~30,000 packets
        // each way only the first ones of a keypair (to confirm it) reach the main thread.
        if (dp === "fast") expect(handed).toBeLessThan(200);
      });
    }, 120_000);

    test("roaming: the client's source port changes in the middle of a TCP transfer, which completes", async () => {
      const BYTES = 96 << 20;
      const oldPort = (await alpha.wg("show", alpha.ifname, "listen-port")).trim();
      const newPort = String(40000 + (process.pid % 20000));
      let roamedAfter = 0;
      const txBytes = async () => Number((await alpha.ns.execOk(["cat", `/sys/class/net/${alpha.ifname}/statistics/tx_bytes`])).trim());
      const start = await txBytes();
      await withLogs(logs(), async () => {
        const done = tcpTransfer(lab, {
          from: alpha.ns, to: srv.ns, bind: "10.8.0.1:9102", bytes: BYTES, name: "tcp-roam",
          whileRunning: async (sender) => {
            await waitFor("8 MB through the tunnel", async () => ((await txBytes()) - start > 8 << 20) || undefined, { timeoutMs: 30_000, intervalMs: 20 });
            expect(sender.logText()).not.toContain("tcp-sent"); // still in the middle of it
            roamedAfter = (await txBytes()) - start;
            await alpha.wg("set", alpha.ifname, "listen-port", newPort);
          },
        });
        const r = await done;
        expect(r.from).toBe("10.8.0.10");
        expect(roamedAfter).toBeLessThan(BYTES);
        expect(newPort).not.toBe(oldPort);
        expect((await byId("alpha"))?.endpoint).toBe(`10.77.1.2:${newPort}`);
        const shown = parseWgShow(await srv.cliOk("wg", "show")).find((p) => p.fields.name === "alpha");
        expect(shown?.fields.endpoint).toBe(`10.77.1.2:${newPort}`);
        console.log(`  roamed ${oldPort} -> ${newPort} after ${(roamedAfter / 2 ** 20).toFixed(1)} MiB of ${BYTES >> 20} MiB`);
      });
    }, 120_000);

    test("a ToyVpn client and WireGuard clients reach each other through the hub (ping, TCP with sha256)", async () => {
      rc = await startRefclient(lab, host(topo, 3), "refclient", { port: PORT, secret: SECRET, tun: "rc3" });
      const toy = rc;
      await withLogs(logs(), async () => {
        for (const [from, to] of [[toy.host.ns, "10.8.0.10"], [alpha.ns, toy.address], [beta.ns, toy.address]] as const) {
          await waitForPing(from, to, 10_000);
          expect({ to, received: (await ping(from, to, { count: 3 })).received }).toEqual({ to, received: 3 });
        }
        const toWg = await tcpTransfer(lab, { from: toy.host.ns, to: beta.ns, bind: "10.8.0.11:9103", bytes: 10 << 20, name: "tcp-toy-wg" });
        expect(toWg.from).toBe(toy.address);
        const toToy = await tcpTransfer(lab, { from: alpha.ns, to: toy.host.ns, bind: `${toy.address}:9104`, bytes: 10 << 20, name: "tcp-wg-toy" });
        expect(toToy.from).toBe("10.8.0.10");
        expect((await srv.status()).totals.hubPackets).toBeGreaterThan(1000);
      });
    }, 120_000);

    test("a client with a key the server does not know, and junk, get no answer at all", async () => {
      const c4 = host(topo, 4);
      const stranger = await wgSetClient(lab, c4.ns, wgIfName("x"), {
        keys: await wgKeys(lab.dir, "stranger"), serverPublicKey: srv.publicKey, endpoint: `${c4.serverAddr}:${PORT}`,
        address: "10.8.0.99", route: "10.8.0.0/24",
      });
      const before = (await srv.status()).rejections;
      const cap = await captureUdp(lab, srv.ns, "tcpdump-stranger", "vc4", PORT);
      const junk = `const s = await Bun.udpSocket({ socket: { data() { console.log("ANSWER"); } } });
        for (let i = 0; i < 5; i++) { const d = crypto.getRandomValues(new Uint8Array(148)); d.set([1, 0, 0, 0]); s.send(d, ${PORT}, "${c4.serverAddr}"); }
        await Bun.sleep(1500); s.close();`;
      const [pinged, sent] = await Promise.all([ping(c4.ns, "10.8.0.1", { count: 3, waitMs: 2000 }), c4.ns.exec([BUN, "-e", junk])]);
      const seen = await cap.stop();
      await withLogs([...logs(), stranger.proc], async () => {
        expect(pinged.received).toBe(0);
        expect(sent.stdout).not.toContain("ANSWER");
        const toServer = seen.filter((d) => d.to === `${c4.serverAddr}.${PORT}`);
        expect(toServer.filter((d) => d.length === 148).length).toBeGreaterThanOrEqual(6); // >= 1 real initiation + 5 junk
        expect(seen.filter((d) => d.from.startsWith(`${c4.serverAddr}.`))).toEqual([]);
        const after = (await srv.status()).rejections;
        expect((after["wireguard:handshake"] ?? 0) - (before["wireguard:handshake"] ?? 0)).toBeGreaterThanOrEqual(1);
        expect((after["wireguard:mac1"] ?? 0) - (before["wireguard:mac1"] ?? 0)).toBeGreaterThanOrEqual(5);
        expect((await srv.clients()).map((c) => c.address)).not.toContain("10.8.0.99");
      });
    }, 60_000);
  });
}

// WireGuard on a port of its own: with the pure-TypeScript AEAD every packet takes the main
// thread; with OpenSSL on the fast path the workers join that port too and move the data.
for (const own of [{ crypto: "pure-ts", tag: "wgts" }, { crypto: "openssl", tag: "wgop" }] as const) {
  describe.skipIf(!run)(`warren server --wg-listen on its own port with the ${own.crypto} AEAD (fast data path)`, () => {
    const lab = new Lab(own.tag);
    let srv: WgServer;
    let w: WgGo;
    let ns: Netns;

    beforeAll(async () => {
      await removeStale();
      const topo = await lab.topology(1);
      const me = await wgKeys(lab.dir, "solo");
      const psk = await wgPsk(lab.dir, "solo");
      const peers = join(lab.dir, "peers.conf");
      writeFileSync(peers, peerSection("solo", me.publicKey, "10.9.0.5", psk.key), { mode: 0o600 });
      // No key file yet: the server creates it (0600) and the client learns the key with `wg pubkey`.
      srv = await startWgServer(lab, topo.server, `warren-${own.tag}`, {
        args: ["--secret", SECRET, "--tun", `wt${own.tag}0`, "--listen", "0.0.0.0:8001", "--wg-listen", "0.0.0.0:51820",
          "--wg-key-file", join(lab.dir, "server-created.key"), "--wg-peers", peers, "--pool", "10.9.0.0/24", "--pool6", "fd00:9::/64", "--route", "10.9.0.0/24", ...dataPathArgs("fast")],
        crypto: own.crypto, port: 51820,
      });
      ns = host(topo, 1).ns;
      w = await wgSetClient(lab, ns, wgIfName(own.tag === "wgts" ? "p" : "o"), {
        keys: me, pskFile: psk.file, serverPublicKey: srv.publicKey, endpoint: `${host(topo, 1).serverAddr}:51820`, address: "10.9.0.5", route: "10.9.0.0/24",
      });
      // The peer's paired IPv6 address (--pool6) and the pool's IPv6 route.
      await w.wg("set", w.ifname, "peer", srv.publicKey, "allowed-ips", "10.9.0.0/24,fd00:9::/64");
      await ns.ip("-6", "addr", "add", "fd00:9::5/128", "dev", w.ifname, "nodad");
      await ns.ip("-6", "route", "add", "fd00:9::/64", "dev", w.ifname);
    }, 120_000);

    afterAll(async () => {
      await lab.cleanup();
      cleanupWgSockets();
    }, 30_000);

    test(`${own.crypto}: ping, 1400-byte DF ping, 10 MB TCP each way and 2 MB each way over IPv6 (sha256)`, async () => {
      await withLogs([srv.proc, w.proc], async () => {
        expect(srv.summary).toMatch(new RegExp(`wireguard\\s+udp 0\\.0\\.0\\.0:51820, public key \\S+, 1 peer in .*; crypto ${own.crypto}`, "m"));
        const line = await expectDataPath(srv.proc, "fast");
        // Only OpenSSL, which the workers load too, puts WireGuard on them.
        expect(line.includes("WireGuard")).toBe(own.crypto === "openssl");
        await waitForPing(ns, "10.9.0.1", 15_000);
        expect((await pingSize(ns, "10.9.0.1", { size: 1372, df: true })).received).toBe(3);
        const before = (await srv.snapshot()).status.dataPath?.handoffs ?? 0;
        expect((await tcpTransfer(lab, { from: ns, to: srv.ns, bind: "10.9.0.1:9100", bytes: 10 << 20, name: "tcp-up" })).from).toBe("10.9.0.5");
        expect((await tcpTransfer(lab, { from: srv.ns, to: ns, bind: "10.9.0.5:9101", bytes: 10 << 20, name: "tcp-down" })).from).toBe("10.9.0.1");
        // IPv6 through the same tunnel: the paired address, both ways (cryptokey routing for the /128).
        expect((await tcpTransfer(lab, { from: ns, to: srv.ns, bind: "fd00:9::1:9102", bytes: 2 << 20, name: "tcp6-up" })).from).toBe("fd00:9::5");
        expect((await tcpTransfer(lab, { from: srv.ns, to: ns, bind: "fd00:9::5:9103", bytes: 2 << 20, name: "tcp6-down" })).from).toBe("fd00:9::1");
        const handed = ((await srv.snapshot()).status.dataPath?.handoffs ?? 0) - before;
        if (own.crypto === "openssl") expect(handed).toBeLessThan(200);
        else expect(handed).toBeGreaterThan(1000); // every TUN packet to the peer crossed to the main thread
        expect((await srv.clients())[0]).toMatchObject({ id: "solo", protocol: "wireguard", address: "10.9.0.5" });
      });
    }, 90_000);
  });
}

/**
 * @module wireguard-ops.e2e.test
 * Managing WireGuard peers of a running `dist/warren server` (no restart), in network
 * namespaces (rules: /work/shared/TESTING.md; client helpers: wg-tools.ts), on both data paths:
 *
 *   srv: warren --listen 0.0.0.0:8000 --wg-listen 0.0.0.0:8000, TUN wtwo0 10.8.0.1/24
 *   c1: wireguard-go "alpha" (wg set), pinging the server through every change: it must lose nothing
 *   c2: wireguard-go "beta" (wg set), kicked and re-handshaking
 *   c3: `wg-quick up` of the config `warren wg add quick --endpoint 10.77.3.1:8000` printed,
 *       later removed with `warren wg remove quick`
 *
 * The operator CLI runs in the server namespace against the server's control socket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BgProcess, Lab, netnsOrWarn, removeStale, type Topology, waitFor, withLogs } from "./netns.ts";
import { dataPathArgs, dataPathTag, E2E_DATA_PATHS, expectDataPath } from "./datapaths.ts";
import { ping, waitForPing } from "./tools.ts";
import {
  captureUdp, cleanupWgSockets, parseWgShow, type PingTally, pingSize, steadyPing, type WgGo, wgIfName, wgKeys, type WgQuick, wgQuickDown, wgQuickUp, wgSetClient,
  wgToolsMissing,
} from "./wg-tools.ts";
import { host, peerSection, startWgServer, type WgServer } from "./wg-server.ts";

const PORT = 8000;
const ok = netnsOrWarn("WireGuard operations e2e tests (need root and ip netns)");
const missing = ok ? wgToolsMissing() : [];
if (missing.length > 0) console.warn(`\n*** SKIPPING WireGuard operations e2e tests: ${missing.join(", ")} missing ***\n`);

/** `Key = value` lines of a wg-quick config, by section. */
function parseConf(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const line of text.split("\n")) {
    const head = /^\[(\w+)\]$/.exec(line.trim());
    if (head?.[1]) out[(section = head[1])] = {};
    const kv = /^(\w+)\s*=\s*(.*)$/.exec(line.trim());
    if (kv?.[1] && kv[2] !== undefined && out[section]) (out[section] as Record<string, string>)[kv[1]] = kv[2];
  }
  return out;
}

for (const dp of E2E_DATA_PATHS) {
  describe.skipIf(!ok || missing.length > 0)(`warren wg add / remove / kick on a running server (${dp})`, () => {
    const lab = new Lab(dataPathTag("wgops", dp));
    let topo: Topology;
    let srv: WgServer;
    let alpha: WgGo;
    let beta: WgGo;
    let quick: WgQuick | undefined;
    let quickAddress = "";
    let peersFile = "";
    const logs = (): Array<BgProcess | undefined> => [srv?.proc, alpha?.proc, beta?.proc];
    const serialOf = async (id: string) => (await srv.clients()).find((c) => c.id === id)?.serial;
    let pings = 0;
    /** Pings from alpha to the server every 50 ms until stopped. */
    const steady = () => steadyPing(lab, alpha.ns, "10.8.0.1", `steady-ping-${++pings}`);
    /** A steady ping lost nothing (but the one echo in flight when it was stopped). */
    const lostNothing = (t: PingTally) => expect({ sent: t.sent >= 5, lost: t.sent - t.received <= 1, out: t.out }).toEqual({ sent: true, lost: true, out: t.out });

    beforeAll(async () => {
      await removeStale();
      cleanupWgSockets();
      topo = await lab.topology(3);
      const keys = { alpha: await wgKeys(lab.dir, "alpha"), beta: await wgKeys(lab.dir, "beta"), server: await wgKeys(lab.dir, "server") };
      peersFile = join(lab.dir, "peers.conf");
      writeFileSync(peersFile, `${peerSection("alpha", keys.alpha.publicKey, "10.8.0.10")}\n${peerSection("beta", keys.beta.publicKey, "10.8.0.11")}`, { mode: 0o600 });
      srv = await startWgServer(lab, topo.server, "warren-wgops", {
        args: ["--secret", "wg-ops-secret-77", "--tun", "wtwo0", "--listen", `0.0.0.0:${PORT}`, "--wg-listen", `0.0.0.0:${PORT}`,
          "--wg-key-file", keys.server.privateFile, "--wg-peers", peersFile, "--route", "10.8.0.0/24", ...dataPathArgs(dp)],
        crypto: "openssl", port: PORT,
      });
      await expectDataPath(srv.proc, dp);
      const client = (k: number, name: "alpha" | "beta", address: string) =>
        wgSetClient(lab, host(topo, k).ns, wgIfName(`o${name[0]}`), {
          keys: keys[name], serverPublicKey: keys.server.publicKey, endpoint: `${host(topo, k).serverAddr}:${PORT}`, address, route: "10.8.0.0/24",
        });
      alpha = await client(1, "alpha", "10.8.0.10");
      beta = await client(2, "beta", "10.8.0.11");
      await waitForPing(alpha.ns, "10.8.0.1", 15_000);
      await waitForPing(beta.ns, "10.8.0.1", 15_000);
    }, 120_000);

    afterAll(async () => {
      await lab.cleanup();
      cleanupWgSockets();
    }, 30_000);

    test("wg add: the printed config brings up a wg-quick client at once, and alpha loses no packet meanwhile", async () => {
      const alphaSerial = await serialOf("alpha");
      const alive = await steady();
      const c3 = host(topo, 3);
      const add = await srv.cli("wg", "add", "quick", "--endpoint", `${c3.serverAddr}:${PORT}`);
      await withLogs(logs(), async () => {
        expect({ code: add.code, stderr: add.stderr }).toMatchObject({ code: 0, stderr: expect.stringMatching(/added peer quick \(10\.8\.0\.\d+\/32\) to .*; the running server applied it/) });
        const conf = parseConf(add.stdout);
        const privateKey = conf.Interface?.PrivateKey ?? "?";
        expect(readFileSync(peersFile, "utf8")).not.toContain(privateKey); // the client's private key exists only in the output
        quickAddress = (conf.Interface?.Address ?? "").replace(/\/32$/, "");
        expect(quickAddress).toMatch(/^10\.8\.0\.\d+$/);
        expect(["10.8.0.1", "10.8.0.10", "10.8.0.11"]).not.toContain(quickAddress);
        expect(conf.Interface).toMatchObject({ PrivateKey: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/), DNS: "1.1.1.1", MTU: "1400" });
        expect(conf.Peer).toMatchObject({
          PublicKey: srv.publicKey, PresharedKey: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/), Endpoint: `${c3.serverAddr}:${PORT}`,
          AllowedIPs: "10.8.0.0/24", PersistentKeepalive: "25",
        });
        quick = await wgQuickUp(lab, c3.ns, wgIfName("q"), add.stdout);
        await waitForPing(c3.ns, "10.8.0.1", 15_000);
        expect((await pingSize(c3.ns, "10.8.0.1", { size: 1372, df: true })).received).toBe(3);
        expect(quick.resolvconf()).toContain("nameserver 1.1.1.1");
        expect((await srv.clients()).find((c) => c.id === "quick")).toMatchObject({ protocol: "wireguard", address: quickAddress, endpoint: expect.stringMatching(/^10\.77\.3\.2:\d+$/) });
        const shown = parseWgShow(await srv.cliOk("wg", "show")).find((p) => p.fields.name === "quick");
        expect(shown?.fields["latest handshake"]).toMatch(/^(Now|\d+ seconds? ago)$/);
        lostNothing(await alive.stop());
        expect(await serialOf("alpha")).toBe(alphaSerial);
        expect(srv.proc.logText().split("\n").filter((l) => l.includes("server ready"))).toHaveLength(1);
      });
    }, 60_000);

    test("wg remove: only that peer's session ends, and the removed client gets no answer at all afterwards", async () => {
      const q = quick;
      if (!q) throw new Error("the wg add test did not bring up the wg-quick client");
      const c3 = host(topo, 3);
      const alphaSerial = await serialOf("alpha");
      const from = srv.proc.logText().length;
      const alive = await steady();
      const rm = await srv.cli("wg", "remove", "quick");
      const before = (await srv.status()).rejections;
      await withLogs(logs(), async () => {
        expect({ code: rm.code, stderr: rm.stderr.trim() }).toEqual({ code: 0, stderr: expect.stringMatching(/removed peer quick from .*; the running server dropped it and ended its session$/) });
        expect(await srv.waitLog(new RegExp(`session down device=quick protocol=wireguard .*address=${quickAddress.replaceAll(".", "\\.")} reason=removed`), from)).toBeTruthy();
        expect((await srv.clients()).map((c) => c.id)).toEqual(["alpha", "beta"]);
        const cap = await captureUdp(lab, srv.ns, "tcpdump-removed", "vc3", PORT);
        const onOldKeys = await ping(c3.ns, "10.8.0.1", { count: 5, waitMs: 1000 });
        await wgQuickDown(q); // a fresh wireguard-go starts with a handshake initiation
        quick = await wgQuickUp(lab, c3.ns, q.ifname, readFileSync(q.conf, "utf8"));
        const afresh = await ping(c3.ns, "10.8.0.1", { count: 3, waitMs: 1500 });
        const seen = await cap.stop();
        expect({ onOldKeys: onOldKeys.received, afresh: afresh.received }).toEqual({ onOldKeys: 0, afresh: 0 });
        const toServer = seen.filter((d) => d.to === `${c3.serverAddr}.${PORT}`);
        expect(toServer.filter((d) => d.length === 148).length).toBeGreaterThanOrEqual(1); // an initiation
        // The 5 pings on the old keys: 16-byte header + 60-byte packet padded to 64 + 16-byte tag.
        expect(toServer.filter((d) => d.length === 96).length).toBeGreaterThanOrEqual(5);
        expect(seen.filter((d) => d.from.startsWith(`${c3.serverAddr}.`))).toEqual([]);
        const after = (await srv.status()).rejections;
        expect((after["wireguard:handshake"] ?? 0) - (before["wireguard:handshake"] ?? 0)).toBeGreaterThanOrEqual(1);
        expect(parseWgShow(await srv.cliOk("wg", "show")).map((p) => p.fields.name)).not.toContain("quick");
        expect(readFileSync(peersFile, "utf8")).not.toContain("quick");
        lostNothing(await alive.stop());
        expect(await serialOf("alpha")).toBe(alphaSerial);
      });
    }, 60_000);

    test("kick ends a WireGuard session; the client handshakes again and is served by a new session", async () => {
      const old = await serialOf("beta");
      const from = srv.proc.logText().length;
      const kick = await srv.cli("kick", "id:beta");
      await withLogs(logs(), async () => {
        expect(kick.code).toBe(0);
        expect(await srv.waitLog(/session down device=beta protocol=wireguard .*reason=kicked/, from)).toBeTruthy();
        expect((await srv.clients()).map((c) => c.id)).toEqual(["alpha"]);
        // beta's wireguard-go still holds the old keys: its packets go unanswered until it
        // starts a new handshake (wireguard-go: 15 s after data without a reply).
        const t0 = Date.now();
        await waitForPing(beta.ns, "10.8.0.1", 40_000);
        const again = await waitFor("beta's new session", async () => (await srv.clients()).find((c) => c.id === "beta"), { timeoutMs: 5000 });
        expect(again.protocol).toBe("wireguard");
        expect(again.serial).not.toBe(old);
        expect(await srv.waitLog(/session up device=beta protocol=wireguard/, from)).toBeTruthy();
        console.log(`  beta served again ${((Date.now() - t0) / 1000).toFixed(1)} s after the kick`);
      });
    }, 60_000);

    test("kick --ban: the banned peer's new handshakes get no answer at all (not even a response)", async () => {
      const c2 = host(topo, 2);
      const from = srv.proc.logText().length;
      const ban = await srv.cli("kick", "id:beta", "--ban", "10m");
      await withLogs(logs(), async () => {
        expect(ban.code).toBe(0);
        expect(await srv.waitLog(/session down device=beta protocol=wireguard .*reason=(kicked|banned)/, from)).toBeTruthy();
        // Forget the session on the client too, so its next packet starts a handshake at once.
        const peer = (await beta.wg("show", beta.ifname, "peers")).trim();
        const endpoint = (await beta.wg("show", beta.ifname, "endpoints")).trim().split(/\s+/)[1] ?? "";
        await beta.wg("set", beta.ifname, "peer", peer, "remove");
        await beta.wg("set", beta.ifname, "peer", peer, "allowed-ips", "10.8.0.0/24", "endpoint", endpoint);
        const cap = await captureUdp(lab, srv.ns, "tcpdump-banned", "vc2", PORT);
        const pinged = await ping(beta.ns, "10.8.0.1", { count: 3, waitMs: 1500 });
        const seen = await cap.stop();
        expect(pinged.received).toBe(0);
        expect(seen.filter((d) => d.to === `${c2.serverAddr}.${PORT}` && d.length === 148).length).toBeGreaterThanOrEqual(1);
        expect(seen.filter((d) => d.from.startsWith(`${c2.serverAddr}.`))).toEqual([]);
        expect(await srv.waitLog(/handshake refused from 10\.77\.2\.2:\d+ reason=banned peer=beta/, from)).toBeTruthy();
        expect((await srv.clients()).map((c) => c.id)).toEqual(["alpha"]);
        // the handshake shows as never completed on the client
        expect(parseWgShow(await beta.wg("show", beta.ifname))[0]?.fields["latest handshake"]).toBeUndefined();
      });
    }, 60_000);
  });
}

/**
 * @module ops.e2e.test
 * Operating a running `warren server` (issue 5) in network namespaces (rules:
 * /work/shared/TESTING.md): the control socket and the CLI on top of it, Prometheus
 * metrics, the dashboard in headless Chromium, per-client capture read back with
 * tcpdump, hooks, the log file and its rotation.
 *
 *   srv: warren (TUN wtops0 10.31.0.1/24, UDP 0.0.0.0:8010, --metrics 127.0.0.1:9810,
 *        --log-file, --on-connect/--on-disconnect, --config FILE) <- c1, c2 refclients
 *        warren (TUN wtrot0 10.32.0.1/24, UDP :8011, --log-max-size 1K --log-keep 2,
 *        --capture-dir) <- c1 toyclient (rotation and --capture-dir tests)
 *
 * The capture test runs once per data path (datapaths.ts): on the main server (fast, the
 * default) and on a second server started with --data-path simple.
 *
 * The CLI runs in the server namespace like an operator's shell; the control sockets are
 * files under the lab folder. Chromium runs inside the server namespace too (a wrapper
 * script is its executablePath), so nothing touches the root network namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClientInfo } from "../../src/admin/snapshot.ts";
import { readPcap } from "../../src/protocol/pcap.ts";
import { formatIpv4 } from "../fakes/packets.ts";
import { parseExposition, valueOf } from "../lib/prom-text.ts";
import {
  type BgProcess, BUN, type ClientHost, Lab, netnsOrWarn, REPO_ROOT, removeStale, run, type RunResult, sleep, type Topology, waitFor,
  waitForUdpListener, withLogs,
} from "./netns.ts";
import { dataPathArgs, type DataPathName, E2E_DATA_PATHS, expectDataPath } from "./datapaths.ts";
import { buildCTools, ensureWarren, ping, type RefClient, startRefclient, toyclient } from "./tools.ts";

const SECRET = "ops-Secret-41c9";
const CHROMIUM = "/usr/bin/chromium";
const ok = netnsOrWarn("warren operations e2e tests (need root and ip netns)");
if (ok && !existsSync(CHROMIUM)) console.warn(`\n*** SKIPPING the dashboard test: no ${CHROMIUM} (apt-get install chromium) ***\n`);

function client(topo: Topology, k: number): ClientHost {
  const c = topo.clients[k - 1];
  if (!c) throw new Error(`no client ${k}`);
  return c;
}

describe.skipIf(!ok)("warren operations", () => {
  const PORT = 8010;
  const lab = new Lab("ops");
  const dir = lab.dir;
  const sock = join(dir, "ctl", "warren.sock");
  const configFile = join(dir, "warren.json");
  const logFile = join(dir, "logs", "warren.log");
  const hookLog = join(dir, "hooks.log");
  let bin = "";
  let topo: Topology;
  let server: BgProcess | undefined;
  let rcs: RefClient[] = [];

  const baseConfig = { listen: `0.0.0.0:${PORT}`, secret: SECRET, tun: "wtops0", pool: "10.31.0.0/24", routes: ["10.31.0.0/24"], idleTimeout: 180 };
  const writeConfig = (extra: Record<string, unknown> = {}) => writeFileSync(configFile, JSON.stringify({ ...baseConfig, ...extra }, null, 2));
  const logText = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");

  /** `warren ARGS --control-socket SOCK` in the server namespace. */
  const cli = (...args: string[]): Promise<RunResult> => topo.server.exec([bin, ...args, "--control-socket", sock], { timeoutMs: 20_000 });
  const cliOk = async (...args: string[]): Promise<string> => {
    const r = await cli(...args);
    if (r.code !== 0) throw new Error(`warren ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const clientsJson = async (): Promise<ClientInfo[]> => JSON.parse(await cliOk("clients", "--json")) as ClientInfo[];
  const httpGet = async (path: string): Promise<string> => {
    const code = "const r = await fetch(process.argv[1]); if (!r.ok) process.exit(1); process.stdout.write(await r.text());";
    const r = await topo.server.exec([BUN, "-e", code, `http://127.0.0.1:9810${path}`], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`GET ${path} failed (exit ${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const logs = () => [server, ...rcs.map((r) => r.proc)];

  beforeAll(async () => {
    await removeStale();
    await buildCTools();
    mkdirSync(dir, { recursive: true });
    bin = join(dir, "warren"); // a private copy: others may rebuild dist/warren while this runs
    copyFileSync(await ensureWarren(), bin);
    chmodSync(bin, 0o755);
    topo = await lab.topology(2);
    writeConfig();
    server = lab.spawn(topo.server, "warren-ops", [
      bin, "server", "--config", configFile, "--control-socket", sock, "--metrics", "127.0.0.1:9810", "--log-file", logFile,
      "--on-connect", `echo "up $WARREN_CLIENT_ID $WARREN_CLIENT_ADDR $WARREN_ENDPOINT" >> ${hookLog}`,
      "--on-disconnect", `echo "down $WARREN_CLIENT_ID $WARREN_CLIENT_ADDR $WARREN_REASON in=$WARREN_BYTES_IN out=$WARREN_BYTES_OUT" >> ${hookLog}`,
    ]);
    await withLogs([server], () => waitFor("server ready in the log file", () => logText().includes("server ready"), { timeoutMs: 20_000, detail: logText }));
    await withLogs([server], () => waitForUdpListener(topo.server, PORT, 5000));
    rcs = [
      await startRefclient(lab, client(topo, 1), "refclient1", { port: PORT, secret: SECRET, tun: "rc1" }),
      await startRefclient(lab, client(topo, 2), "refclient2", { port: PORT, secret: SECRET, tun: "rc2" }),
    ];
  }, 360_000);

  afterAll(() => lab.cleanup(), 30_000);

  const rc = (k: number): RefClient => {
    const r = rcs[k - 1];
    if (!r) throw new Error(`refclient ${k} missing`);
    return r;
  };

  test("clients --json lists both clients; their counters grow after a ping; status shows them", async () => {
    await withLogs(logs(), async () => {
      const before = await clientsJson();
      expect(before.map((c) => c.address).sort()).toEqual([rc(1).address, rc(2).address].sort());
      expect(before.map((c) => c.endpoint).sort()).toEqual([expect.stringMatching(/^10\.77\.1\.2:\d+$/), expect.stringMatching(/^10\.77\.2\.2:\d+$/)]);
      const r = await ping(rc(1).host.ns, "10.31.0.1", { count: 3 });
      expect(r.received).toBe(3);
      const after = await clientsJson();
      const b = before.find((c) => c.address === rc(1).address);
      const a = after.find((c) => c.address === rc(1).address);
      expect((a?.rxPackets ?? 0) - (b?.rxPackets ?? 0)).toBeGreaterThanOrEqual(3);
      expect((a?.txPackets ?? 0) - (b?.txPackets ?? 0)).toBeGreaterThanOrEqual(3);
      expect(a?.rxBytes ?? 0).toBeGreaterThan(b?.rxBytes ?? 0);
      const status = await cliOk("status");
      expect(status).toMatch(/^ {2}sessions +2$/m);
      expect(status).toContain(`  log         ${logFile}`);
      expect(status).toContain(`  address    ${rc(1).address}`);
      const table = await cliOk("clients");
      expect(table.split("\n")[0]).toMatch(/^ID +PROTO +ENDPOINT +ADDRESS +CONNECTED/);
      const hooks = readFileSync(hookLog, "utf8");
      for (const k of [1, 2]) expect(hooks).toMatch(new RegExp(`^up \\S+ ${rc(k).address.replaceAll(".", "\\.")} 10\\.77\\.${k}\\.2:\\d+$`, "m"));
    });
  }, 60_000);

  test("set log-level debug takes effect without a restart", async () => {
    await withLogs(logs(), async () => {
      expect((await cliOk("get", "log-level")).trim()).toBe("info");
      await cliOk("status");
      expect(logText()).not.toContain("control: snapshot");
      expect((await cliOk("set", "log-level", "debug")).trim()).toBe("log-level: info -> debug");
      await cliOk("status");
      await waitFor("a debug line in the log file", () => /^\S+Z DEBUG \[warren\] control: snapshot$/m.test(logText()), { timeoutMs: 5000 });
      await cliOk("set", "log-level", "info");
      const bad = await cli("set", "log-level", "loud");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe('warren: log-level: expected one of silent, error, warn, info, debug, trace (got "loud")\n');
    });
  }, 60_000);

  test("reload (command and SIGHUP) after editing the config changes idle-timeout and keeps sessions", async () => {
    await withLogs(logs(), async () => {
      const before = await clientsJson();
      writeConfig({ idleTimeout: 120, mtu: 1300 });
      const out = await cliOk("reload");
      expect(out).toContain(`reloaded ${configFile}`);
      expect(out).toContain("  idleTimeout: 180 -> 120");
      expect(out).toContain("  needs a restart to change: mtu");
      expect((await cliOk("get", "idle-timeout")).trim()).toBe("120");
      const after = await clientsJson();
      expect(after.map((c) => [c.id, c.serial, c.connectedAt])).toEqual(before.map((c) => [c.id, c.serial, c.connectedAt]));
      expect((await ping(rc(2).host.ns, "10.31.0.1", { count: 2 })).received).toBe(2);

      writeConfig({ idleTimeout: 150, mtu: 1300 });
      (server as BgProcess).proc.kill("SIGHUP");
      await waitFor("idle-timeout 150 after SIGHUP", async () => (await cliOk("get", "idle-timeout")).trim() === "150", { timeoutMs: 10_000 });
      expect(logText()).toMatch(/reload \(SIGHUP, warren\.json\): changed idleTimeout 120 -> 150; needs a restart: mtu/);
      expect((await clientsJson()).length).toBe(2);
      expect((server as BgProcess).exitCode()).toBeNull();
    });
  }, 60_000);

  test("/metrics parses strictly and matches clients --json; /healthz", async () => {
    await withLogs(logs(), async () => {
      expect(await httpGet("/healthz")).toBe("ok\n");
      // Counters move when a refclient sends a keepalive; retry until two reads agree.
      const [clients, fams] = await waitFor("a quiet moment for comparing", async () => {
        const c1 = await clientsJson();
        const m = parseExposition(await httpGet("/metrics"));
        const c2 = await clientsJson();
        return JSON.stringify(c1.map(counters)) === JSON.stringify(c2.map(counters)) ? ([c2, m] as const) : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      expect(valueOf(fams, "warren_sessions")).toBe(2);
      expect(valueOf(fams, "warren_pool_used")).toBe(2);
      expect(valueOf(fams, "warren_pool_addresses")).toBe(253);
      expect(fams.get("warren_receive_bytes_total")?.samples.length).toBe(2);
      for (const c of clients) {
        expect({ id: c.id, rxBytes: valueOf(fams, "warren_receive_bytes_total", { client: c.id }) }).toEqual({ id: c.id, rxBytes: c.rxBytes });
        expect(valueOf(fams, "warren_transmit_bytes_total", { client: c.id })).toBe(c.txBytes);
        expect(valueOf(fams, "warren_receive_packets_total", { client: c.id })).toBe(c.rxPackets);
        expect(valueOf(fams, "warren_transmit_packets_total", { client: c.id })).toBe(c.txPackets);
      }
      expect(valueOf(fams, "warren_handshakes_total", { result: "ok" })).toBeGreaterThanOrEqual(2);
      expect(valueOf(fams, "process_start_time_seconds")).toBeGreaterThan(1.7e9);
    });
  }, 60_000);

  test.skipIf(!existsSync(CHROMIUM))("dashboard in headless Chromium: rates, server-side history chart, sort, filter, idle marker, 420 px, favicon, CSP (screenshots)", async () => {
    const { chromium } = await import("playwright-core");
    const wrapper = join(dir, "chromium-in-netns");
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${topo.server.name} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const browser = await chromium.launch({
      executablePath: wrapper,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 60_000,
    });
    const shots = join(REPO_ROOT, "test/artifacts");
    mkdirSync(shots, { recursive: true });
    try {
      await withLogs(logs(), async () => {
        // the server keeps one history sample per 10 s from its start: wait for two
        await waitFor("two history samples", async () => (JSON.parse(await httpGet("/api/history")) as { samples: unknown[] }).samples.length >= 2, { timeoutMs: 40_000, intervalMs: 1000 });
        for (const k of [1, 2]) expect((await ping(rc(k).host.ns, "10.31.0.1", { count: 2 })).received).toBe(2);
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error") problems.push(`console: ${m.text()}`);
        });
        page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
        const res = await page.goto("http://127.0.0.1:9810/", { timeout: 30_000 });
        const csp = res?.headers()["content-security-policy"] ?? "";
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toContain("unsafe-inline");
        for (const k of [1, 2]) await page.waitForSelector(`tr[data-client] >> text=${rc(k).address}`, { timeout: 15_000 });
        // the chart comes from the server's history at once, not from this page's polls
        await page.waitForSelector("svg.chart", { timeout: 10_000 });
        expect(Number(await page.getAttribute("svg.chart", "data-points"))).toBeGreaterThanOrEqual(2);
        expect(await page.$$eval("svg.chart polyline", (p) => p.map((x) => x.getAttribute("class")))).toEqual(["in", "out"]);

        // current rates while rc1 pings: per client and in total, bit/s and packets/s, as numbers
        const clients = await clientsJson();
        const id1 = clients.find((c) => c.address === rc(1).address)?.id ?? "?";
        const row1 = `tr[data-client=${JSON.stringify(id1)}]`;
        const pinging = ping(rc(1).host.ns, "10.31.0.1", { count: 25, intervalMs: 100 });
        await waitFor("a rate on rc1's row", async () => Number(await page.getAttribute(`${row1} .rx-rate`, "data-bits")) > 0, { timeoutMs: 10_000, intervalMs: 200 });
        const rate = await page.$eval(row1, (tr) => ({
          rxBits: Number(tr.querySelector(".rx-rate")?.getAttribute("data-bits")), rxPps: Number(tr.querySelector(".rx-pps")?.getAttribute("data-pps")),
          txBits: Number(tr.querySelector(".tx-rate")?.getAttribute("data-bits")), txPps: Number(tr.querySelector(".tx-pps")?.getAttribute("data-pps")),
          text: tr.querySelector(".rx-rate")?.textContent ?? "", cells: [...tr.querySelectorAll("td")].map((td) => td.textContent ?? ""),
        }));
        expect(rate.rxBits).toBeGreaterThan(0);
        expect(rate.rxPps).toBeGreaterThan(0);
        expect(rate.txBits).toBeGreaterThan(0);
        expect(rate.txPps).toBeGreaterThan(0);
        // the columns, in order, and rc1's User (none: the shared secret) and Protocol cells
        expect(await page.$$eval("#sort-row th", (ths) => ths.map((th) => th.textContent?.trim()))).toEqual([
          "Client", "User", "Protocol", "Endpoint", "Address", "Connected", "Last seen", "In now", "Out now", "In total", "Out total", "Drops",
        ]);
        expect([rate.cells[1], rate.cells[2]]).toEqual(["–", "toyvpn"]);
        expect(rate.text).toMatch(/^\d+(\.\d+)? (bit|kbit|Mbit)\/s$/);
        const inNow = await page.$eval('[data-card="In now"]', (c) => [c.querySelector(".v")?.textContent, c.querySelector(".s")?.textContent]);
        expect(inNow[0]).toMatch(/^\d+(\.\d+)? (bit|kbit|Mbit)\/s$/);
        expect(inNow[1]).toMatch(/^\d+(\.\d+)? pkt\/s$/);
        const outNow = await page.$eval('[data-card="Out now"]', (c) => [c.querySelector(".v")?.textContent, c.querySelector(".s")?.textContent]);
        expect(outNow[0]).toMatch(/^\d+(\.\d+)? (bit|kbit|Mbit)\/s$/);
        expect(outNow[1]).toMatch(/^\d+(\.\d+)? pkt\/s$/);
        expect((await pinging).received).toBe(25);
        const rows = await page.$$eval("tr[data-client]", (trs) => trs.map((tr) => ({ rx: Number(tr.querySelector(".rx-packets")?.textContent), tx: Number(tr.querySelector(".tx-packets")?.textContent) })));
        expect(rows.length).toBe(2);
        for (const r of rows) expect(r.rx > 0 && r.tx > 0).toBe(true);
        await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true });

        // sort by "In total": biggest first, again: smallest first (the server's own numbers decide)
        const byRx = (await clientsJson()).sort((a, b) => b.rxBytes - a.rxBytes).map((c) => c.id);
        await page.click('button[data-sort="rxBytes"]');
        expect(await page.$$eval("tr[data-client]", (trs) => trs.map((t) => t.getAttribute("data-client")))).toEqual(byRx);
        expect(await page.getAttribute('th:has(button[data-sort="rxBytes"])', "aria-sort")).toBe("descending");
        await page.click('button[data-sort="rxBytes"]');
        expect(await page.$$eval("tr[data-client]", (trs) => trs.map((t) => t.getAttribute("data-client")))).toEqual([...byRx].reverse());
        // filter by an address: one row; by nonsense: none, said so
        await page.fill("#filter", rc(2).address);
        expect(await page.$$eval("tr[data-client]", (trs) => trs.map((t) => t.textContent ?? ""))).toEqual([expect.stringContaining(rc(2).address)]);
        expect(await page.textContent("#count")).toBe("(1 of 2)");
        await page.fill("#filter", "no-such-client");
        expect(await page.textContent("#clients")).toBe("no client matches the filter");
        await page.fill("#filter", "");
        expect((await page.$$("tr[data-client]")).length).toBe(2);

        // the idle marker: the page marks a client the server last heard from over 50 s ago
        // (the real snapshot, fetched inside the server namespace, with rc1's lastSeen moved back)
        await page.route("**/api/status", async (route) => {
          const snap = JSON.parse(await httpGet("/api/status")) as { time: number; clients: Array<{ id: string; lastSeen: number; idle: boolean }> };
          for (const c of snap.clients) if (c.id === id1) Object.assign(c, { lastSeen: snap.time - 51_000, idle: true });
          await route.fulfill({ json: snap, headers: { "cache-control": "no-store" } });
        });
        await waitFor("the idle marker", async () => (await page.$(`${row1}[data-idle] .badge.idle`)) !== null, { timeoutMs: 5000, intervalMs: 200 });
        expect((await page.$$("tr[data-idle]")).length).toBe(1);
        await page.fill("#filter", "idle");
        expect(await page.$$eval("tr[data-client]", (trs) => trs.map((t) => t.getAttribute("data-client")))).toEqual([id1]);
        await page.fill("#filter", "");
        await page.unroute("**/api/status");

        // the favicon is served and linked
        expect(await page.getAttribute("link[rel=icon]", "href")).toBe("favicon.svg");
        const icon = await page.evaluate(async () => {
          const r = await fetch("favicon.svg");
          return [r.status, r.headers.get("content-type"), (await r.text()).slice(0, 4)];
        });
        expect(icon).toEqual([200, "image/svg+xml", "<svg"]);

        // a phone: 420 px wide, nothing wider than the screen, one card per client
        await page.setViewportSize({ width: 420, height: 900 });
        await page.reload();
        await page.waitForSelector(`tr[data-client] >> text=${rc(1).address}`, { timeout: 15_000 });
        await page.waitForSelector("svg.chart", { timeout: 10_000 }); // a reload starts with the history, not from zero
        expect(await page.$eval("html", (html) => html.scrollWidth)).toBeLessThanOrEqual(420);
        expect(await page.$eval("tr[data-client]", (tr) => [tr.ownerDocument.defaultView?.getComputedStyle(tr).display, tr.getBoundingClientRect().width <= 420])).toEqual(["block", true]);
        expect(await page.$eval("tr[data-client] td", (td) => td.ownerDocument.defaultView?.getComputedStyle(td, "::before").content)).toBe('"Client"');
        const narrow = join(shots, "dashboard-420.png");
        await page.screenshot({ path: narrow, fullPage: true });
        const png = readFileSync(narrow);
        expect(png.subarray(1, 4).toString()).toBe("PNG");
        expect(png.readUInt32BE(16)).toBe(420); // IHDR width
        console.log(`  dashboard screenshots: ${join(shots, "dashboard.png")}, ${narrow}`);
        expect(problems).toEqual([]); // no CSP violation, no script error
      });
    } finally {
      await browser.close();
    }
  }, 180_000);

  /**
   * Where the capture test runs: the main server (the default data path, fast), or for
   * `simple` a second server started for it (TUN wtcap0, 10.33.0.0/24, UDP :8012) with its
   * own refclient in c1; stopped again by `done`.
   */
  async function captureTarget(dp: DataPathName): Promise<{ cli: (...a: string[]) => Promise<string>; rc: RefClient; tunAddr: string; done: () => Promise<void> }> {
    if (dp === "fast") {
      expect(logText()).toMatch(/data path: fast \(/); // --log-file: the line is in the file
      return { cli: cliOk, rc: rc(1), tunAddr: "10.31.0.1", done: async () => {} };
    }
    const capSock = join(dir, "cap", "warren.sock");
    const p = lab.spawn(topo.server, "warren-cap", [
      bin, "server", "--listen", "0.0.0.0:8012", "--secret", SECRET, "--tun", "wtcap0", "--pool", "10.33.0.0/24", "--route", "10.33.0.0/24",
      "--control-socket", capSock, ...dataPathArgs(dp),
    ]);
    await withLogs([p], async () => {
      await waitForUdpListener(topo.server, 8012, 20_000);
      await expectDataPath(p, dp);
    });
    const capRc = await startRefclient(lab, client(topo, 1), "refclient-cap", { port: 8012, secret: SECRET, tun: "rc1c" });
    const capCli = async (...args: string[]): Promise<string> => {
      const r = await topo.server.exec([bin, ...args, "--control-socket", capSock], { timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`warren ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    };
    return { cli: capCli, rc: capRc, tunAddr: "10.33.0.1", done: async () => {
      await lab.stop(capRc.proc);
      await lab.stop(p);
    } };
  }

  for (const dp of E2E_DATA_PATHS) {
    test(`capture (${dp}) of a 10-ping exchange reads back (tcpdump -r) with 20 packets of the right addresses`, async () => {
      const file = join(dir, `rc1-${dp}.pcap`);
      const t = await captureTarget(dp);
      await withLogs([...logs(), t.rc.proc], async () => {
        const started = await t.cli("capture", "start", t.rc.address, "--file", file, "--max-bytes", "1M");
        expect(started).toContain(`to ${file} (at most 1.00 MiB)`);
        const r = await ping(t.rc.host.ns, t.tunAddr, { count: 10, intervalMs: 100 });
        expect(r.received).toBe(10);
        const stopped = await t.cli("capture", "stop", t.rc.address);
        expect(stopped).toMatch(/^stopped capture of \S+: 20 packets/);
        const dump = await run(["tcpdump", "-n", "-r", file], { timeoutMs: 20_000 });
        expect(dump.code).toBe(0);
        const lines = dump.stdout.trim().split("\n");
        const a = t.rc.address.replaceAll(".", "\\.");
        const srv = t.tunAddr.replaceAll(".", "\\.");
        expect(lines.length).toBe(20);
        expect(lines.filter((l) => new RegExp(`IP ${a} > ${srv}: ICMP echo request`).test(l)).length).toBe(10);
        expect(lines.filter((l) => new RegExp(`IP ${srv} > ${a}: ICMP echo reply`).test(l)).length).toBe(10);
        const pcap = readPcap(new Uint8Array(readFileSync(file)));
        expect(pcap.ok && pcap.linktype).toBe(101);
        // after the capture the session is served as before (the fast path takes it back)
        expect((await ping(t.rc.host.ns, t.tunAddr, { count: 3, intervalMs: 100 })).received).toBe(3);
      });
      await t.done();
    }, 60_000);
  }

  test("every failed handshake is one line in the log file with time, source address and reason", async () => {
    await withLogs(logs(), async () => {
      const r = await toyclient(lab, client(topo, 2).ns, "toy-wrong", { server: `${client(topo, 2).serverAddr}:${PORT}`, secret: "wrong-one", handshakeMs: 1500 });
      expect(r.handshake.answered).toBe(false);
      await waitFor("the rejected handshake line", () => /handshake rejected from/.test(logText()), { timeoutMs: 5000 });
      const line = logText().split("\n").find((l) => l.includes("handshake rejected from")) ?? "";
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN +\[warren\] handshake rejected from 10\.77\.2\.2:\d+ reason=bad-secret/);
      expect(logText()).not.toContain("wrong-one");
      expect(logText()).not.toContain(SECRET);
    });
  }, 40_000);

  test("kick ends one client: gone from the list, its next packets are not delivered, the hook sees it", async () => {
    await withLogs(logs(), async () => {
      const victim = rc(2);
      const out = await cliOk("kick", victim.address);
      expect(out.trim()).toMatch(new RegExp(`^kicked \\S+ \\(${victim.address.replaceAll(".", "\\.")}\\)$`));
      expect((await clientsJson()).map((c) => c.address)).toEqual([rc(1).address]);
      const drops0 = JSON.parse(await cliOk("status", "--json")).status.drops["no-session"] as number;
      expect((await ping(victim.host.ns, "10.31.0.1", { count: 3, waitMs: 800 })).received).toBe(0);
      const drops1 = JSON.parse(await cliOk("status", "--json")).status.drops["no-session"] as number;
      expect(drops1 - drops0).toBeGreaterThanOrEqual(3);
      expect((await ping(rc(1).host.ns, "10.31.0.1", { count: 1 })).received).toBe(1); // the other one is fine
      await waitFor("the disconnect hook", () => readFileSync(hookLog, "utf8").includes(`${victim.address} kicked`), { timeoutMs: 10_000 });
      expect(readFileSync(hookLog, "utf8")).toMatch(new RegExp(`^down \\S+ ${victim.address.replaceAll(".", "\\.")} kicked in=[1-9]\\d* out=[1-9]\\d*$`, "m"));
      const miss = await cli("kick", "10.31.0.250");
      expect([miss.code, miss.stderr.trim()]).toEqual([1, 'warren: no client matches "10.31.0.250"']);
    });
  }, 60_000);

  test("no server: one clear line, exit 1", async () => {
    const gone = await topo.server.exec([bin, "status", "--control-socket", join(dir, "nothing.sock")]);
    expect([gone.code, gone.stderr]).toEqual([1, `warren: no warren server is running (no control socket at ${join(dir, "nothing.sock")}; see --control-socket)\n`]);
  }, 20_000);

  test("log rotation leaves exactly --log-keep old files; --capture-dir captures every client", async () => {
    const rotDir = join(dir, "rot");
    const rotLog = join(rotDir, "warren.log");
    const rotSock = join(rotDir, "warren.sock");
    const caps = join(rotDir, "caps");
    const rot = lab.spawn(topo.server, "warren-rot", [
      bin, "server", "--listen", "0.0.0.0:8011", "--secret", SECRET, "--tun", "wtrot0", "--pool", "10.32.0.0/24", "--route", "10.32.0.0/24",
      "--control-socket", rotSock, "--log-file", rotLog, "--log-max-size", "1K", "--log-keep", "2", "--log-level", "debug", "--capture-dir", caps,
    ]);
    await withLogs([rot], async () => {
      await waitForUdpListener(topo.server, 8011, 20_000);
      await waitFor("the control socket", () => existsSync(rotSock), { timeoutMs: 10_000 });
      const t = await toyclient(lab, client(topo, 1).ns, "toy-rot", {
        server: `${client(topo, 1).serverAddr}:8011`, secret: SECRET, id: "cap-me", ping: ["10.32.0.1"], count: 3, waitMs: 2000,
      });
      expect(t.pings?.["10.32.0.1"]).toEqual({ sent: 3, received: 3 });
      // ~300 debug lines (one per request) over one connection: many rotations.
      const answers = await requestMany(rotSock, 300);
      expect(answers).toBe(300);
      const files = readdirSync(rotDir).filter((n) => n.startsWith("warren.log")).sort();
      expect(files).toEqual(["warren.log", "warren.log.1", "warren.log.2"]);
      // --capture-dir: the toyclient's session was captured from its start, closed when it ended (or at shutdown)
      await lab.stop(rot);
      const pcaps = readdirSync(caps);
      expect(pcaps).toEqual([expect.stringMatching(/^cap-me-\d{8}T\d{6}Z\.pcap$/)]);
      const pcap = readPcap(new Uint8Array(readFileSync(join(caps, pcaps[0] as string))));
      if (!pcap.ok) throw new Error(`capture-dir file: ${pcap.reason}`);
      const icmp = pcap.records.filter((r) => r.data[9] === 1).map((r) => `${formatIpv4(r.data, 12)}>${formatIpv4(r.data, 16)}`);
      expect(icmp.filter((p) => p.endsWith(">10.32.0.1")).length).toBe(3);
      expect(icmp.filter((p) => p.startsWith("10.32.0.1>")).length).toBe(3);
    });
  }, 90_000);
});

/** Counter fields of a client, for "did anything move" comparisons. */
function counters(c: ClientInfo): number[] {
  return [c.rxPackets, c.rxBytes, c.txPackets, c.txBytes];
}

/** Sends `n` `get` requests (alternating keys) over one control connection; resolves with the number of answers. */
async function requestMany(path: string, n: number): Promise<number> {
  let got = 0;
  let buf = "";
  return await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got} of ${n} answers`)), 20_000);
    Bun.connect({
      unix: path,
      socket: {
        open(s) {
          // Keys alternate: consola folds identical consecutive lines into "(repeated N times)".
          const keys = ["log-level", "idle-timeout", "isolate", "max-clients"];
          s.write(Array.from({ length: n }, (_, i) => `${JSON.stringify({ cmd: "get", key: keys[i % keys.length] })}\n`).join(""));
        },
        data(s, d) {
          buf += d.toString();
          got = buf.split("\n").length - 1;
          if (got >= n) {
            clearTimeout(timer);
            s.end();
            resolve(got);
          }
        },
        error(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  }).finally(() => sleep(0));
}

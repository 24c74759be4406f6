/**
 * The operator tools (admin/ops.ts) on a server running on fakes: the real control
 * socket (a Unix socket in a temp folder), the real HTTP listener on 127.0.0.1 (an
 * ephemeral port: loopback only), real capture files and real hook processes.
 * FakeUdp plays the phones, FakeTun the kernel. No root needed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlRequest } from "../../src/admin/control-client.ts";
import { claimSocket } from "../../src/admin/control.ts";
import { listenHttp, type HttpListener } from "../../src/admin/http.ts";
import { Ops } from "../../src/admin/ops.ts";
import { type AdminCommand, runAdmin } from "../../src/cli/admin.ts";
import { loadConfig } from "../../src/config/load.ts";
import { ServerConfigSchema, type ServerConfig } from "../../src/config/server-schema.ts";
import type { Server } from "../../src/server/server.ts";
import { getLogLevel, setLogLevel } from "../../src/lib/log.ts";
import { buildHandshake, paramsText, parseParams } from "../../src/protocol/toyvpn.ts";
import { LINKTYPE_RAW, readPcap } from "../../src/protocol/pcap.ts";
import { FakeTun } from "../fakes/fake-tun.ts";
import { FakeUdp } from "../fakes/fake-udp.ts";
import { ManualClock } from "../fakes/manual-clock.ts";
import { formatIpv4, icmpEcho4 } from "../fakes/packets.ts";
import { recordingLogger } from "../lib/log.ts";
import { parseExposition, valueOf } from "../lib/prom-text.ts";
import { startToyServer } from "../lib/server-rig.ts";
import { waitFor } from "../lib/wait.ts";

const SECRET = "s3cret";
const PHONE_A = { address: "::ffff:192.0.2.10", port: 40001, id: "phone-a" };
const PHONE_B = { address: "::ffff:192.0.2.20", port: 40002, id: "phone-b" };

const dir = mkdtempSync(join(tmpdir(), "warren-ops-"));
const sock = join(dir, "ctl", "warren.sock");
const configFile = join(dir, "warren.json");
const hookLog = join(dir, "hooks.txt");
const log = recordingLogger();
const logs = log.lines;

function writeConfig(extra: Record<string, unknown> = {}): void {
  writeFileSync(configFile, JSON.stringify({
    secret: SECRET, idleTimeout: 180, controlSocket: sock,
    onConnect: `echo "up $WARREN_CLIENT_ID $WARREN_CLIENT_ADDR $WARREN_ENDPOINT" >> ${hookLog}`,
    onDisconnect: `echo "down $WARREN_CLIENT_ID $WARREN_REASON in=$WARREN_BYTES_IN out=$WARREN_BYTES_OUT" >> ${hookLog}`,
    ...extra,
  }));
}
const load = (): ServerConfig => loadConfig(ServerConfigSchema, { config: configFile }, {}, {});

let server: Server;
let ops: Ops;
let http: HttpListener;
const tun = new FakeTun();
const udp = new FakeUdp();
const clock = new ManualClock();
const addr: Record<string, string> = {};
const level0 = getLogLevel();

function connect(p: { address: string; port: number; id: string }): string {
  const hs = buildHandshake(`${SECRET}:${p.id}`);
  for (let i = 0; i < 3; i++) udp.receive(hs, p.address, p.port);
  const replies = udp.take(p.address, p.port);
  const parsed = parseParams(paramsText(replies[0] as Uint8Array) as string);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.params.addresses[0]?.address ?? "";
}

/** One ping from a phone to 10.8.0.1 and the reply back through the TUN. */
function pingExchange(p: { address: string; port: number; id: string }, seq: number, size = 32): void {
  const a = addr[p.id] as string;
  udp.receive(icmpEcho4({ src: a, dst: "10.8.0.1", id: 7, seq, payload: new Uint8Array(size) }), p.address, p.port);
  tun.inject(icmpEcho4({ src: "10.8.0.1", dst: a, id: 7, seq, payload: new Uint8Array(size), type: 0 }));
  udp.take(p.address, p.port);
}

/** The capture and hook tests wait on files written off the event loop. */
const FILE_WAIT = { timeoutMs: 15_000, intervalMs: 20 };

beforeAll(async () => {
  writeConfig();
  const cfg = load();
  ops = await Ops.prepare({ config: cfg, reloadConfig: load, configFile, now: () => clock.now(), log });
  ({ server } = await startToyServer({ config: JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>, tun, udp, clock, log }));
  ops.start(server);
  http = listenHttp("127.0.0.1", 0, () => ops.snapshot(), log, {}, () => ops.history());
  addr[PHONE_A.id] = connect(PHONE_A);
  addr[PHONE_B.id] = connect(PHONE_B);
});

afterAll(async () => {
  http.stop();
  server.stop();
  await ops.stop();
  setLogLevel(level0);
  rmSync(dir, { recursive: true, force: true });
});

describe("ops on a fake server", () => {
  test("control socket: mode 0600 in a 0700 folder; snapshot lists both clients, counters grow", async () => {
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "ctl")).mode & 0o777).toBe(0o700);
    const before = await controlRequest(sock, { cmd: "snapshot" });
    expect(before.clients.map((c) => c.id)).toEqual([PHONE_A.id, PHONE_B.id]);
    expect(before.clients[0]).toMatchObject({ address: addr[PHONE_A.id], endpoint: "192.0.2.10:40001", capture: null });
    pingExchange(PHONE_A, 1);
    const after = await controlRequest(sock, { cmd: "snapshot" });
    const a0 = before.clients[0];
    const a1 = after.clients[0];
    expect(a1?.rxPackets).toBe((a0?.rxPackets ?? 0) + 1);
    expect(a1?.txPackets).toBe((a0?.txPackets ?? 0) + 1);
    expect(after.status.sessions).toBe(2);
    expect(after.status.pool).toMatchObject({ used: 2, total: 253 });
    expect(JSON.stringify(after)).not.toContain(SECRET);
  });

  test("set / get: validated like the config file; the secret is write-only", async () => {
    expect((await controlRequest(sock, { cmd: "set", key: "idle-timeout", value: "120" })).previous).toBe("180");
    expect(server.live().idleTimeout).toBe(120);
    expect((await controlRequest(sock, { cmd: "get", key: "idle-timeout" })).value).toBe("120");
    await expect(controlRequest(sock, { cmd: "set", key: "idle-timeout", value: "5" })).rejects.toThrow(/idle-timeout: expected seconds from 10 to 86400/);
    await controlRequest(sock, { cmd: "set", key: "isolate", value: "on" });
    expect(server.live().isolate).toBe(true);
    await controlRequest(sock, { cmd: "set", key: "isolate", value: "false" });
    await controlRequest(sock, { cmd: "set", key: "max-clients", value: "7" });
    expect(server.live().maxClients).toBe(7);
    await controlRequest(sock, { cmd: "set", key: "log-level", value: "debug" });
    expect(getLogLevel()).toBe("debug");
    await controlRequest(sock, { cmd: "set", key: "log-level", value: level0 });
    await expect(controlRequest(sock, { cmd: "get", key: "secret" })).rejects.toThrow(/write-only/);
    const r = await controlRequest(sock, { cmd: "set", key: "secret", value: "n3w-secret" });
    expect(r.value).toBe("(hidden)");
    expect(logs.join("\n")).not.toContain("n3w-secret");
    // new handshakes need the new secret; the old sessions stay
    const hs = buildHandshake(`${SECRET}:phone-c`);
    udp.receive(hs, "::ffff:192.0.2.30", 40003);
    expect(udp.take("::ffff:192.0.2.30", 40003)).toEqual([]);
    expect(server.sessions.size).toBe(2);
    await controlRequest(sock, { cmd: "set", key: "secret", value: SECRET });
  });

  test("bad requests get one-line errors; the connection survives", async () => {
    await expect(controlRequest(sock, { cmd: "kick", target: "nobody" })).rejects.toThrow('no client matches "nobody"');
    const raw = await new Promise<string>((resolve, reject) => {
      let buf = "";
      Bun.connect({
        unix: sock,
        socket: {
          open(s) {
            s.write('not json\n{"cmd":"set","key":"mtu","value":"1"}\n{"cmd":"hello"}\n');
          },
          data(s, d) {
            buf += d.toString();
            if (buf.split("\n").length > 3) {
              resolve(buf);
              s.end();
            }
          },
          error(_s, e) {
            reject(e);
          },
        },
      }).catch(reject);
    });
    const lines = raw.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ ok: false, code: "ERR_BAD_REQUEST", error: "request is not JSON" });
    expect(lines[1]).toMatchObject({ ok: false, code: "ERR_BAD_REQUEST" });
    expect(lines[1].error).toContain("key");
    expect(lines[2]).toMatchObject({ ok: true, result: { pid: process.pid } });
  });

  test("reload: applies changed live keys, keeps sessions, names what needs a restart", async () => {
    const sessionsBefore = server.sessions.all();
    writeConfig({ idleTimeout: 90, mtu: 1300 });
    const r = await controlRequest(sock, { cmd: "reload" });
    expect(r.changed).toEqual([{ key: "idleTimeout", from: "180", to: "90" }]);
    expect(r.restart).toEqual(["mtu"]);
    expect(server.live().idleTimeout).toBe(90);
    expect(server.sessions.all()).toEqual(sessionsBefore);
    // a broken file changes nothing
    writeFileSync(configFile, '{"idleTimeout": 3}');
    await expect(controlRequest(sock, { cmd: "reload" })).rejects.toThrow(/idleTimeout/);
    expect(server.live().idleTimeout).toBe(90);
    writeConfig({ idleTimeout: 90, mtu: 1300 });
  });

  test("HTTP: /metrics is strict text format and matches the snapshot; /healthz, /, /api/status, /api/history, the page's files", async () => {
    pingExchange(PHONE_B, 1);
    const base = `http://${http.url}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const fams = parseExposition(await res.text());
    const snap = ops.snapshot();
    for (const c of snap.clients) {
      expect(valueOf(fams, "warren_receive_bytes_total", { client: c.id })).toBe(c.rxBytes);
      expect(valueOf(fams, "warren_transmit_packets_total", { client: c.id })).toBe(c.txPackets);
    }
    expect(valueOf(fams, "warren_sessions")).toBe(2);
    expect(valueOf(fams, "warren_handshakes_total", { result: "ok" })).toBe(snap.status.handshakes.ok);
    for (const c of snap.clients) {
      expect(valueOf(fams, "warren_client_info", { client: c.id, address: c.address, endpoint: c.endpoint, user: "", protocol: "toyvpn" })).toBe(1);
      expect(valueOf(fams, "warren_client_last_seen_timestamp_seconds", { client: c.id })).toBe(c.lastSeen / 1000);
    }
    // process_* from /proc/self of this very process
    expect(valueOf(fams, "process_open_fds")).toBeGreaterThan(3);
    expect(valueOf(fams, "process_max_fds")).toBeGreaterThanOrEqual(valueOf(fams, "process_open_fds") ?? Infinity);
    expect(valueOf(fams, "process_resident_memory_bytes")).toBeGreaterThan(1 << 20);
    expect(valueOf(fams, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(await (await fetch(`${base}/healthz`)).text()).toBe("ok\n");
    const page = await fetch(`${base}/`);
    expect(page.headers.get("content-type")).toContain("text/html");
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await page.text();
    expect(html).toContain('<script src="dashboard.js"');
    expect(html).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/); // nothing inline for the CSP to block
    const js = await fetch(`${base}/dashboard.js`);
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(await js.text()).toContain("api/history");
    expect((await fetch(`${base}/dashboard.css`)).headers.get("content-type")).toContain("text/css");
    const icon = await fetch(`${base}/favicon.svg`);
    expect([icon.status, icon.headers.get("content-type")]).toEqual([200, "image/svg+xml"]);
    expect(await icon.text()).toStartWith("<svg");
    const api = (await (await fetch(`${base}/api/status`)).json()) as { clients: unknown[] };
    expect(api.clients.length).toBe(2);
    const hist = (await (await fetch(`${base}/api/history`)).json()) as { intervalSec: number; samples: unknown[] };
    expect(hist).toEqual(ops.history());
    expect(hist.intervalSec).toBe(10);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });

  test("capture: both directions to a pcap file, bounded; off again afterwards", async () => {
    const file = join(dir, "a.pcap");
    expect(server.router.tap).toBeNull();
    const started = await controlRequest(sock, { cmd: "capture-start", target: PHONE_A.id, file });
    expect(started.file).toBe(file);
    expect(server.router.tap).not.toBeNull();
    await expect(controlRequest(sock, { cmd: "capture-start", target: PHONE_A.id, file })).rejects.toThrow(/already being captured/);
    for (let seq = 1; seq <= 10; seq++) pingExchange(PHONE_A, seq);
    pingExchange(PHONE_B, 2); // not captured
    const stopped = await controlRequest(sock, { cmd: "capture-stop", target: PHONE_A.id });
    expect(stopped).toMatchObject({ packets: 20, dropped: 0 });
    expect(server.router.tap).toBeNull();
    const pcap = readPcap(new Uint8Array(readFileSync(file)));
    if (!pcap.ok) throw new Error(pcap.reason);
    expect(pcap.linktype).toBe(LINKTYPE_RAW);
    expect(pcap.records.length).toBe(20);
    const a = addr[PHONE_A.id];
    const pairs = pcap.records.map((r) => `${formatIpv4(r.data, 12)}>${formatIpv4(r.data, 16)}`);
    expect(pairs.filter((p) => p === `${a}>10.8.0.1`).length).toBe(10);
    expect(pairs.filter((p) => p === `10.8.0.1>${a}`).length).toBe(10);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // size bound: 1024 bytes = the header and two 428-byte packets (+ 16-byte record headers)
    const small = join(dir, "small.pcap");
    await controlRequest(sock, { cmd: "capture-start", target: addr[PHONE_B.id] as string, file: small, maxBytes: 1024 });
    for (let seq = 1; seq <= 5; seq++) pingExchange(PHONE_B, seq, 400);
    await waitFor("the capture to stop at its limit", () => server.router.tap === null, FILE_WAIT);
    // stopping closes the file asynchronously: wait for the last write, then check the bound
    const records = () => {
      const r2 = readPcap(new Uint8Array(readFileSync(small)));
      return r2.ok ? r2.records.length : -1;
    };
    await waitFor("the capped file to be complete", () => records() === 2, FILE_WAIT);
    expect(statSync(small).size).toBeLessThanOrEqual(1024);
  });

  test("kick: ends the session, frees the address, runs the disconnect hook; its packets are dropped", async () => {
    const r = await controlRequest(sock, { cmd: "kick", target: addr[PHONE_B.id] as string });
    expect(r.kicked).toEqual([{ id: PHONE_B.id, address: addr[PHONE_B.id] as string }]);
    expect(server.sessions.byDevice(null, PHONE_B.id)).toBeUndefined();
    expect(server.pool4.used).toBe(1);
    const written = tun.written.length;
    udp.receive(icmpEcho4({ src: addr[PHONE_B.id] as string, dst: "10.8.0.1", id: 7, seq: 99, payload: new Uint8Array(8) }), PHONE_B.address, PHONE_B.port);
    expect(tun.written.length).toBe(written);
    await waitFor("the hooks", () => existsSync(hookLog) && readFileSync(hookLog, "utf8").includes(`down ${PHONE_B.id}`), FILE_WAIT);
    const lines = readFileSync(hookLog, "utf8");
    expect(lines).toContain(`up ${PHONE_A.id} ${addr[PHONE_A.id]} 192.0.2.10:40001`);
    expect(lines).toMatch(new RegExp(`down ${PHONE_B.id} kicked in=[1-9]\\d* out=[1-9]\\d*`));
  });
});

test("the CLI commands over the socket (runAdmin): output, one-line errors", async () => {
  const out: string[] = [];
  const cli = (cmd: AdminCommand, ...args: string[]) => runAdmin(cmd, [...args, "--control-socket", sock], {}, (t) => void out.push(t));
  expect(await cli("clients", "--json")).toBe(0);
  expect((JSON.parse(out.pop() ?? "") as Array<{ id: string }>).map((c) => c.id)).toEqual([PHONE_A.id]);
  expect(await cli("status")).toBe(0);
  expect(out.pop()).toContain(`client ${PHONE_A.id}\n  endpoint   192.0.2.10:40001`);
  expect(await cli("get", "idle-timeout")).toBe(0);
  expect(out.pop()).toBe("90");
  expect(await runAdmin("get", ["isolate"], { WARREN_CONTROL_SOCKET: sock }, (t) => void out.push(t))).toBe(0);
  expect(out.pop()).toBe("false");
  await expect(cli("get")).rejects.toThrow("get: a setting is required (see warren get --help)");
  await expect(cli("set", "mtu", "1")).rejects.toThrow('set: expected a setting: log-level, idle-timeout, isolate, max-clients or secret (got "mtu")');
  await expect(cli("set", "idle-timeout", "5")).rejects.toThrow('idle-timeout: expected seconds from 10 to 86400 (got "5")');
  await expect(cli("kick", "a", "b")).rejects.toThrow('kick: unexpected argument "b"');
  await expect(cli("kick", "a", "--ban", "soon")).rejects.toThrow('--ban: expected a duration like 90s, 10m, 2h or 1d (got "soon")');
  await expect(cli("status", "--ban", "1m")).rejects.toThrow("--ban: unknown option (see warren status --help)");
  await expect(cli("clients", "--file", "x")).rejects.toThrow("--file: unknown option (see warren clients --help)");
  await expect(cli("capture", "pause", "x")).rejects.toThrow('capture: expected "start <client>" or "stop <client>" (got "pause")');
  await expect(runAdmin("status", ["--control-socket", join(dir, "none.sock")], {}, () => {})).rejects.toThrow(`no warren server is running (no control socket at ${join(dir, "none.sock")}`);
});

test("a second server on the same socket path is refused; the path stays with the first", async () => {
  const second = Ops.prepare({ config: { ...load(), controlSocket: sock }, reloadConfig: load, configFile, now: () => 0, log });
  await expect(second).rejects.toThrow(
    `control socket ${sock}: another warren (pid ${process.pid}) answers there; give this server its own --control-socket PATH, or --control-socket none`,
  );
  // --control-socket none: no claim at all, so a live socket is left alone.
  const without = await Ops.prepare({ config: { ...load(), controlSocket: null }, reloadConfig: load, configFile, now: () => 0, log });
  await without.stop();
  expect((await controlRequest(sock, { cmd: "hello" })).pid).toBe(process.pid);
});

test("claimSocket: a stale socket file is removed, anything else that is not a socket is refused", async () => {
  const stale = join(dir, "stale.sock");
  // A process that dies while listening leaves its socket file behind.
  const child = Bun.spawn([process.execPath, "-e", `Bun.listen({ unix: ${JSON.stringify(stale)}, socket: { data() {} } }); console.log("up"); setTimeout(() => {}, 60000);`], { stdout: "pipe" });
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill("SIGKILL");
  await child.exited;
  expect(existsSync(stale)).toBe(true);
  await claimSocket(stale);
  expect(existsSync(stale)).toBe(false);
  const plain = join(dir, "plain.sock");
  writeFileSync(plain, "");
  await expect(claimSocket(plain)).rejects.toThrow(`control socket ${plain}: exists and is not a socket; not touching it`);
  await claimSocket(join(dir, "new", "dir", "x.sock"));
  expect(statSync(join(dir, "new", "dir")).mode & 0o777).toBe(0o700);
});

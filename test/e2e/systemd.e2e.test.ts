/**
 * @module systemd.e2e.test
 * `warren server` as systemd runs it (Type=notify, stderr = the journal), with the test
 * playing systemd: NOTIFY_SOCKET is a datagram socket the test binds (through warren's
 * own FFI helper: Bun cannot bind one), JOURNAL_STREAM names the file the server's
 * stderr goes to. Checks READY=1 once serving, RELOADING=1 (with MONOTONIC_USEC) /
 * READY=1 around SIGHUP, STATUS= updates, STOPPING=1 at SIGTERM, `<N>`-prefixed log
 * lines without timestamps, and that hooks do not inherit NOTIFY_SOCKET. Then SIGUSR1
 * reopening --log-file after a logrotate-style move. In network namespaces
 * (/work/shared/TESTING.md).
 *
 *   srv: warren (TUN wtsd0 10.34.0.1/24, UDP 0.0.0.0:8020) <- c1: toyclient
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatagramReceiver, monotonicMicros } from "../../src/platform/linux/unix-dgram.ts";
import { type BgProcess, Lab, netnsOrWarn, removeStale, type Topology, waitFor, waitForUdpListener, withLogs } from "./netns.ts";
import { ensureWarren, toyclient } from "./tools.ts";

const SECRET = "systemd-Secret-77a1";
const PORT = 8020;
const ok = netnsOrWarn("warren under systemd e2e tests (need root and ip netns)");

describe.skipIf(!ok)("warren under systemd (Type=notify, journal)", () => {
  const lab = new Lab("sd");
  const dir = lab.dir;
  const hookOut = join(dir, "hook-env.txt");
  let bin = "";
  let topo: Topology;
  let server: BgProcess;
  let notify: DatagramReceiver;
  const got: string[] = [];
  const stderrFile = join(dir, "warren-sd.log");
  const journal = () => readFileSync(stderrFile, "utf8");
  /** Datagrams so far (read from the socket), oldest first. */
  const messages = (): string[] => {
    for (let m = notify.receive(); m !== null; m = notify.receive()) got.push(m);
    return got;
  };
  const waitMessage = (what: string, f: (m: string) => boolean, from = 0, timeoutMs = 15_000) =>
    waitFor(what, () => messages().slice(from).find(f), { timeoutMs, intervalMs: 50, detail: () => JSON.stringify(got) });

  beforeAll(async () => {
    await removeStale();
    mkdirSync(dir, { recursive: true });
    bin = join(dir, "warren");
    copyFileSync(await ensureWarren(), bin);
    chmodSync(bin, 0o755);
    topo = await lab.topology(1);
    notify = DatagramReceiver.bind(join(dir, "notify.sock"));
    writeFileSync(stderrFile, ""); // Lab.spawn appends to it: the same inode
    const st = statSync(stderrFile);
    server = lab.spawn(topo.server, "warren-sd", [
      bin, "server", "--listen", `0.0.0.0:${PORT}`, "--secret", SECRET, "--tun", "wtsd0", "--pool", "10.34.0.0/24", "--route", "10.34.0.0/24",
      "--control-socket", join(dir, "sd.sock"), "--on-connect", `echo "NOTIFY_SOCKET=\${NOTIFY_SOCKET:-unset}" >> ${hookOut}`,
    ], { separateStdout: true, env: { NOTIFY_SOCKET: notify.path, JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
  }, 240_000);

  afterAll(async () => {
    notify?.close();
    await lab.cleanup();
  }, 30_000);

  test("READY=1 once serving: the UDP port is open by then; STATUS says what it serves", async () => {
    await withLogs([server], async () => {
      const ready = await waitMessage("READY=1", (m) => m.startsWith("READY=1"), 0, 30_000);
      expect(ready).toBe(`READY=1\nSTATUS=serving udp 0.0.0.0:${PORT}, tun wtsd0\n`);
      expect(await topo.server.udpListening(PORT)).toBe(true);
      expect(messages()[0]).toBe(ready); // nothing before it
    });
  }, 60_000);

  test("stderr as the journal: <N> priorities, no timestamps; warnings at 4, sessions at 6; stdout keeps the summary", async () => {
    await withLogs([server], async () => {
      const c = topo.clients[0];
      if (!c) throw new Error("no client");
      const bad = await toyclient(lab, c.ns, "toy-bad", { server: `${c.serverAddr}:${PORT}`, secret: "nope", handshakeMs: 1500 });
      expect(bad.handshake.answered).toBe(false);
      const good = await toyclient(lab, c.ns, "toy-good", { server: `${c.serverAddr}:${PORT}`, secret: SECRET, id: "sd-phone", ping: ["10.34.0.1"], count: 2, waitMs: 2000 });
      expect(good.pings?.["10.34.0.1"]?.received).toBe(2);
      await waitFor("the session line", () => journal().includes("session up device=sd-phone"), { timeoutMs: 5000 });
      const lines = journal().trimEnd().split("\n");
      for (const l of lines) expect(l).toMatch(/^<[0-7]>/);
      expect(journal()).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
      expect(lines).toContain(`<6>[warren] server ready: udp 0.0.0.0:${PORT}, tun wtsd0`);
      expect(lines.find((l) => l.includes("handshake rejected from"))).toMatch(new RegExp(`^<4>\\[warren\\] handshake rejected from ${c.addr.replaceAll(".", "\\.")}:\\d+ reason=bad-secret$`));
      expect(lines.find((l) => l.includes("session up"))).toMatch(/^<6>\[warren\] session up device=sd-phone endpoint=\S+ address=10\.34\.0\.\d+$/);
      expect(lines).toContain("<4>[warren] ToyVpn mode sends the secret and all traffic unencrypted; use it only on trusted networks");
      expect(readFileSync(server.log.replace(/\.log$/, ".stdout.log"), "utf8")).toContain(`  listen    udp 0.0.0.0:${PORT}\n`);
      await waitFor("the connect hook", () => existsSync(hookOut), { timeoutMs: 5000 });
      expect(readFileSync(hookOut, "utf8").trim()).toBe("NOTIFY_SOCKET=unset");
    });
  }, 60_000);

  test("SIGHUP: RELOADING=1 with the monotonic time, then READY=1; a STATUS line counts the clients", async () => {
    await withLogs([server], async () => {
      const from = messages().length;
      const before = monotonicMicros();
      server.proc.kill("SIGHUP");
      const reloading = await waitMessage("RELOADING=1", (m) => m.startsWith("RELOADING=1"), from);
      const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(reloading)?.[1] ?? "0");
      expect(usec >= before && usec <= monotonicMicros()).toBe(true);
      const i = messages().indexOf(reloading);
      expect(await waitMessage("READY=1 after the reload", (m) => m.startsWith("READY=1"), i + 1)).toBe("READY=1\nSTATUS=reloaded (SIGHUP)\n");
      expect(journal()).toMatch(/^<6>\[warren\] reload \(SIGHUP\): changed nothing$/m);
      // the throughput sampler (every 10 s) updates the status line
      const status = await waitMessage("a STATUS update", (m) => /^STATUS=1 client; in \S+ \S+, out \S+ \S+\n$/.test(m), 0, 25_000);
      expect(status).toMatch(/^STATUS=1 client; in \d/);
    });
  }, 60_000);

  test("SIGTERM: STOPPING=1, a clean exit, the last lines at priority 6", async () => {
    const from = messages().length;
    const code = await lab.stop(server);
    expect(code).toBe(0);
    expect(messages().slice(from).filter((m) => !m.startsWith("STATUS=") || m.startsWith("STOPPING"))).toEqual(["STOPPING=1\nSTATUS=stopping\n"]);
    const lines = journal().trimEnd().split("\n");
    expect(lines.slice(-1)).toEqual(["<6>[warren] stopped"]);
    expect(lines).toContain("<6>[warren] SIGTERM: stopping");
    expect(lines.some((l) => /^<6>\[warren\] session down device=sd-phone .* reason=shutdown in=\d+pkt\/\d+B out=\d+pkt\/\d+B/.test(l))).toBe(true);
  }, 30_000);

  test("SIGUSR1 reopens --log-file after a logrotate-style move", async () => {
    const logFile = join(dir, "rot", "warren.log");
    const p = lab.spawn(topo.server, "warren-usr1", [
      bin, "server", "--listen", "0.0.0.0:8021", "--secret", SECRET, "--tun", "wtsd1", "--pool", "10.35.0.0/24", "--route", "10.35.0.0/24",
      "--control-socket", join(dir, "usr1.sock"), "--log-file", logFile,
    ]);
    await withLogs([p], async () => {
      await waitFor("server ready in the log file", () => existsSync(logFile) && readFileSync(logFile, "utf8").includes("server ready"), { timeoutMs: 20_000 });
      await waitForUdpListener(topo.server, 8021, 5000);
      renameSync(logFile, `${logFile}.1`);
      p.proc.kill("SIGUSR1");
      await waitFor("the new log file", () => existsSync(logFile), { timeoutMs: 5000 });
      await waitFor("the reopen line", () => readFileSync(logFile, "utf8").includes("log file reopened"), { timeoutMs: 5000 });
      expect(readFileSync(logFile, "utf8")).toMatch(new RegExp(`^\\S+Z INFO  \\[warren\\] log file reopened: ${logFile.replaceAll("/", "\\/").replaceAll(".", "\\.")} \\(SIGUSR1\\)\\n$`));
      expect(readFileSync(`${logFile}.1`, "utf8")).toContain("server ready");
      expect(await lab.stop(p)).toBe(0);
      expect(readFileSync(logFile, "utf8")).toContain("stopped");
      expect(readFileSync(`${logFile}.1`, "utf8")).not.toContain("stopped");
    });
  }, 60_000);
});

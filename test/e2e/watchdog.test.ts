/**
 * @module watchdog.test
 * `warren watchdog` and `warren server --daemon` with the x64 release binary (a private
 * copy, see release.ts) in one network namespace (rules: /work/shared/TESTING.md): the
 * server needs a TUN, so every warren runs inside `<run>-wdog-srv`; its config, pid file,
 * lock, log and control socket live in a temp dir.
 *
 *   watchdog run 1 -> starts the server (no pid file); run 2 -> leaves it alone;
 *   kill -9 -> run 3 restarts it ("is gone"); kill -9, two watchdogs at once -> one server;
 *   a second server on the same pid file / port is refused with one line; --daemon returns
 *   once the server is up and the server removes its pid file on SIGTERM.
 *
 * Servers started by the watchdog are not children of this process: afterAll kills them
 * by the PIDs in the namespace (Lab.cleanup -> destroyNamespace).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isWarrenProcess, pidAlive, readPid } from "../../src/lib/pidfile.ts";
import { Lab, type Netns, netnsOrWarn, removeStale, waitFor, waitForUdpListener } from "./netns.ts";
import { copyReleaseBinary } from "./release.ts";

const ok = netnsOrWarn("warren watchdog / --daemon e2e tests (need root and ip netns)");
const SECRET = "watchdog-e2e-Secret";
const PORT = 8300;

describe.skipIf(!ok)("warren watchdog and server --daemon", () => {
  const lab = new Lab("wdog");
  const dir = mkdtempSync(join(tmpdir(), "warren-watchdog-"));
  const conf = join(dir, "warren.json");
  const pidFile = join(dir, "run/warren.pid");
  const logFile = join(dir, "log/warren.log");
  let bin = "";
  let ns: Netns;

  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const count = (text: string, needle: string) => text.split(needle).length - 1;
  const watchdog = () => ns.exec([bin, "watchdog", "--config", conf, "--pid-file", pidFile, "--log-file", logFile], { timeoutMs: 45_000 });

  /** PIDs of warren servers in the namespace. */
  async function servers(): Promise<number[]> {
    const r = await ns.exec(["sh", "-c", `ip netns pids ${ns.name}`]);
    return r.stdout.split(/\s+/).map(Number).filter((p) => p > 0 && isWarrenProcess(p, "server"));
  }

  /** The running server's pid, after checking pid file, process and UDP socket agree. */
  async function running(): Promise<number> {
    const pid = readPid(pidFile);
    expect(pid).toBeGreaterThan(0);
    expect(isWarrenProcess(pid ?? 0, "server")).toBe(true);
    await waitForUdpListener(ns, PORT, 10_000);
    return pid ?? 0;
  }

  async function kill9(pid: number): Promise<void> {
    process.kill(pid, "SIGKILL");
    await waitFor(`server ${pid} to die`, () => !pidAlive(pid), { timeoutMs: 10_000, intervalMs: 50 });
  }

  beforeAll(async () => {
    await removeStale();
    bin = await copyReleaseBinary(join(dir, "warren"));
    ns = await lab.namespace("srv");
    const cfg = { secret: SECRET, listen: `0.0.0.0:${PORT}`, tun: "wdg0", pool: "10.66.0.0/24", controlSocket: join(dir, "warren.sock"), stateDir: join(dir, "state") };
    writeFileSync(conf, JSON.stringify(cfg));
  }, 300_000);

  afterAll(async () => {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("starts the server when none runs, and logs why", async () => {
    const r = await watchdog();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const pid = await running();
    expect(log()).toContain(`starting the server: no pid file ${pidFile}`);
    expect(log()).toContain(`started the server, pid ${pid}`);
  });

  test("a second run leaves the running server alone", async () => {
    const pid = await running();
    const before = count(log(), "starting the server");
    const r = await watchdog();
    expect(r.code).toBe(0);
    expect(readPid(pidFile)).toBe(pid);
    expect(count(log(), "starting the server")).toBe(before);
  });

  test("after kill -9 the next run restarts it and says why", async () => {
    const old = await running();
    await kill9(old);
    const r = await watchdog();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const pid = await running();
    expect(pid).not.toBe(old);
    expect(log()).toContain(`starting the server: the server (pid ${old} in ${pidFile}) is gone`);
  });

  test("two watchdogs at once start exactly one server", async () => {
    await kill9(await running());
    const before = count(log(), "started the server");
    const [a, b] = await Promise.all([watchdog(), watchdog()]);
    expect([a?.code, b?.code]).toEqual([0, 0]);
    expect(count(log(), "started the server")).toBe(before + 1);
    const pid = await running();
    expect(await servers()).toEqual([pid]);
    expect(existsSync(`${pidFile}.lock`)).toBe(false);
  });

  test("a second server on the same pid file or port is refused in one line", async () => {
    const pid = await running();
    const samePid = await ns.exec([bin, "server", "--config", conf, "--pid-file", pidFile]);
    expect(samePid.code).toBe(1);
    expect(samePid.stderr).toBe(`warren: already running (pid ${pid}, pid file ${pidFile})\n`);
    const other = ["--tun", "wdg1", "--pool", "10.67.0.0/24", "--control-socket", join(dir, "other.sock")];
    const samePort = await ns.exec([bin, "server", "--config", conf, ...other]);
    expect(samePort.code).toBe(1);
    expect(samePort.stderr).toMatch(new RegExp(`^warren: cannot listen on UDP 0\\.0\\.0\\.0:${PORT}: EADDRINUSE .*\\n$`));
    const daemon = await ns.exec([bin, "server", "--config", conf, ...other, "--daemon"]);
    expect(daemon.code).toBe(1);
    expect(daemon.stdout).toBe("");
    expect(daemon.stderr).toBe(samePort.stderr);
    expect(await servers()).toEqual([pid]);
  });

  test("server --daemon returns once the server is up; SIGTERM removes its pid file", async () => {
    const pid2 = join(dir, "run/second.pid");
    const log2 = join(dir, "log/second.log");
    const r = await ns.exec([
      bin, "server", "--config", conf, "--listen", "0.0.0.0:8301", "--tun", "wdg1", "--pool", "10.67.0.0/24",
      "--control-socket", join(dir, "second.sock"), "--daemon", "--pid-file", pid2, "--log-file", log2,
    ], { timeoutMs: 45_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = /^warren: running in the background, pid (\d+); /m.exec(r.stdout);
    const pid = Number(m?.[1]);
    expect(r.stdout).toStartWith("warren ");
    expect(r.stdout).toContain("secret    (set by configuration, not shown)");
    expect(readPid(pid2)).toBe(pid);
    await waitForUdpListener(ns, 8301, 10_000);
    process.kill(pid, "SIGTERM");
    await waitFor("the pid file to go", () => !existsSync(pid2), { timeoutMs: 10_000, intervalMs: 50 });
    await waitFor("the daemon to exit", () => !pidAlive(pid), { timeoutMs: 10_000, intervalMs: 50 });
    expect(readFileSync(log2, "utf8")).toContain("server ready");
    expect(readFileSync(log2, "utf8")).toContain("SIGTERM: stopping");
  });

  test("a config without a secret is refused: exit 2, one line", async () => {
    const noSecret = join(dir, "nosecret.json");
    writeFileSync(noSecret, JSON.stringify({ listen: "0.0.0.0:8302" }));
    const r = await ns.exec([bin, "watchdog", "--config", noSecret, "--pid-file", join(dir, "run/ns.pid"), "--log-file", logFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`warren: config: ${noSecret}: secret: required: a generated secret would change at every restart\n`);
  });
});

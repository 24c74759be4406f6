/**
 * @module pidfile.test
 * Pid and lock files (src/lib/pidfile.ts): atomic creation, live holders, stale files
 * (dead pid, garbage, leftover `.break` guard), release only by the owner, the warren
 * process check, and a real race of six processes for one file (with and without a
 * stale file in the way): exactly one wins.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BREAK_STALE_MS, claimFile, isWarrenProcess, looksLikeWarren, pidAlive, readPid, releaseFile } from "../../../src/lib/pidfile.ts";

const DIR = mkdtempSync(join(tmpdir(), "warren-pidfile-"));
/** Larger than any pid_max (2^22): never a live process. */
const DEAD_PID = 2_000_000_000;
let n = 0;
const fresh = () => join(DIR, `f${++n}.pid`);

afterAll(() => rmSync(DIR, { recursive: true, force: true }));

describe("readPid", () => {
  test("null when missing, 0 when not a pid, else the pid", () => {
    const p = fresh();
    expect(readPid(p)).toBeNull();
    writeFileSync(p, "");
    expect(readPid(p)).toBe(0);
    writeFileSync(p, "12x\n");
    expect(readPid(p)).toBe(0);
    writeFileSync(p, " 4242\n");
    expect(readPid(p)).toBe(4242);
  });
});

describe("claimFile / releaseFile", () => {
  test("creates the file with this pid and leaves no temp files", () => {
    const p = fresh();
    expect(claimFile(p, () => true)).toEqual({ ok: true });
    expect(readFileSync(p, "utf8")).toBe(`${process.pid}\n`);
    expect(existsSync(`${p}.${process.pid}.tmp`)).toBe(false);
    expect(claimFile(p, () => true)).toEqual({ ok: true }); // ours already
  });

  test("a live holder keeps it", () => {
    const p = fresh();
    writeFileSync(p, "4242\n");
    expect(claimFile(p, (pid) => pid === 4242)).toEqual({ ok: false, holder: 4242 });
    expect(readPid(p)).toBe(4242);
  });

  test("a dead holder's file and a garbage file are replaced", () => {
    const p = fresh();
    writeFileSync(p, `${DEAD_PID}\n`);
    expect(claimFile(p, pidAlive)).toEqual({ ok: true });
    expect(readPid(p)).toBe(process.pid);
    const q = fresh();
    writeFileSync(q, "garbage");
    expect(claimFile(q, pidAlive)).toEqual({ ok: true });
    expect(existsSync(`${q}.break`)).toBe(false);
  });

  test("a fresh .break guard blocks breaking; an old one is removed", () => {
    const p = fresh();
    writeFileSync(p, `${DEAD_PID}\n`);
    writeFileSync(`${p}.break`, "1\n");
    expect(claimFile(p, pidAlive)).toEqual({ ok: false, holder: DEAD_PID });
    const old = (Date.now() - BREAK_STALE_MS - 5000) / 1000;
    utimesSync(`${p}.break`, old, old);
    expect(claimFile(p, pidAlive)).toEqual({ ok: true });
    expect(existsSync(`${p}.break`)).toBe(false);
  });

  test("releaseFile removes only a file that names this process", () => {
    const p = fresh();
    writeFileSync(p, "4242\n");
    releaseFile(p);
    expect(existsSync(p)).toBe(true);
    writeFileSync(p, `${process.pid}\n`);
    releaseFile(p);
    expect(existsSync(p)).toBe(false);
    releaseFile(p); // missing: no throw
  });

  test("an unwritable place is one clear error", () => {
    expect(() => claimFile(join(DIR, "no/such/dir/x.pid"), pidAlive)).toThrow(/^cannot create .*x\.pid: ENOENT$/);
  });

  for (const stale of [false, true]) {
    test(`six processes race for one file${stale ? " over a stale one" : ""}: exactly one wins`, async () => {
      const p = fresh();
      if (stale) writeFileSync(p, `${DEAD_PID}\n`);
      const script = join(import.meta.dir, "../../fakes/claim-race.ts");
      const startAt = Date.now() + 1000;
      const procs = Array.from({ length: 6 }, () => Bun.spawn([process.execPath, script, p, String(startAt)], { stdout: "pipe", stderr: "pipe" }));
      const outs = await Promise.all(procs.map(async (c) => (await new Response(c.stdout).text()).trim()));
      await Promise.all(procs.map((c) => c.exited));
      const winners = procs.filter((_, i) => outs[i] === "ok");
      expect(outs.filter((o) => o !== "ok" && !o.startsWith("busy "))).toEqual([]);
      expect(winners).toHaveLength(1);
      for (const o of outs) if (o !== "ok") expect(o).toBe(`busy ${winners[0]?.pid}`);
    }, 30_000);
  }
});

describe("which process is warren", () => {
  const own = "/usr/local/bin/warren";
  test("compiled binary, bun + script, replaced binary, and others", () => {
    expect(looksLikeWarren(["/usr/local/bin/warren", "server", "--config", "x"], own, own, "server")).toBe(true);
    expect(looksLikeWarren(["/opt/warren-linux-x64", "server"], "/opt/warren-linux-x64", own, "server")).toBe(true);
    expect(looksLikeWarren(["bun", "src/main.ts", "server"], "/usr/bin/bun", "/usr/bin/bun", "server")).toBe(true);
    expect(looksLikeWarren(["/usr/local/bin/warren", "server"], `${own} (deleted)`, own, "server")).toBe(true);
    expect(looksLikeWarren(["/usr/local/bin/warren", "watchdog"], own, own, "server")).toBe(false);
    expect(looksLikeWarren(["sleep", "server"], "/usr/bin/sleep", own, "server")).toBe(false);
    expect(looksLikeWarren([""], "", own, "server")).toBe(false);
  });

  test("the test runner is alive but not a warren server; a dead pid is neither", () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(isWarrenProcess(process.pid, "server")).toBe(false);
    expect(pidAlive(DEAD_PID)).toBe(false);
    expect(isWarrenProcess(DEAD_PID, "server")).toBe(false);
  });
});

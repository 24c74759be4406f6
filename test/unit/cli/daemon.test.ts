/**
 * @module daemon.test
 * spawnDaemon's startup handshake (src/cli/daemon.ts) against a stand-in child
 * (test/fakes/daemon-child.ts) that uses the real child side: ready (summary passed up,
 * child keeps running detached, its stdout in the log file), a reported error (the
 * child's line, ConfigError for status 2), a silent crash, and a child that never
 * reports (killed after the timeout). No root needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfCommand, spawnDaemon } from "../../../src/cli/daemon.ts";
import { ConfigError, WarrenError } from "../../../src/lib/errors.ts";
import { pidAlive } from "../../../src/lib/pidfile.ts";
import { waitFor } from "../../lib/wait.ts";

const DIR = mkdtempSync(join(tmpdir(), "warren-daemon-"));
const CHILD = join(import.meta.dir, "../../fakes/daemon-child.ts");
const started: number[] = [];
const child = (mode: string) => [process.execPath, CHILD, mode];

afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  rmSync(DIR, { recursive: true, force: true });
});

describe("spawnDaemon", () => {
  test("ready: resolves with the pid and summary; the child runs on, output in the log file", async () => {
    const log = join(DIR, "logs/ready.log");
    const d = await spawnDaemon(child("ready"), { logFile: log });
    started.push(d.pid);
    expect(d.summary).toBe(`summary of pid ${d.pid}\n`);
    expect(pidAlive(d.pid)).toBe(true);
    await waitFor("the child's stdout in the log", () => existsSync(log) && readFileSync(log, "utf8").includes("child stdout goes to the log file"), { intervalMs: 50 });
    expect(readFileSync(log, "utf8")).not.toContain("summary of pid");
  });

  test("a reported error becomes the child's own line; status 2 is a ConfigError", async () => {
    const err = await spawnDaemon(child("fail")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe("config: listen: bad");
  });

  test("a child that exits without a word is reported with its status", async () => {
    const err = await spawnDaemon(child("crash"), { logFile: join(DIR, "crash.log") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarrenError);
    expect((err as Error).message).toBe(`the server exited with status 3 during startup; see ${join(DIR, "crash.log")}`);
  });

  test("a child that never reports is stopped after the timeout", async () => {
    const err = await spawnDaemon(child("silent"), { timeoutMs: 700 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^the server \(pid (\d+)\) did not report ready within 1 s; stopped it$/);
    const pid = Number(/pid (\d+)/.exec((err as Error).message)?.[1]);
    started.push(pid);
    await waitFor("the silent child to be gone", () => !pidAlive(pid), { intervalMs: 50 });
  });

  test("selfCommand runs this program again: bun plus the script when not compiled", () => {
    expect(selfCommand(["server", "-c", "x"])).toEqual([process.execPath, Bun.main, "server", "-c", "x"]);
  });
});

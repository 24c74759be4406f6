/** lib/logfile: the rotation plan (pure) and a real rotating file in a temp folder. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mustRotate, RotatingFile, rotationPlan } from "../../../src/lib/logfile.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("rotation plan", () => {
  test("keep 3: drop .3, shift .2->.3, .1->.2, live->.1", () => {
    expect(rotationPlan("/v/w.log", 3)).toEqual({
      remove: "/v/w.log.3",
      renames: [["/v/w.log.2", "/v/w.log.3"], ["/v/w.log.1", "/v/w.log.2"], ["/v/w.log", "/v/w.log.1"]],
    });
    expect(rotationPlan("/v/w.log", 1)).toEqual({ remove: "/v/w.log.1", renames: [["/v/w.log", "/v/w.log.1"]] });
    expect(rotationPlan("/v/w.log", 0)).toEqual({ remove: "/v/w.log", renames: [] });
  });

  test("rotate only when the next line would cross the limit, never an empty file", () => {
    expect(mustRotate(90, 10, 100)).toBe(false);
    expect(mustRotate(91, 10, 100)).toBe(true);
    expect(mustRotate(0, 500, 100)).toBe(false);
  });
});

describe("RotatingFile", () => {
  test("writing past the limit leaves the live file and exactly `keep` old files, none over the limit", () => {
    const path = join(dir, "a.log");
    const f = new RotatingFile(path, 1024, 3);
    for (let i = 0; i < 200; i++) f.write(`line ${String(i).padStart(4, "0")} ${"x".repeat(40)}\n`);
    f.close();
    expect(readdirSync(dir).filter((n) => n.startsWith("a.log")).sort()).toEqual(["a.log", "a.log.1", "a.log.2", "a.log.3"]);
    for (const n of ["a.log", "a.log.1", "a.log.2", "a.log.3"]) expect(statSync(join(dir, n)).size).toBeLessThanOrEqual(1024);
    expect(readFileSync(path, "utf8").trimEnd().split("\n").pop()).toStartWith("line 0199");
    const older = readFileSync(`${path}.1`, "utf8").trimEnd().split("\n");
    const newer = readFileSync(path, "utf8").split("\n");
    expect(Number(older.pop()?.slice(5, 9)) + 1).toBe(Number(newer[0]?.slice(5, 9))); // no line lost at the seam
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  test("appends to an existing file, counts its size, and removes files beyond keep", () => {
    const path = join(dir, "b.log");
    writeFileSync(path, "old\n");
    for (const n of [1, 2, 3, 4]) writeFileSync(`${path}.${n}`, "x\n");
    const f = new RotatingFile(path, 4096, 2);
    expect(f.size).toBe(4);
    f.write("new\n");
    f.close();
    expect(readFileSync(path, "utf8")).toBe("old\nnew\n");
    expect(readdirSync(dir).filter((n) => n.startsWith("b.log")).sort()).toEqual(["b.log", "b.log.1", "b.log.2"]);
  });

  test("creates the folder; cannot open: one line naming the file", () => {
    new RotatingFile(join(dir, "new/sub/c.log"), 1024, 1).close();
    writeFileSync(join(dir, "plain"), "");
    expect(() => new RotatingFile(join(dir, "plain/c.log"), 1024, 1)).toThrow(/^logFile: cannot open it: not a directory \(got ".*plain\/c\.log"\)$/);
  });

  test("reopen after an external logrotate moved the file: old lines stay there, new ones go to a new file", () => {
    const path = join(dir, "d.log");
    const f = new RotatingFile(path, 1 << 20, 0);
    f.write("before\n");
    renameSync(path, `${path}.rotated`); // what logrotate does before it sends SIGUSR1
    f.write("still the old file\n");
    f.reopen();
    expect(f.size).toBe(0);
    f.write("after\n");
    f.close();
    expect(readFileSync(`${path}.rotated`, "utf8")).toBe("before\nstill the old file\n");
    expect(readFileSync(path, "utf8")).toBe("after\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });
});

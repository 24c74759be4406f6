/**
 * lib/state-file: atomic whole-file writes and the JSON state files built on them.
 */

import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { errorCode } from "../../../src/lib/errors.ts";
import { loadStateFile, saveStateFile, writeFileAtomic } from "../../../src/lib/state-file.ts";

const Schema = v.object({ pid: v.number(), routes: v.array(v.string()) });

describe("state files", () => {
  test("round trip, directory created, modes applied, no temp file left", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "warren-state-")), "run", "warren");
    const path = join(dir, "x.json");
    saveStateFile(path, { pid: 7, routes: ["0.0.0.0/1"] }, { dir: 0o700, file: 0o600 });
    expect(loadStateFile(path, Schema)).toEqual({ pid: 7, routes: ["0.0.0.0/1"] });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(["x.json"]);
  });

  test("missing is null; garbage and wrong shapes are discarded, never trusted", () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-state-"));
    expect(loadStateFile(join(dir, "none.json"), Schema)).toBeNull();
    for (const junk of ["{ half", JSON.stringify({ pid: "7", routes: [] })]) {
      const p = join(dir, "bad.json");
      writeFileSync(p, junk);
      expect(loadStateFile(p, Schema)).toBeNull();
      expect(existsSync(p)).toBe(false);
    }
  });
});

describe("writeFileAtomic", () => {
  const fresh = () => mkdtempSync(join(tmpdir(), "warren-atomic-"));

  test("replaces the content whole, with the file mode, leaving nothing else behind", () => {
    const dir = fresh();
    const path = join(dir, "users.json");
    writeFileSync(path, "old content that is longer than the new one\n");
    writeFileAtomic(path, "new\n", { file: 0o600 });
    expect(readFileSync(path, "utf8")).toBe("new\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileAtomic(path, new Uint8Array([1, 2, 3]), { file: 0o600 });
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(["users.json"]);
  });

  test("a missing folder is an error unless a folder mode is given", () => {
    const dir = fresh();
    const path = join(dir, "a", "b", "state.json");
    let err: unknown;
    try {
      writeFileAtomic(path, "x", { file: 0o644 });
    } catch (e) {
      err = e;
    }
    expect(errorCode(err)).toBe("ENOENT");
    writeFileAtomic(path, "x", { file: 0o644, dir: 0o750 });
    expect(readFileSync(path, "utf8")).toBe("x");
    expect(statSync(join(dir, "a", "b")).mode & 0o777).toBe(0o750);
  });

  test("a failed rename removes the temp file and rethrows the fs error; another writer's temp file is not touched", () => {
    const dir = fresh();
    const target = join(dir, "taken");
    mkdirSync(join(target, "inside"), { recursive: true }); // a non-empty folder cannot be renamed over
    const foreign = join(dir, `.taken.${process.pid + 1}.1.zzzz.tmp`);
    writeFileSync(foreign, "someone else's");
    let err: unknown;
    try {
      writeFileAtomic(target, "x", { file: 0o600 });
    } catch (e) {
      err = e;
    }
    expect(["EISDIR", "ENOTEMPTY", "EEXIST"]).toContain(errorCode(err) ?? "none");
    expect(readdirSync(dir).sort()).toEqual([`.taken.${process.pid + 1}.1.zzzz.tmp`, "taken"]);
    expect(readFileSync(foreign, "utf8")).toBe("someone else's");
  });

  test("temp files a crashed run left behind neither block a write nor get reused", () => {
    const dir = fresh();
    const path = join(dir, "f");
    const leftovers = ["f.tmp", `.f.${process.pid}.tmp`, `.f.${process.pid}.1.tmp`];
    for (const l of leftovers) writeFileSync(join(dir, l), "crashed");
    for (let i = 0; i < 3; i++) writeFileAtomic(path, String(i), { file: 0o600 });
    expect(readFileSync(path, "utf8")).toBe("2");
    expect(readdirSync(dir).sort()).toEqual([...leftovers, "f"].sort());
  });
});

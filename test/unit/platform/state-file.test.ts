import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { loadStateFile, saveStateFile } from "../../../src/platform/linux/state-file.ts";

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

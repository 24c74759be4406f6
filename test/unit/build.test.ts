/**
 * @module build.test
 * The release helpers of build.ts: the target table (real npm package names), the
 * SHA256SUMS format (`sha256sum -c` compatible, sorted), file hashing, and the runtime
 * cache (a cached runtime is used as is: no npm, so builds run offline once fetched).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRuntime, formatSums, RELEASE_TARGETS, runtimeDir, sha256File } from "../../build.ts";

const DIR = mkdtempSync(join(tmpdir(), "warren-build-"));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

describe("release build helpers", () => {
  test("targets: x64 and arm64 from the @oven/bun-linux-* packages", () => {
    expect(RELEASE_TARGETS.map((t) => [t.name, t.bunTarget, t.runtimePackage])).toEqual([
      ["linux-x64", "bun-linux-x64", "@oven/bun-linux-x64"],
      ["linux-arm64", "bun-linux-arm64", "@oven/bun-linux-aarch64"],
    ]);
  });

  test("SHA256SUMS lines are `<hex>  <name>`, sorted by name", () => {
    const sums = new Map([["warren-linux-x64", "b".repeat(64)], ["SHA-first", "c".repeat(64)], ["install.sh", "a".repeat(64)]]);
    expect(formatSums(sums)).toBe(`${"c".repeat(64)}  SHA-first\n${"a".repeat(64)}  install.sh\n${"b".repeat(64)}  warren-linux-x64\n`);
  });

  test("sha256File matches the known digest of 'abc'", async () => {
    const f = join(DIR, "abc");
    writeFileSync(f, "abc");
    expect(await sha256File(f)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("a cached runtime is used without npm", async () => {
    const cache = join(DIR, "cache");
    const dir = runtimeDir("@oven/bun-linux-aarch64", "9.9.9", cache);
    expect(dir).toBe(join(cache, "oven-bun-linux-aarch64-9.9.9"));
    mkdirSync(join(dir, "bin"), { recursive: true });
    writeFileSync(join(dir, "bin/bun"), "#!/bin/sh\n");
    chmodSync(join(dir, "bin/bun"), 0o755);
    // 9.9.9 does not exist on the registry: this only passes because npm is not asked.
    expect(await ensureRuntime("@oven/bun-linux-aarch64", "9.9.9", cache)).toBe(join(dir, "bin/bun"));
  });
});

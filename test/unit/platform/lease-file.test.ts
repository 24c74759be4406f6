/**
 * The lease file: atomic JSON with modes 0600/0700, readable times and addresses; a
 * missing file is silent, a corrupt or oversized one is logged and moved aside,
 * malformed entries are skipped one by one.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLeaseStore, leaseFilePath, MAX_LEASE_FILE_BYTES } from "../../../src/platform/linux/lease-file.ts";
import { parseIpv4 } from "../../../src/protocol/ip.ts";
import { recordingLogger } from "../../lib/log.ts";

const root = mkdtempSync(join(tmpdir(), "warren-leasefile-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const log = recordingLogger();
  const dir = join(root, `s${++n}`, "state");
  return { log, dir, store: new FileLeaseStore(dir, "warren0", log) };
};
const T = Date.UTC(2026, 4, 6, 7, 8, 9);

describe("FileLeaseStore", () => {
  test("round trip; folder 0700, file 0600, no temp file left; a planted temp symlink is not followed", async () => {
    const { log, dir, store } = fresh();
    expect(store.path).toBe(leaseFilePath(dir, "warren0"));
    expect(store.load()).toEqual([]);
    expect(log.lines).toEqual([]);
    const records = [
      { device: "phone", addr4: parseIpv4("10.8.0.2") as number, lastUsed: T },
      { device: "user:bob\u0000laptop", addr4: parseIpv4("10.8.0.7") as number, lastUsed: T + 1 },
    ];
    await store.save(records);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(store.path, "utf8")).leases[0]).toEqual({ device: "phone", addr: "10.8.0.2", lastUsed: "2026-05-06T07:08:09.000Z" });
    expect(store.load()).toEqual(records);
    const victim = join(root, "victim");
    writeFileSync(victim, "keep");
    symlinkSync(victim, `${store.path}.tmp`);
    await store.save(records.slice(0, 1));
    expect(readFileSync(victim, "utf8")).toBe("keep");
    expect(store.load()).toEqual(records.slice(0, 1));
    expect(readdirSync(dir).sort()).toEqual(["leases-warren0.json", "leases-warren0.json.tmp"]); // the planted link, untouched
  });

  test("not JSON, or not a lease file: logged, moved to .corrupt, ignored", () => {
    for (const junk of ["{ half", JSON.stringify({ version: 2, leases: [] }), "[]"]) {
      const { log, store, dir } = fresh();
      mkdirSync(dir, { recursive: true });
      writeFileSync(store.path, junk);
      expect(store.load()).toEqual([]);
      expect(log.at("warn").some((l) => l.startsWith(`leases: ignoring ${store.path}`) && l.includes(".corrupt"))).toBe(true);
      expect(existsSync(store.path)).toBe(false);
      expect(readFileSync(`${store.path}.corrupt`, "utf8")).toBe(junk);
    }
  });

  test("a file above the size limit is not read", () => {
    const { log, store, dir } = fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(store.path, "");
    truncateSync(store.path, MAX_LEASE_FILE_BYTES + 1);
    expect(store.load()).toEqual([]);
    expect(log.has("warn leases: ignoring", `larger than ${MAX_LEASE_FILE_BYTES} bytes`)).toBe(true);
  });

  test("malformed entries are skipped one by one, the rest kept", () => {
    const { log, store, dir } = fresh();
    mkdirSync(dir, { recursive: true });
    const good = { device: "ok", addr: "10.8.0.9", lastUsed: "2026-05-06T07:08:09.000Z" };
    const bad = [{ ...good, addr: "10.8.0.999" }, { ...good, lastUsed: "yesterday" }, { ...good, device: "" }, { ...good, device: "x".repeat(3000) }, 7];
    writeFileSync(store.path, JSON.stringify({ version: 1, leases: [good, ...bad] }));
    expect(store.load()).toEqual([{ device: "ok", addr4: parseIpv4("10.8.0.9") as number, lastUsed: T }]);
    expect(log.has("warn leases: skipped 5 malformed entries")).toBe(true);
  });
});

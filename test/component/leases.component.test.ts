/**
 * Sticky addresses across restarts, on fakes: a restart is a new Server given the same
 * lease store. Saving is debounced (never per handshake), leases age out, and a corrupt
 * lease file is logged and ignored.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLeaseStore } from "../../src/platform/linux/lease-file.ts";
import { buildHandshake, paramsText, parseParams } from "../../src/protocol/toyvpn.ts";
import { type LeaseStore, MemoryLeaseStore, SAVE_INTERVAL_MS } from "../../src/server/leases.ts";
import { recordingLogger } from "../lib/log.ts";
import { startToyServer, type ToyRig } from "../lib/server-rig.ts";

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), "warren-leases-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Wall clock of the tests (Unix ms), moved by hand. */
let wall = Date.UTC(2026, 0, 1);

async function start(store: LeaseStore, config: Record<string, unknown> = {}) {
  const log = recordingLogger();
  const rig = await startToyServer({ config, log, leases: { store, wallNow: () => wall } });
  return { ...rig, log };
}

let port = 40000;
/** Handshakes as `device` from a fresh port; returns the pushed address. */
function connect(r: ToyRig, device: string): string | undefined {
  const p = ++port;
  r.udp.receive(buildHandshake(`s3cret:${device}`), "::ffff:192.0.2.10", p);
  const reply = r.udp.take("::ffff:192.0.2.10", p)[0];
  const params = reply ? parseParams(paramsText(reply) ?? "") : null;
  return params?.ok ? params.params.addresses[0]?.address : undefined;
}

describe("leases across restarts", () => {
  test("a restart (new server, same store) gives a returning device its address; new devices avoid it", async () => {
    const store = new MemoryLeaseStore();
    const a = await start(store);
    expect(connect(a, "alpha")).toBe("10.8.0.2");
    expect(connect(a, "bravo")).toBe("10.8.0.3");
    await a.server.stop();
    const b = await start(store);
    expect(b.log.has("leases: restored 2")).toBe(true);
    expect(connect(b, "charlie")).toBe("10.8.0.4"); // not alpha's or bravo's
    expect(connect(b, "bravo")).toBe("10.8.0.3");
    expect(connect(b, "alpha")).toBe("10.8.0.2");
    await b.server.stop();
  });

  test("saves are debounced: none per handshake, one per interval with changes, none without", async () => {
    const store = new MemoryLeaseStore();
    const a = await start(store);
    for (const d of ["d1", "d2", "d3", "d4"]) connect(a, d);
    expect(store.saves).toBe(0);
    a.clock.advance(SAVE_INTERVAL_MS);
    await Bun.sleep(0);
    expect(store.saves).toBe(1);
    expect(store.records.map((r) => [r.device, r.lastUsed])).toEqual([["d1", wall], ["d2", wall], ["d3", wall], ["d4", wall]]);
    a.clock.advance(5 * SAVE_INTERVAL_MS);
    await Bun.sleep(0);
    expect(store.saves).toBe(1);
    // a "kill -9" now (no stop) keeps what was saved: a new server restores all four
    const b = await start(store);
    expect(b.log.has("leases: restored 4")).toBe(true);
    expect(connect(b, "d3")).toBe("10.8.0.4");
    await b.server.stop();
  });

  test("a lease unused for longer than --lease-max-age is not restored, and ages out of a running server", async () => {
    const store = new MemoryLeaseStore();
    const a = await start(store, { leaseMaxAge: "2d" });
    connect(a, "old");
    connect(a, "young");
    await a.server.stop(); // both last used now
    wall += DAY;
    const b = await start(store, { leaseMaxAge: "2d" });
    connect(b, "young");
    await b.server.stop();
    wall += DAY + 1000; // old: unused 2 days + 1 s; young: 1 day
    const c = await start(store, { leaseMaxAge: "2d" });
    expect(c.log.has("leases: restored 1, dropped 1")).toBe(true);
    expect(connect(c, "newcomer")).toBe("10.8.0.2"); // old's address is free again
    expect(connect(c, "old")).toBe("10.8.0.4");
    wall += 3 * DAY; // while running: young (not connected now) ages out at the next tick
    c.clock.advance(SAVE_INTERVAL_MS);
    await Bun.sleep(0);
    expect(store.records.map((r) => r.device).sort()).toEqual(["newcomer", "old"]);
    await c.server.stop();
  });

  test("a corrupt lease file is logged, moved aside and ignored; the server starts and saves a good one on stop", async () => {
    const log = recordingLogger();
    const store = new FileLeaseStore(dir, "warren0", log);
    writeFileSync(store.path, "{ not json");
    const a = await start(store);
    expect(log.has("warn leases: ignoring", store.path)).toBe(true);
    expect(existsSync(`${store.path}.corrupt`)).toBe(true);
    expect(connect(a, "phone")).toBe("10.8.0.2");
    await a.server.stop();
    const saved = JSON.parse(readFileSync(store.path, "utf8"));
    expect(saved.leases).toEqual([{ device: "phone", addr: "10.8.0.2", lastUsed: new Date(wall).toISOString() }]);
  });

  test("a failing save is logged once, the server keeps serving, and a later save recovers", async () => {
    const store = new MemoryLeaseStore();
    let fail = true;
    const flaky: LeaseStore = { load: () => store.load(), save: (r) => (fail ? Promise.reject(new Error("EROFS: read-only file system")) : store.save(r)) };
    const a = await start(flaky);
    connect(a, "x");
    a.clock.advance(SAVE_INTERVAL_MS);
    await Bun.sleep(0);
    connect(a, "y");
    a.clock.advance(SAVE_INTERVAL_MS);
    await Bun.sleep(0);
    expect(a.log.lines.filter((l) => l.includes("leases: cannot save (EROFS")).length).toBe(1);
    expect(connect(a, "z")).toBe("10.8.0.4");
    fail = false;
    await a.server.stop();
    expect(store.records.map((r) => r.device)).toEqual(["x", "y", "z"]);
    expect(a.log.has("leases: saving works again")).toBe(true);
  });
});

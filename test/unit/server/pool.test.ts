import { describe, expect, test } from "bun:test";
import { Pool4 } from "../../../src/server/pool.ts";
import { formatIpv4, parseIpv4 } from "../../../src/protocol/ip.ts";

const ip = (s: string) => parseIpv4(s) as number;
const show = (a: number | null) => (a === null ? null : formatIpv4(a));

describe("Pool4", () => {
  test("server takes the first address, clients the next ones, broadcast never", () => {
    const p = new Pool4(ip("10.8.0.0"), 29); // .0 net, .1 server, .2-.6 clients, .7 broadcast
    expect(show(p.serverAddress)).toBe("10.8.0.1");
    expect(p.capacity).toBe(5);
    const got = [1, 2, 3, 4, 5].map(() => show(p.lease(null)));
    expect(got).toEqual(["10.8.0.2", "10.8.0.3", "10.8.0.4", "10.8.0.5", "10.8.0.6"]);
    expect(p.lease(null)).toBeNull(); // exhausted
    expect(p.used).toBe(5);
  });

  test("release returns the address", () => {
    const p = new Pool4(ip("10.8.0.0"), 30); // one client address: .2
    const a = p.lease(null);
    expect(show(a)).toBe("10.8.0.2");
    expect(p.lease(null)).toBeNull();
    p.release(a as number);
    expect(show(p.lease(null))).toBe("10.8.0.2");
  });

  test("a device id gets its address back, and others avoid it while alternatives exist", () => {
    const p = new Pool4(ip("10.8.0.0"), 24);
    const a = p.lease("phone-a") as number;
    const b = p.lease("phone-b") as number;
    p.release(a);
    // Anonymous and new devices do not take phone-a's remembered address...
    const c = p.lease(null) as number;
    const d = p.lease("phone-d") as number;
    expect([c, d]).not.toContain(a);
    // ...and phone-a gets it back.
    expect(p.lease("phone-a")).toBe(a);
    expect(b).not.toBe(a);
  });

  test("remembered addresses are handed out when nothing else is free", () => {
    const p = new Pool4(ip("10.8.0.0"), 30);
    const a = p.lease("x") as number;
    p.release(a);
    expect(p.lease("y")).toBe(a);
    // now y remembers it; x gets it only when y is gone
    expect(p.lease("x")).toBeNull();
  });

  test("leaseExact for fixed addresses", () => {
    const p = new Pool4(ip("10.8.0.0"), 24);
    expect(p.leaseExact(ip("10.8.0.50"), "u")).toBe(true);
    expect(p.leaseExact(ip("10.8.0.50"), "v")).toBe(false); // in use
    expect(p.leaseExact(ip("10.8.0.1"), "v")).toBe(false); // the server's
    expect(p.leaseExact(ip("10.8.0.255"), "v")).toBe(false); // broadcast
    expect(p.leaseExact(ip("10.9.0.5"), "v")).toBe(false); // outside
  });

  test("membership", () => {
    const p = new Pool4(ip("10.8.0.0"), 24);
    expect(p.contains(ip("10.8.0.200"))).toBe(true);
    expect(p.contains(ip("10.8.1.0"))).toBe(false);
    expect(p.isClientAddress(ip("10.8.0.1"))).toBe(false);
    expect(p.isClientAddress(ip("10.8.0.254"))).toBe(true);
    expect(p.isClientAddress(ip("10.8.0.255"))).toBe(false);
  });

  test("too small a prefix is refused", () => {
    expect(() => new Pool4(ip("10.8.0.0"), 31)).toThrow(/too small/);
  });

  test("memories: oldest first, stamped at lease and release, in-use ones reported as now", () => {
    let t = 100;
    const p = new Pool4(ip("10.8.0.0"), 24, 65536, () => t);
    const a = p.lease("a") as number;
    t = 200;
    p.lease("b");
    t = 300;
    p.release(a);
    expect(p.memories(999).map((m) => [m.device, show(m.addr4), m.lastUsed])).toEqual([["a", "10.8.0.2", 300], ["b", "10.8.0.3", 999]]);
    expect(show(p.lease(null))).toBe("10.8.0.4");
    expect(p.memories(999)).toHaveLength(2); // anonymous leases are not remembered
  });

  test("restore: remembered like a lease of an earlier run; outside, server, taken or duplicate entries refused", () => {
    const p = new Pool4(ip("10.8.0.0"), 24);
    expect(p.restore("a", ip("10.8.0.9"), 50)).toBe(true);
    expect(p.restore("b", ip("10.8.0.9"), 50)).toBe(false); // address taken
    expect(p.restore("a", ip("10.8.0.10"), 50)).toBe(false); // device already there
    expect(p.restore("c", ip("10.8.0.1"), 50)).toBe(false); // the server's
    expect(p.restore("c", ip("10.9.0.5"), 50)).toBe(false); // outside (the pool changed)
    expect(p.used).toBe(0);
    expect(show(p.lease("a"))).toBe("10.8.0.9");
    const p2 = new Pool4(ip("10.8.0.0"), 30); // one address: .2
    p2.restore("a", ip("10.8.0.2"), 50);
    expect(show(p2.lease("b"))).toBe("10.8.0.2"); // nothing else free: taken anyway
  });

  test("forgetUnusedSince: drops old memories, never one in use; version moves with every change", () => {
    let t = 0;
    const p = new Pool4(ip("10.8.0.0"), 24, 65536, () => t);
    const v0 = p.version;
    p.restore("old", ip("10.8.0.20"), 10);
    p.restore("busy", ip("10.8.0.21"), 10);
    expect(p.version).toBeGreaterThan(v0);
    t = 500;
    expect(show(p.lease("busy"))).toBe("10.8.0.21");
    const v1 = p.version;
    expect(p.forgetUnusedSince(100)).toBe(1);
    expect(p.version).toBeGreaterThan(v1);
    expect(p.memories(600).map((m) => m.device)).toEqual(["busy"]);
    const v2 = p.version;
    expect(p.forgetUnusedSince(100)).toBe(0);
    expect(p.version).toBe(v2);
  });

  test("memories are bounded by rememberCap (oldest forgotten) and by the pool's addresses", () => {
    const p = new Pool4(ip("10.8.0.0"), 24, 3);
    for (const d of ["a", "b", "c", "d"]) p.release(p.lease(d) as number);
    expect(p.memories(0).map((m) => m.device)).toEqual(["b", "c", "d"]);
    const q = new Pool4(ip("10.8.0.0"), 30); // one client address
    for (const d of ["a", "b", "c"]) q.release(q.lease(d) as number);
    expect(q.memories(0).map((m) => m.device)).toEqual(["c"]);
  });

  test("an address another client borrows does not count as use by the device that remembers it", () => {
    let t = 100;
    const p = new Pool4(ip("10.8.0.0"), 30, 65536, () => t); // one client address: .2
    p.release(p.lease("x") as number); // x remembers .2, last used 100
    t = 500;
    const a = p.lease(null) as number; // nothing else free: an anonymous client borrows it
    expect(p.memories(900)).toEqual([{ device: "x", addr4: a, lastUsed: 100 }]);
    p.release(a);
    expect(p.memories(900)).toEqual([{ device: "x", addr4: a, lastUsed: 100 }]);
    expect(p.forgetUnusedSince(200)).toBe(1);
  });
});

import { describe, expect, test } from "bun:test";
import { credentialFingerprint, HandshakeLimiter, LOCKED_CHECK_INTERVAL_MS, sourceKey, TokenBucket } from "../../../src/auth/ratelimit.ts";
import { ManualClock } from "../../fakes/manual-clock.ts";

const A = "::ffff:192.0.2.10";
const B = "::ffff:192.0.2.20";

describe("sourceKey", () => {
  test("IPv4 (plain or mapped) by address, IPv6 by /64", () => {
    expect(sourceKey("::ffff:192.0.2.10")).toBe("192.0.2.10");
    expect(sourceKey("192.0.2.10")).toBe("192.0.2.10");
    expect(sourceKey("2001:db8:1:2::99")).toBe(sourceKey("2001:db8:1:2:ffff::1"));
    expect(sourceKey("2001:db8:1:2::99")).not.toBe(sourceKey("2001:db8:1:3::99"));
  });
});

describe("TokenBucket", () => {
  test("burst, then the refill rate", () => {
    const c = new ManualClock();
    const b = new TokenBucket(2, 3, c.now());
    expect([b.take(c.now()), b.take(c.now()), b.take(c.now()), b.take(c.now())]).toEqual([true, true, true, false]);
    c.advance(499);
    expect(b.take(c.now())).toBe(false);
    c.advance(1);
    expect(b.take(c.now())).toBe(true);
    c.advance(60_000);
    expect([b.take(c.now()), b.take(c.now()), b.take(c.now()), b.take(c.now())]).toEqual([true, true, true, false]);
  });
});

describe("HandshakeLimiter", () => {
  test("the Android app's pattern never trips the defaults: 3 copies, reconnect every 23 s, for an hour", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({}, c.now());
    for (let i = 0; i < 160; i++) {
      for (let k = 0; k < 3; k++) expect(l.admit(A, c.now())).toBe("ok");
      c.advance(23_000);
    }
  });

  test("per-source bucket: a burst from one address is limited, another address is not", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ perSourceRate: 1, perSourceBurst: 5, globalRate: 0 }, c.now());
    const got = Array.from({ length: 8 }, () => l.admit(A, c.now()));
    expect(got).toEqual(["ok", "ok", "ok", "ok", "ok", "rate-limited", "rate-limited", "rate-limited"]);
    expect(l.admit(B, c.now())).toBe("ok");
    c.advance(1000);
    expect(l.admit(A, c.now())).toBe("ok");
    expect(l.admit(A, c.now())).toBe("rate-limited");
  });

  test("global budget: busy beyond N a second over all sources", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ perSourceRate: 0, globalRate: 3 }, c.now());
    expect([A, B, A, B].map((a) => l.admit(a, c.now()))).toEqual(["ok", "ok", "ok", "busy"]);
    c.advance(1000);
    expect(l.admit(B, c.now())).toBe("ok");
  });

  test("lockout: 10 failures within 60 s throttle the source to one check a second for 5 minutes; others unaffected", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ perSourceRate: 0, globalRate: 0 }, c.now());
    const locked: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      expect(l.admit(A, c.now())).toBe("ok");
      locked.push(l.failure(A, 40000 + i, c.now()));
      c.advance(100);
    }
    expect(locked).toEqual([false, false, false, false, false, false, false, false, false, true]);
    expect(l.lockedOut(A, c.now())).toBe(true);
    // one check at once (a valid password from a spoofed or shared address gets through), then one a second
    expect([0, 1, 2].map(() => l.admit(A, c.now()))).toEqual(["ok", "locked-out", "locked-out"]);
    expect(l.admit(B, c.now())).toBe("ok");
    c.advance(LOCKED_CHECK_INTERVAL_MS - 1);
    expect(l.admit(A, c.now())).toBe("locked-out");
    c.advance(1);
    expect([0, 1].map(() => l.admit(A, c.now()))).toEqual(["ok", "locked-out"]);
    // a brute force from the locked source: at most one check a second over the whole lockout
    let checks = 0;
    for (let t = 0; t < 5 * 60_000 - 2000; t += 10, c.advance(10)) if (l.admit(A, c.now()) === "ok") checks++;
    expect(checks).toBeLessThanOrEqual(5 * 60);
    expect(l.lockedOut(A, c.now())).toBe(true);
    c.advance(2000);
    expect(l.lockedOut(A, c.now())).toBe(false);
    expect([0, 1, 2].map(() => l.admit(A, c.now()))).toEqual(["ok", "ok", "ok"]);
  });

  test("the app's three copies of a wrong secret (same port, same second) count as one failure", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ lockoutFailures: 3 }, c.now());
    for (let attempt = 0; attempt < 2; attempt++) {
      const print = credentialFingerprint(`wrong-secret-${attempt}`);
      for (let k = 0; k < 3; k++) expect(l.failure(A, 5000 + attempt, c.now(), print)).toBe(false);
      c.advance(5000);
    }
    expect(l.lockedOut(A, c.now())).toBe(false);
    expect(l.failure(A, 6000, c.now())).toBe(true);
  });

  test("different guesses from one port in one second each count (a flood from one socket)", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ lockoutFailures: 3 }, c.now());
    expect(["a", "b", "c"].map((g) => l.failure(A, 7000, c.now(), credentialFingerprint(g)))).toEqual([false, false, true]);
  });

  test("failures spread over more than the window do not lock; a success clears them", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ lockoutFailures: 3 }, c.now());
    l.failure(A, 1, c.now());
    l.failure(A, 2, c.now());
    c.advance(61_000);
    expect(l.failure(A, 3, c.now())).toBe(false);
    expect(l.failure(A, 4, c.now())).toBe(false);
    l.success(A);
    expect(l.failure(A, 5, c.now())).toBe(false);
    expect(l.failure(A, 6, c.now())).toBe(false);
    expect(l.failure(A, 7, c.now())).toBe(true);
  });

  test("memory is bounded: at most maxSources remembered, the oldest forgotten first", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ maxSources: 100, perSourceBurst: 1, perSourceRate: 0.001, globalRate: 0 }, c.now());
    expect(l.admit("10.0.0.0", c.now())).toBe("ok");
    expect(l.admit("10.0.0.0", c.now())).toBe("rate-limited");
    for (let i = 1; i <= 1000; i++) l.admit(`10.0.${i >> 8}.${i & 255}`, c.now());
    expect(l.size).toBe(100);
    // 10.0.0.0 was evicted, so it starts with a full bucket again
    expect(l.admit("10.0.0.0", c.now())).toBe("ok");
  });

  test("a recently seen source survives eviction (LRU, not FIFO)", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ maxSources: 3, perSourceBurst: 1, perSourceRate: 0.001, globalRate: 0 }, c.now());
    l.admit("10.0.0.1", c.now());
    l.admit("10.0.0.2", c.now());
    l.admit("10.0.0.3", c.now());
    expect(l.admit("10.0.0.1", c.now())).toBe("rate-limited"); // touched: youngest now
    l.admit("10.0.0.4", c.now()); // evicts 10.0.0.2
    expect(l.admit("10.0.0.1", c.now())).toBe("rate-limited");
    expect(l.admit("10.0.0.2", c.now())).toBe("ok");
  });
});

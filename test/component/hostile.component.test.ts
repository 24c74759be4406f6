/**
 * Issue 11, items 1-9, on fakes: what an attacker with a packet generator and a spoofed
 * source address could do to other users, and what a broken configuration or handler
 * could do to the server. Each test failed on the code before the fix.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { HandshakeLimiter } from "../../src/auth/ratelimit.ts";
import { type AuthResult, type Authenticator, SecretAuth } from "../../src/auth/secret.ts";
import { mintToken } from "../../src/auth/tokens.ts";
import { toyVpnDoor } from "../../src/server/doors/toyvpn.ts";
import { buildHandshake } from "../../src/protocol/toyvpn.ts";
import { ManualClock } from "../fakes/manual-clock.ts";
import { authRig, cheap, connect, KEY, KEY_HEX, NOW_S, PHONE_A, PHONE_B, until } from "../lib/auth-rig.ts";
import { recordingLogger } from "../lib/log.ts";
import { startToyServer } from "../lib/server-rig.ts";

const VICTIM = { address: "::ffff:198.51.100.7", port: 50001 };

describe("device ids belong to their owner", () => {
  test("another user presenting the victim's device id gets its own session and address; the victim's stay", async () => {
    const hash = await cheap("pw");
    const r = await authRig({ victim: { hash, address: "10.8.0.20" }, intruder: { hash } }, { maxClients: 2 });
    expect(await connect(r, VICTIM, "victim:pw:victim-phone")).toBe("10.8.0.20");
    const victim = r.server.sessions.all()[0];
    expect(await connect(r, PHONE_A, "intruder:pw:victim-phone")).toBe("10.8.0.2");
    expect(victim?.open).toBe(true);
    expect(r.server.sessions.size).toBe(2);
    expect(r.logs.some((l) => l.includes("reason=replaced"))).toBe(false);
    // past --max-clients the intruder is a new session like any other: refused
    expect(await connect(r, PHONE_B, "intruder:pw:other-phone", false)).toBeNull();
    expect(r.logs.some((l) => l.includes("handshake refused from 192.0.2.20:40002 reason=max-clients user=intruder"))).toBe(true);
    expect(victim?.open).toBe(true);
  });

  test("with only the shared secret there is one identity: the device id moves (documented)", async () => {
    const r = await startToyServer();
    for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret:phone"), PHONE_A.address, PHONE_A.port);
    for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret:phone"), PHONE_B.address, PHONE_B.port);
    expect(r.server.sessions.size).toBe(1);
    expect(r.server.sessions.all()[0]?.address).toBe(PHONE_B.address);
  });
});

describe("per-identity session cap", () => {
  test("a user gets at most N sessions; the next is refused with reason=identity-limit, the old ones stay", async () => {
    const r = await authRig({ alice: { hash: await cheap("pw") } }, { maxSessionsPerIdentity: 3, secret: "shared" });
    for (let i = 0; i < 3; i++) expect(await connect(r, { address: PHONE_A.address, port: 100 + i }, `alice:pw:dev${i}`)).not.toBeNull();
    expect(await connect(r, { address: PHONE_A.address, port: 200 }, "alice:pw:dev9", false)).toBeNull();
    expect(r.logs.some((l) => l.includes("reason=identity-limit user=alice"))).toBe(true);
    expect(r.server.sessions.size).toBe(3);
    // a device that already has a session may come back (from a new port)
    expect(await connect(r, { address: PHONE_A.address, port: 300 }, "alice:pw:dev1")).not.toBeNull();
    // the shared secret is not capped
    for (let i = 0; i < 5; i++) expect(await connect(r, { address: PHONE_B.address, port: 400 + i }, "shared")).not.toBeNull();
  });

  test("the default cap is 8", async () => {
    const t = mintToken({ id: "fleet", exp: NOW_S + 600 }, KEY);
    const r = await authRig({});
    for (let i = 0; i < 9; i++) await connect(r, { address: PHONE_A.address, port: 500 + i }, `${t}:d${i}`, i < 8);
    expect(r.server.sessions.countOf("token:fleet")).toBe(8);
  });
});

describe("revocation ends sessions", () => {
  test("removing a token key and reloading ends the sessions it authenticated", async () => {
    const r = await authRig({}, {});
    const other = "6b".repeat(32);
    writeFileSync(r.keyPath, `${KEY_HEX}\n${other}\n`);
    r.setup.reload();
    const t1 = mintToken({ id: "a", exp: NOW_S + 3600 }, KEY);
    const t2 = mintToken({ id: "b", exp: NOW_S + 3600 }, Uint8Array.from(Buffer.from(other, "hex")));
    expect(await connect(r, PHONE_A, t1)).not.toBeNull();
    expect(await connect(r, PHONE_B, t2)).not.toBeNull();
    writeFileSync(r.keyPath, `${other}\n`);
    expect(r.setup.reload()).toMatch(/ended 1 session$/);
    expect(r.server.sessions.all().map((s) => s.user)).toEqual(["b"]);
  });

  test("deleting a user and reloading ends her sessions", async () => {
    const hash = await cheap("pw");
    const r = await authRig({ alice: { hash }, bob: { hash } });
    expect(await connect(r, PHONE_A, "alice:pw")).not.toBeNull();
    writeFileSync(r.usersPath, JSON.stringify({ users: { bob: { hash } } }));
    expect(r.setup.reload()).toMatch(/ended 1 session$/);
    expect(r.server.sessions.size).toBe(0);
  });
});

describe("rate limits that cannot be turned against users", () => {
  test("spoofed failures from the victim's address: her right secret still connects and her live session re-handshakes", async () => {
    const r = await startToyServer({ config: { secret: "s3cret" } });
    const hs = buildHandshake("s3cret:phone");
    for (let i = 0; i < 3; i++) r.udp.receive(hs, VICTIM.address, VICTIM.port);
    const live = r.server.sessions.all()[0];
    for (let i = 0; i < 50; i++) r.udp.receive(buildHandshake(`guess-${i}`), VICTIM.address, 1000 + i);
    expect(r.toy.lockouts(r.clock.now()).map((l) => l.source)).toEqual(["198.51.100.7"]);
    r.udp.sent.length = 0;
    r.clock.advance(1500);
    for (let i = 0; i < 3; i++) r.udp.receive(hs, VICTIM.address, VICTIM.port);
    expect(r.udp.take(VICTIM.address, VICTIM.port).length).toBe(3); // the re-handshake is answered
    expect(live?.open).toBe(true);
    for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret:laptop"), VICTIM.address, 2000);
    expect(r.udp.take(VICTIM.address, 2000).length).toBe(3); // a second device behind the same address
    expect(r.server.sessions.size).toBe(2);
  });

  test("wrong secrets from 10,000 addresses exhaust nothing a valid client needs", async () => {
    const r = await startToyServer({ config: { secret: "s3cret" } });
    let n = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10_000; i++) {
        r.udp.receive(buildHandshake(`flood-${n++}`), `::ffff:10.${(i >> 8) & 255}.${i & 255}.${round + 1}`, 3000 + round);
      }
      if (round === 1) {
        for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret"), PHONE_A.address, PHONE_A.port);
        expect(r.udp.take(PHONE_A.address, PHONE_A.port).length).toBe(3);
      }
    }
    expect(r.server.stats.handshakes.rejected).toBe(30_000);
    expect(r.server.sessions.size).toBe(1);
  });

  test("forged logins from many addresses do not drain the user's bucket for her usual address; cached logins are refreshed on use", async () => {
    const r = await authRig({ alice: { hash: await cheap("pw"), handshakesPerMinute: 5 } });
    expect(await connect(r, PHONE_A, "alice:pw:phone")).not.toBeNull();
    const users = r.setup.auth.modes.users;
    for (let i = 0; i < 40; i++) {
      r.udp.receive(buildHandshake(`alice:forged-${i}`), `::ffff:203.0.113.${i + 1}`, 6000);
      await until(() => r.toy.handshaker.pendingChecks === 0, "the forged check");
    }
    expect(r.logs.some((l) => l.includes("reason=rate-limited user=alice"))).toBe(true);
    const before = users?.verifications ?? 0;
    // 9 minutes later, then 9 more: the cache entry (10 min) is refreshed by each use
    for (let k = 0; k < 2; k++) {
      r.clock.advance(9 * 60_000);
      expect(await connect(r, { ...PHONE_A, port: 7000 + k }, "alice:pw:phone")).not.toBeNull();
    }
    expect(users?.verifications).toBe(before);
  });

  test("a flood of new sources does not lift a running lockout; memory stays bounded", () => {
    const c = new ManualClock();
    const l = new HandshakeLimiter({ maxSources: 1000, lockoutFailures: 3 }, c.now());
    for (let i = 0; i < 3; i++) l.failure("192.0.2.66", i, c.now(), i);
    expect(l.lockedOut("192.0.2.66", c.now())).toBe(true);
    for (let i = 0; i < 20_000; i++) l.admit(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, c.now());
    expect(l.size).toBe(1000);
    expect(l.lockedOut("192.0.2.66", c.now())).toBe(true);
    c.advance(1000); // the flood used the second's global budget
    expect([0, 1].map(() => l.admit("192.0.2.66", c.now()))).toEqual(["ok", "locked-out"]); // still throttled
  });
});

describe("lockouts are visible", () => {
  test("lockouts lists the source with time left, unlock clears it, rejections are counted by reason", async () => {
    const r = await startToyServer({ config: { secret: "s3cret" } });
    for (let i = 0; i < 10; i++) r.udp.receive(buildHandshake(`nope-${i}`), VICTIM.address, 1000 + i);
    r.clock.advance(10_000);
    const locks = r.server.lockouts();
    expect(locks).toEqual([{ protocol: "toyvpn", source: "198.51.100.7", leftMs: 290_000 }]);
    expect(r.server.unlock("198.51.100.7")).toBe(true);
    expect(r.server.lockouts()).toEqual([]);
    expect(r.server.unlock("198.51.100.7")).toBe(false);
    expect(r.server.stats.rejections["bad-secret"]).toBe(10);
  });
});

describe("configuration and process robustness", () => {
  test("parameters that could not fit for the longest client address are refused at start, naming the limit", () => {
    const routes = Array.from({ length: 80 }, (_, i) => ({ family: 4 as const, address: (10 << 24) | (i << 16), prefixLen: 16 }));
    const settings = { listen: { host: "::", port: 8000 }, mtu: 1400, dns: ["1.1.1.1"], routes, searchDomains: [], limits: null };
    expect(() => toyVpnDoor(settings, new SecretAuth("x"))).toThrow(/need up to \d+ bytes for the longest client address, but 1023 fit in a ToyVpn datagram \(\d+ over\)/);
    expect(() => toyVpnDoor({ ...settings, routes: routes.slice(0, 40) }, new SecretAuth("x"))).not.toThrow();
  });

  test("an authenticator that throws (or rejects) costs one handshake, not the server", async () => {
    const auth: Authenticator = {
      check(credential: string): AuthResult | Promise<AuthResult> {
        if (credential === "boom") throw new Error("bug in the authenticator");
        if (credential === "reject") return Promise.reject(new Error("async bug"));
        return { ok: true, deviceId: null, user: null, fixedAddr4: null };
      },
    };
    const log = recordingLogger();
    const r = await startToyServer({ auth, log });
    r.udp.receive(buildHandshake("boom"), PHONE_A.address, 1);
    r.udp.receive(buildHandshake("reject"), PHONE_A.address, 2);
    await until(() => r.toy.handshaker.pendingChecks === 0, "the rejected check");
    for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("fine"), PHONE_B.address, PHONE_B.port);
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(3);
    expect(r.server.sessions.size).toBe(1);
    expect(log.has("credential check failed", "bug in the authenticator")).toBe(true);
    expect(log.has("credential check failed", "async bug")).toBe(true); // the rejected one too, with its stack
    expect(r.server.stats.rejections.error).toBe(2);
    expect(r.server.pool4.used).toBe(1);
  });
});

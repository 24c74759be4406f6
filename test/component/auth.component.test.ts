/**
 * Authentication through the whole server engine on fakes: users (argon2id checked
 * off the event loop), tokens, the shared secret, handshake limits and lockouts,
 * and reloads that end sessions. FakeUdp plays the clients, ManualClock the time.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { mintToken } from "../../src/auth/tokens.ts";
import { buildHandshake } from "../../src/protocol/toyvpn.ts";
import { authRig as rig, cheap, connect, KEY, NOW_S, PHONE_A, PHONE_B, until } from "../lib/auth-rig.ts";

describe("users", () => {
  test("user:password connects after an off-thread check; three copies cost one check and get three answers", async () => {
    const r = await rig({ alice: { hash: await cheap("pw-alice") } });
    const hs = buildHandshake("alice:pw-alice:phone-1");
    for (let i = 0; i < 3; i++) r.udp.receive(hs, PHONE_A.address, PHONE_A.port);
    expect(r.udp.sent.length).toBe(0); // nothing yet: the check runs off the event loop
    expect(r.toy.handshaker.pendingChecks).toBe(3);
    await until(() => r.toy.handshaker.pendingChecks === 0, "the check");
    expect(r.udp.take(PHONE_A.address, PHONE_A.port).length).toBe(3);
    expect(r.setup.auth.modes.users?.verifications).toBe(1);
    expect(r.server.stats.handshakes).toMatchObject({ ok: 1, duplicate: 2, rejected: 0 });
    const s = r.server.sessions.all()[0];
    expect(s?.user).toBe("alice");
    expect(r.logs.some((l) => l.includes("session up device=phone-1 user=alice"))).toBe(true);
    // the next reconnect (new port) hits the cache: answered at once, no new check
    r.clock.advance(23_000);
    for (let i = 0; i < 3; i++) r.udp.receive(hs, PHONE_A.address, 40009);
    expect(r.udp.take(PHONE_A.address, 40009).length).toBe(3);
    expect(r.setup.auth.modes.users?.verifications).toBe(1);
    expect(r.logs.join("\n")).not.toContain("pw-alice");
  });

  test("wrong password: no answer, a greppable line with the user, never the password", async () => {
    const r = await rig({ alice: { hash: await cheap("pw-alice") } });
    expect(await connect(r, PHONE_A, "alice:guess-123", false)).toBeNull();
    expect(r.udp.sent.length).toBe(0);
    const lines = r.logs.filter((l) => l.includes("handshake rejected from 192.0.2.10:40001 reason=bad-credentials user=alice"));
    expect(lines.length).toBe(3);
    expect(r.logs.join("\n")).not.toContain("guess-123");
    // unknown users are refused without naming them (it could be a mistyped secret)
    expect(await connect(r, PHONE_B, "my-secret:oops", false)).toBeNull();
    expect(r.logs.some((l) => l.includes("192.0.2.20:40002 reason=bad-credentials") && !l.includes("user="))).toBe(true);
    expect(r.logs.join("\n")).not.toContain("my-secret");
  });

  test("fixed addresses: reserved from the pool, one per device", async () => {
    const r = await rig({ alice: { hash: await cheap("pw"), address: ["10.8.0.2", "10.8.0.3"] } }, { secret: "shared" });
    expect(await connect(r, { address: "::ffff:192.0.2.30", port: 1 }, "shared")).toBe("10.8.0.4");
    expect(await connect(r, PHONE_A, "alice:pw:phone")).toBe("10.8.0.2");
    expect(await connect(r, PHONE_B, "alice:pw:tablet")).toBe("10.8.0.3");
    expect(await connect(r, { ...PHONE_A, port: 40100 }, "alice:pw:phone")).toBe("10.8.0.2");
  });

  test("disabling the user and reloading ends the session; re-enabling lets it back", async () => {
    const hash = await cheap("pw");
    const r = await rig({ alice: { hash }, bob: { hash } });
    expect(await connect(r, PHONE_A, "alice:pw")).not.toBeNull();
    expect(await connect(r, PHONE_B, "bob:pw")).not.toBeNull();
    writeFileSync(r.usersPath, JSON.stringify({ users: { alice: { hash, enabled: false }, bob: { hash } } }));
    expect(r.setup.reload()).toMatch(/users 2 users, 1 disabled.*ended 1 session$/);
    expect(r.server.sessions.all().map((s) => s.user)).toEqual(["bob"]);
    expect(r.logs.some((l) => l.includes("session down") && l.includes("user=alice") && l.includes("reason=revoked"))).toBe(true);
    expect(await connect(r, { ...PHONE_A, port: 5 }, "alice:pw", false)).toBeNull();
    expect(r.logs.some((l) => l.includes("reason=user-disabled user=alice"))).toBe(true);
    // a broken file keeps the old users
    writeFileSync(r.usersPath, "{ broken");
    expect(r.setup.reload()).toMatch(/users file kept as it was/);
    expect(r.server.sessions.size).toBe(1);
  });

  test("a check that resolves after the server stopped is ignored", async () => {
    const r = await rig({ alice: { hash: await cheap("pw") } });
    for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("alice:pw"), PHONE_A.address, PHONE_A.port);
    r.server.stop();
    await until(() => r.toy.handshaker.pendingChecks === 0, "the check");
    expect(r.udp.sent.length).toBe(0);
    expect(r.server.sessions.size).toBe(0);
  });
});

describe("tokens and modes together", () => {
  test("a valid token connects (with its fixed address); expired and forged ones do not", async () => {
    const r = await rig({}, { secret: "shared" });
    expect(r.setup.describe()).toMatch(/^shared secret \+ users \(0 users in .*\) \+ tokens \(key file .*, 0 revoked\)$/);
    expect(await connect(r, PHONE_A, `${mintToken({ id: "cam-1", exp: NOW_S + 60, addr: "10.8.0.50" }, KEY)}:cam`)).toBe("10.8.0.50");
    expect(r.server.sessions.all()[0]?.user).toBe("cam-1");
    expect(await connect(r, PHONE_B, mintToken({ id: "old", exp: NOW_S - 1 }, KEY), false)).toBeNull();
    expect(r.logs.some((l) => l.includes("reason=expired-token user=old"))).toBe(true);
    const forged = mintToken({ id: "x", exp: NOW_S + 60 }, new Uint8Array(32));
    expect(await connect(r, { ...PHONE_B, port: 2 }, forged, false)).toBeNull();
    expect(r.logs.some((l) => l.includes("reason=bad-token"))).toBe(true);
    expect(r.logs.join("\n")).not.toContain(forged);
    expect(await connect(r, { ...PHONE_B, port: 3 }, "shared")).not.toBeNull();
  });

  test("revoking a token on reload ends its session and refuses it from then on", async () => {
    const r = await rig({}, { revoked: true });
    const t = mintToken({ id: "lost-phone", exp: NOW_S + 600 }, KEY);
    expect(await connect(r, PHONE_A, t)).not.toBeNull();
    writeFileSync(join(r.dir, "revoked"), "# lost\nlost-phone\n");
    expect(r.setup.reload()).toMatch(/tokens: 1 revoked; ended 1 session$/);
    expect(r.logs.some((l) => l.includes("session down") && l.includes("user=lost-phone") && l.includes("reason=revoked"))).toBe(true);
    expect(await connect(r, PHONE_B, t, false)).toBeNull();
    expect(r.logs.some((l) => l.includes("reason=revoked-token user=lost-phone"))).toBe(true);
  });
});

describe("handshake limits", () => {
  test("ten failures lock a source to one password check a second (logged once); a valid password from it still gets in", async () => {
    const r = await rig({ alice: { hash: await cheap("pw") }, bob: { hash: await cheap("bob-pw") } }, { secret: "shared" });
    for (let i = 0; i < 10; i++) r.udp.receive(buildHandshake(`wrong-${i}`), PHONE_A.address, 41000 + i);
    expect(r.logs.filter((l) => l.includes("handshake source 192.0.2.10 locked out for 300 s")).length).toBe(1);
    // someone spoofed (or shares) the address: alice's first login from it is checked and connects
    expect(await connect(r, { ...PHONE_A, port: 42000 }, "alice:pw")).not.toBeNull();
    expect(r.setup.auth.modes.users?.verifications).toBe(1);
    // a guesser behind the locked address gets one check a second, the rest unanswered
    for (let i = 0; i < 20; i++) r.udp.receive(buildHandshake(`bob:guess-${i}`), PHONE_A.address, 43000 + i);
    await until(() => r.toy.handshaker.pendingChecks === 0, "the checks");
    expect(r.setup.auth.modes.users?.verifications).toBe(1); // the same second as alice's check: none
    r.clock.advance(1000);
    for (let i = 20; i < 40; i++) r.udp.receive(buildHandshake(`bob:guess-${i}`), PHONE_A.address, 43000 + i);
    await until(() => r.toy.handshaker.pendingChecks === 0, "the checks");
    expect(r.setup.auth.modes.users?.verifications).toBe(2);
    expect(r.logs.some((l) => l.includes("reason=locked-out user=bob"))).toBe(true);
    expect(r.server.stats.rejections["locked-out"]).toBe(39);
    expect(await connect(r, PHONE_B, "bob:bob-pw")).not.toBeNull(); // other sources are not throttled
    r.clock.advance(5 * 60_000);
    expect(r.server.lockouts()).toEqual([]);
  });

  test("a burst of password checks beyond the per-source bucket is rate-limited, unanswered; the shared secret is not", async () => {
    const hash = await cheap("pw");
    const users = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`u${i}`, { hash }]));
    const r = await rig(users, { secret: "shared", handshakeRate: 1, lockoutFailures: 0 });
    for (let i = 0; i < 25; i++) {
      r.udp.receive(buildHandshake(`u${i}:pw`), PHONE_A.address, 43000 + i);
      await until(() => r.toy.handshaker.pendingChecks === 0, "the check");
    }
    expect(r.server.sessions.size).toBe(20);
    expect(r.server.stats.handshakes.limited).toBe(5);
    expect(r.logs.some((l) => l.includes("reason=rate-limited"))).toBe(true);
    for (let i = 0; i < 25; i++) r.udp.receive(buildHandshake("shared"), PHONE_A.address, 44000 + i);
    expect(r.server.sessions.size).toBe(45);
  });
});

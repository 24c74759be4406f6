import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileUsers, parseUsersFile, readUsersFile, type UserRecord, writeUsersFile } from "../../../src/auth/users-file.ts";
import { parseUserCredential, UsersAuth } from "../../../src/auth/users.ts";
import type { AuthResult } from "../../../src/auth/secret.ts";
import { Pool4 } from "../../../src/server/pool.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { ManualClock } from "../../fakes/manual-clock.ts";

/** A cheap argon2id hash for tests (real servers use warren user add's cost). */
const cheap = (pw: string) => Bun.password.hash(pw, { algorithm: "argon2id", memoryCost: 256, timeCost: 1 });
const HASH = "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
const pool = new Pool4(0x0a080000, 24);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

function rec(name: string, hash: string, extra: Partial<UserRecord> = {}): UserRecord {
  return { name, hash, enabled: true, addrs4: [], perMinute: null, ...extra };
}

describe("users file validation", () => {
  test("a good file compiles: addresses as numbers, enabled by default", () => {
    const f = parseUsersFile({ users: { alice: { hash: HASH, address: "10.8.0.10" }, bob: { hash: HASH, address: ["10.8.0.11", "10.8.0.12"], enabled: false, handshakesPerMinute: 5 } } });
    const u = compileUsers(f, pool);
    expect(u.get("alice")).toEqual({ name: "alice", hash: HASH, enabled: true, addrs4: [0x0a08000a], perMinute: null });
    expect(u.get("bob")).toEqual({ name: "bob", hash: HASH, enabled: false, addrs4: [0x0a08000b, 0x0a08000c], perMinute: 5 });
  });

  test("each error names the field", () => {
    const cases: [unknown, string, RegExp][] = [
      [{ users: { alice: { hash: "plaintext" } } }, "users.alice.hash", /argon2id hash/],
      [{ users: { alice: {} } }, "users.alice.hash", /password hash/],
      [{ users: { alice: { hash: HASH, address: "10.8.0" } } }, "users.alice.address", /IPv4 address/],
      [{ users: { alice: { hash: HASH, enabled: "no" } } }, "users.alice.enabled", /true or false/],
      [{ users: { alice: { hash: HASH, handshakesPerMinute: 0 } } }, "users.alice.handshakesPerMinute", /at least 1/],
      [{ users: { alice: { hash: HASH, pasword: "x" } } }, "users.alice.pasword", /unknown/],
      [{ users: { "a:b": { hash: HASH } } }, "users", /bad user name "a:b"/],
      [{ user: {} }, "user", /unknown/],
      [[], "users", /missing/],
      ["text", "config", /JSON object/],
    ];
    for (const [data, field, msg] of cases) {
      const e = configError(() => parseUsersFile(data, "u.json"));
      expect({ data, msg: e.message }).toEqual({ data, msg: expect.stringContaining(`${field}`) });
      expect(e.message).toMatch(msg);
      expect(e.message.startsWith("users file u.json: ")).toBe(true);
      expect(e.message).not.toContain("\n");
    }
  });

  test("addresses must be client addresses of the pool and belong to one user", () => {
    const out = parseUsersFile({ users: { alice: { hash: HASH, address: "10.9.0.5" } } });
    expect(configError(() => compileUsers(out, pool, "u.json")).message).toMatch(/users\.alice\.address: 10\.9\.0\.5 is not a client address of the pool/);
    const server = parseUsersFile({ users: { alice: { hash: HASH, address: "10.8.0.1" } } });
    expect(configError(() => compileUsers(server, pool)).message).toMatch(/server's or the broadcast/);
    const twice = parseUsersFile({ users: { alice: { hash: HASH, address: "10.8.0.9" }, bob: { hash: HASH, address: ["10.8.0.9"] } } });
    expect(configError(() => compileUsers(twice, pool)).message).toMatch(/users\.bob\.address: 10\.8\.0\.9 is also the address of user alice/);
  });

  test("files: missing, not JSON, written atomically with mode 0600 and read back", () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-users-"));
    const path = join(dir, "users.json");
    expect(configError(() => readUsersFile(path)).message).toMatch(/cannot read it: no such file or directory$/);
    expect(readUsersFile(path, true)).toEqual({ users: {} });
    writeFileSync(path, "{ nope");
    expect(configError(() => readUsersFile(path)).message).toMatch(/not valid JSON/);
    writeUsersFile(path, { users: { alice: { hash: HASH } } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readUsersFile(path)).toEqual({ users: { alice: { hash: HASH } } });
    expect(readdirSync(dir)).toEqual(["users.json"]); // no temp file left
  });
});

describe("credentials", () => {
  test("user:password and user:password:deviceid; anything else is not a user credential", () => {
    expect(parseUserCredential("alice:pw")).toEqual({ user: "alice", password: "pw", deviceId: null });
    expect(parseUserCredential("alice:pw:phone")).toEqual({ user: "alice", password: "pw", deviceId: "phone" });
    for (const c of ["alice", "alice:", ":pw", "a:b:c:d"]) expect(parseUserCredential(c)).toBeNull();
  });
});

describe("UsersAuth with real argon2id", () => {
  test("right password: ok with user, device id, fixed address, grant; wrong one: refused with the user", async () => {
    const hash = await cheap("correct horse");
    const auth = new UsersAuth(new Map([["alice", rec("alice", hash, { addrs4: [0x0a08000a] })]]), new ManualClock());
    expect(await auth.check("alice:correct horse:phone-1")).toEqual({
      ok: true, deviceId: "phone-1", user: "alice", fixedAddr4: 0x0a08000a, grant: { kind: "user", id: "alice", hash },
    });
    expect(await auth.check("alice:wrong")).toEqual({ ok: false, reason: "bad-credentials", user: "alice" });
  });
});

/** A verify function whose results the test releases by hand. */
function manualVerify() {
  const calls: Array<{ password: string; resolve: (ok: boolean) => void }> = [];
  const verify = (password: string) => new Promise<boolean>((resolve) => calls.push({ password, resolve }));
  const settle = async (i: number, ok: boolean) => {
    calls[i]?.resolve(ok);
    await new Promise((r) => setTimeout(r, 0)); // let every promise chain run
  };
  return { calls, verify, settle };
}

describe("UsersAuth scheduling and caching", () => {
  const users = new Map([["alice", rec("alice", "H1")], ["bob", rec("bob", "H2", { enabled: false })], ["carol", rec("carol", "H3", { perMinute: 2 })]]);

  test("unknown user, disabled user, bad device id: refused at once, no hash check, unknown names not echoed", () => {
    const m = manualVerify();
    const auth = new UsersAuth(users, new ManualClock(), { verify: m.verify });
    expect(auth.check("mallory:pw")).toEqual({ ok: false, reason: "bad-credentials" });
    expect(auth.check("bob:pw")).toEqual({ ok: false, reason: "user-disabled", user: "bob" });
    expect(auth.check("alice:pw:bad id")).toEqual({ ok: false, reason: "bad-device-id", user: "alice" });
    expect(m.calls.length).toBe(0);
  });

  test("the app's three copies share one check; later logins hit the cache (synchronously) until the TTL", async () => {
    const clock = new ManualClock();
    const m = manualVerify();
    const auth = new UsersAuth(users, clock, { verify: m.verify, cacheTtlMs: 60_000 });
    const copies = [auth.check("alice:pw"), auth.check("alice:pw"), auth.check("alice:pw:dev")];
    expect(m.calls.length).toBe(1);
    await m.settle(0, true);
    const results = await Promise.all(copies);
    expect(results.map((r) => r.ok && r.deviceId)).toEqual([null, null, "dev"]);
    const again = auth.check("alice:pw");
    expect(again instanceof Promise).toBe(false);
    expect(again).toMatchObject({ ok: true, user: "alice" });
    clock.advance(60_000);
    expect(auth.check("alice:pw") instanceof Promise).toBe(true);
    expect(auth.verifications).toBe(2);
  });

  test("a failed password is cached too, briefly", async () => {
    const clock = new ManualClock();
    const m = manualVerify();
    const auth = new UsersAuth(users, clock, { verify: m.verify, failCacheTtlMs: 10_000 });
    const p = auth.check("alice:nope");
    await m.settle(0, false);
    expect(await p).toEqual({ ok: false, reason: "bad-credentials", user: "alice" });
    expect(auth.check("alice:nope")).toEqual({ ok: false, reason: "bad-credentials", user: "alice" });
    clock.advance(10_000);
    expect(auth.check("alice:nope") instanceof Promise).toBe(true);
  });

  test("bounded: maxInFlight run, maxQueued wait, the rest is busy; per source at most maxPerSource", async () => {
    const m = manualVerify();
    const auth = new UsersAuth(users, new ManualClock(), { verify: m.verify, maxInFlight: 2, maxQueued: 1, maxPerSource: 2, defaultPerMinute: 1000 });
    const a = auth.check("alice:p1", "198.51.100.1");
    const b = auth.check("alice:p2", "198.51.100.1");
    expect(auth.check("alice:p3", "198.51.100.1")).toEqual({ ok: false, reason: "busy", user: "alice" });
    const c = auth.check("alice:p4", "198.51.100.2");
    expect(auth.check("alice:p5", "198.51.100.3")).toEqual({ ok: false, reason: "busy", user: "alice" });
    expect(m.calls.length).toBe(2);
    expect(auth.pending).toBe(3);
    await m.settle(0, false);
    expect(m.calls.length).toBe(3); // the queued one started
    await m.settle(1, false);
    await m.settle(2, true);
    expect((await Promise.all([a, b, c])).map((r: AuthResult) => r.ok)).toEqual([false, false, true]);
    expect(auth.pending).toBe(0);
  });

  test("per-user limit: password checks per minute (handshakesPerMinute)", async () => {
    const clock = new ManualClock();
    const m = manualVerify();
    const auth = new UsersAuth(users, clock, { verify: m.verify });
    const first = [auth.check("carol:a", "s1"), auth.check("carol:b", "s2")];
    expect(auth.check("carol:c", "s3")).toEqual({ ok: false, reason: "rate-limited", user: "carol" });
    clock.advance(30_000);
    expect(auth.check("carol:d", "s4") instanceof Promise).toBe(true);
    for (let i = 0; i < m.calls.length; i++) await m.settle(i, false);
    await Promise.all(first);
  });

  test("a reload during a check decides: disabled or new password -> refused", async () => {
    const m = manualVerify();
    const auth = new UsersAuth(users, new ManualClock(), { verify: m.verify });
    const p = auth.check("alice:pw");
    auth.setUsers(new Map([["alice", rec("alice", "H1", { enabled: false })]]));
    await m.settle(0, true);
    expect(await p).toEqual({ ok: false, reason: "user-disabled", user: "alice" });
    auth.setUsers(new Map([["alice", rec("alice", "H1-new")]]));
    const q = auth.check("alice:pw2");
    auth.setUsers(new Map([["alice", rec("alice", "H1-newer")]]));
    await m.settle(1, true);
    expect(await q).toEqual({ ok: false, reason: "bad-credentials", user: "alice" });
    // the cached success of the old password does not survive a password change
    expect(auth.check("alice:pw") instanceof Promise).toBe(true);
  });

  test("allows(): a session's grant ends when its user is deleted, disabled or given a new password", () => {
    const auth = new UsersAuth(users, new ManualClock());
    const g = { kind: "user", id: "alice", hash: "H1" } as const;
    expect(auth.allows(g)).toBe(true);
    auth.setUsers(new Map([["alice", rec("alice", "H1", { enabled: false })]]));
    expect(auth.allows(g)).toBe(false);
    auth.setUsers(new Map([["alice", rec("alice", "H9")]]));
    expect(auth.allows(g)).toBe(false);
    auth.setUsers(new Map());
    expect(auth.allows(g)).toBe(false);
  });
});

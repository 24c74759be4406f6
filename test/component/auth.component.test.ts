/**
 * Authentication through the whole server engine on fakes: users (argon2id checked
 * off the event loop), tokens, the shared secret, handshake limits and lockouts,
 * and reloads that end sessions. FakeUdp plays the clients, ManualClock the time.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuthSetup } from "../../src/auth/setup.ts";
import { mintToken } from "../../src/auth/tokens.ts";
import { validate } from "../../src/config/load.ts";
import { ServerConfigSchema } from "../../src/config/server-schema.ts";
import { Pool4 } from "../../src/server/pool.ts";
import type { Server } from "../../src/server/server.ts";
import type { ToyVpnDoor } from "../../src/server/doors/toyvpn.ts";
import { buildHandshake, paramsText, parseParams } from "../../src/protocol/toyvpn.ts";
import type { FakeUdp } from "../fakes/fake-udp.ts";
import { ManualClock } from "../fakes/manual-clock.ts";
import { recordingLogger } from "../lib/log.ts";
import { startToyServer } from "../lib/server-rig.ts";
import { waitFor } from "../lib/wait.ts";

const PHONE_A = { address: "::ffff:192.0.2.10", port: 40001 };
const PHONE_B = { address: "::ffff:192.0.2.20", port: 40002 };
const KEY_HEX = "5a".repeat(32);
const KEY = Uint8Array.from(Buffer.from(KEY_HEX, "hex"));
const NOW_S = 1_800_000_000;

const cheap = (pw: string) => Bun.password.hash(pw, { algorithm: "argon2id", memoryCost: 256, timeCost: 1 });

interface Rig {
  server: Server;
  toy: ToyVpnDoor;
  setup: AuthSetup;
  udp: FakeUdp;
  clock: ManualClock;
  logs: string[];
  usersPath: string;
  dir: string;
}

let rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs) {
    r.setup.stop();
    r.server.stop();
  }
  rigs = [];
});

async function rig(users: Record<string, unknown>, settings: Record<string, unknown> = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "warren-auth-"));
  const usersPath = join(dir, "users.json");
  writeFileSync(usersPath, JSON.stringify({ users }), { mode: 0o600 });
  const keyPath = join(dir, "key");
  writeFileSync(keyPath, `${KEY_HEX}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "revoked"), "");
  if (settings.revoked === true) settings = { ...settings, revoked: join(dir, "revoked") };
  const clock = new ManualClock();
  const log = recordingLogger();
  const raw = { secret: undefined, users: usersPath, tokenKeyFile: keyPath, ...settings };
  const config = validate(ServerConfigSchema, raw);
  const setup = AuthSetup.load(config, { clock, log, pool: new Pool4(config.pool.address, config.pool.prefixLen), wallNow: () => NOW_S * 1000 });
  const { server, toy, udp } = await startToyServer({ config: raw, auth: setup.auth, reloadable: setup, clock, log });
  setup.attach(server);
  const r = { server, toy, setup, udp, clock, logs: log.lines, usersPath, dir };
  rigs.push(r);
  return r;
}

/** Sends the app's three copies and returns the parameter answers that arrive (after any check). */
async function connect(r: Rig, ep: { address: string; port: number }, credential: string, expectAnswer = true): Promise<string | null> {
  const hs = buildHandshake(credential);
  for (let i = 0; i < 3; i++) r.udp.receive(hs, ep.address, ep.port);
  if (expectAnswer) await waitFor("an answer", () => r.udp.sent.some((d) => d.port === ep.port));
  else {
    await waitFor("the checks", () => r.toy.handshaker.pendingChecks === 0);
    await Bun.sleep(20);
  }
  const replies = r.udp.take(ep.address, ep.port);
  if (replies.length === 0) return null;
  expect(replies.length).toBe(3);
  const p = parseParams(paramsText(replies[0] as Uint8Array) as string);
  if (!p.ok) throw new Error(p.error);
  return p.params.addresses[0]?.address ?? null;
}

describe("users", () => {
  test("user:password connects after an off-thread check; three copies cost one check and get three answers", async () => {
    const r = await rig({ alice: { hash: await cheap("pw-alice") } });
    const hs = buildHandshake("alice:pw-alice:phone-1");
    for (let i = 0; i < 3; i++) r.udp.receive(hs, PHONE_A.address, PHONE_A.port);
    expect(r.udp.sent.length).toBe(0); // nothing yet: the check runs off the event loop
    expect(r.toy.handshaker.pendingChecks).toBe(3);
    await waitFor("the check", () => r.toy.handshaker.pendingChecks === 0);
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
    await waitFor("the check", () => r.toy.handshaker.pendingChecks === 0);
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
  test("ten failures lock a source out (logged once); the right secret from it is then refused; others are fine", async () => {
    const r = await rig({}, { secret: "shared" });
    for (let i = 0; i < 10; i++) r.udp.receive(buildHandshake(`wrong-${i}`), PHONE_A.address, 41000 + i);
    expect(r.logs.filter((l) => l.includes("handshake source 192.0.2.10 locked out for 300 s")).length).toBe(1);
    r.udp.receive(buildHandshake("shared"), PHONE_A.address, 42000);
    expect(r.udp.sent.length).toBe(0);
    expect(r.logs.some((l) => l.includes("handshake rejected from 192.0.2.10:42000 reason=locked-out"))).toBe(true);
    expect(await connect(r, PHONE_B, "shared")).not.toBeNull();
    r.clock.advance(5 * 60_000);
    expect(await connect(r, { ...PHONE_A, port: 42001 }, "shared")).not.toBeNull();
    expect(r.server.stats.handshakes.limited).toBe(1);
  });

  test("a burst beyond the per-source bucket is rate-limited, unanswered", async () => {
    const r = await rig({}, { secret: "shared", handshakeRate: 1, lockoutFailures: 0 });
    for (let i = 0; i < 25; i++) r.udp.receive(buildHandshake("shared"), PHONE_A.address, 43000 + i);
    expect(r.server.sessions.size).toBe(20);
    expect(r.server.stats.handshakes.limited).toBe(5);
    expect(r.logs.some((l) => l.includes("reason=rate-limited"))).toBe(true);
  });
});

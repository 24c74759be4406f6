/**
 * @module test/lib/auth-rig
 * The server with users, tokens and (optionally) a shared secret, on fakes: the users
 * file and key file in a temp folder, AuthSetup attached as `warren server` does it.
 * `connect` sends the app's three handshake copies and returns the pushed address.
 */
import { afterEach, expect } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuthSetup } from "../../src/auth/setup.ts";
import { validate } from "../../src/config/load.ts";
import { ServerConfigSchema } from "../../src/config/server-schema.ts";
import { Pool4 } from "../../src/server/pool.ts";
import type { Server } from "../../src/server/server.ts";
import type { ToyVpnDoor } from "../../src/server/doors/toyvpn.ts";
import { buildHandshake, paramsText, parseParams } from "../../src/protocol/toyvpn.ts";
import type { FakeUdp } from "../fakes/fake-udp.ts";
import { ManualClock } from "../fakes/manual-clock.ts";
import { recordingLogger } from "./log.ts";
import { startToyServer } from "./server-rig.ts";
import { waitFor } from "./wait.ts";

export const PHONE_A = { address: "::ffff:192.0.2.10", port: 40001 };
export const PHONE_B = { address: "::ffff:192.0.2.20", port: 40002 };
export const KEY_HEX = "5a".repeat(32);
export const KEY = Uint8Array.from(Buffer.from(KEY_HEX, "hex"));
/** Wall-clock "now" of the rig's tokens, Unix seconds. */
export const NOW_S = 1_800_000_000;

/** A fast argon2id hash for tests. */
export const cheap = (pw: string) => Bun.password.hash(pw, { algorithm: "argon2id", memoryCost: 256, timeCost: 1 });

/** A running server with its auth setup. */
export interface AuthRig {
  server: Server;
  toy: ToyVpnDoor;
  setup: AuthSetup;
  udp: FakeUdp;
  clock: ManualClock;
  logs: string[];
  usersPath: string;
  keyPath: string;
  dir: string;
}

let rigs: AuthRig[] = [];
afterEach(() => {
  for (const r of rigs) {
    r.setup.stop();
    r.server.stop();
  }
  rigs = [];
});

/** A server with `users` in its users file and the test key; `settings` are more config keys (`revoked: true` = a revocation file). */
export async function authRig(users: Record<string, unknown>, settings: Record<string, unknown> = {}): Promise<AuthRig> {
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
  const r = { server, toy, setup, udp, clock, logs: log.lines, usersPath, keyPath, dir };
  rigs.push(r);
  return r;
}

/** Waits (bounded) until `cond` holds, letting the off-thread checks finish. */
export const until = (cond: () => boolean, what: string) => waitFor(what, cond);

/** Sends the app's three copies and returns the parameter answers that arrive (after any check). */
export async function connect(r: AuthRig, ep: { address: string; port: number }, credential: string, expectAnswer = true): Promise<string | null> {
  const hs = buildHandshake(credential);
  for (let i = 0; i < 3; i++) r.udp.receive(hs, ep.address, ep.port);
  if (expectAnswer) await until(() => r.udp.sent.some((d) => d.port === ep.port), "an answer");
  else {
    await until(() => r.toy.handshaker.pendingChecks === 0, "the checks");
    await Bun.sleep(20);
  }
  const replies = r.udp.take(ep.address, ep.port);
  if (replies.length === 0) return null;
  expect(replies.length).toBe(3);
  const p = parseParams(paramsText(replies[0] as Uint8Array) as string);
  if (!p.ok) throw new Error(p.error);
  return p.params.addresses[0]?.address ?? null;
}

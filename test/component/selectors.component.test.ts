/**
 * `warren kick` / `capture` selectors over the real control socket (admin/ops.ts) on a
 * server on fakes: a device id that looks like another client's tunnel address no longer
 * makes `kick 10.8.0.3` end the wrong session, and kicking every session from one IP
 * takes an explicit --all; `warren lockouts` / `unlock`. Temp folder for the socket; no root.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlRequest } from "../../src/admin/control-client.ts";
import { Ops } from "../../src/admin/ops.ts";
import { runAdmin } from "../../src/cli/admin.ts";
import { runLockouts, runUnlock } from "../../src/cli/lockouts.ts";
import { buildHandshake, paramsText, parseParams } from "../../src/protocol/toyvpn.ts";
import { quietLogger } from "../lib/log.ts";
import { startToyServer, type ToyRig } from "../lib/server-rig.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-sel-"));
const sock = join(dir, "warren.sock");
let r: ToyRig;
let ops: Ops;
let again = "";

function connect(credential: string, address: string, port: number): string {
  const hs = buildHandshake(credential);
  for (let i = 0; i < 3; i++) r.udp.receive(hs, address, port);
  const p = parseParams(paramsText(r.udp.take(address, port)[0] as Uint8Array) as string);
  if (!p.ok) throw new Error(p.error);
  return p.params.addresses[0]?.address ?? "";
}
const connected = () => r.server.sessions.all().map((s) => s.label).sort();

beforeAll(async () => {
  r = await startToyServer({ config: { secret: "s3cret", controlSocket: sock } });
  ops = await Ops.prepare({ config: r.config, reloadConfig: () => r.config, configFile: null, now: () => r.clock.now(), log: quietLogger });
  ops.start(r.server);
  expect(connect("s3cret:phone1", "::ffff:192.0.2.10", 40001)).toBe("10.8.0.2");
  expect(connect("s3cret:10.8.0.4", "::ffff:192.0.2.20", 40002)).toBe("10.8.0.3"); // a device id that reads as an address
  again = connect("s3cret", "::ffff:192.0.2.20", 40003); // back, as #4
});

afterAll(async () => {
  r.server.stop();
  await ops.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a bare target with two meanings is refused, naming both; explicit forms pick one", async () => {
  await expect(controlRequest(sock, { cmd: "kick", target: "10.8.0.4" })).rejects.toThrow(/"10\.8\.0\.4" is ambiguous: #2 10\.8\.0\.4 10\.8\.0\.3 .*\(by id\); #3 10\.8\.0\.4 .*\(by addr\); name one as #N, id:NAME, addr:ADDRESS/);
  await expect(controlRequest(sock, { cmd: "capture-start", target: "10.8.0.4", file: join(dir, "x.pcap") })).rejects.toThrow(/ambiguous/);
  expect(connected()).toEqual(["#3", "10.8.0.4", "phone1"]);
  expect((await controlRequest(sock, { cmd: "kick", target: "addr:10.8.0.4" })).kicked).toEqual([{ id: "#3", address: "10.8.0.4" }]);
  expect(connected()).toEqual(["10.8.0.4", "phone1"]);
  again = connect("s3cret", "::ffff:192.0.2.20", 40003); // back, as #4
});

test("every session from one IP: refused without --all, kicked with it", async () => {
  const out: string[] = [];
  await expect(runAdmin("kick", ["192.0.2.20", "--control-socket", sock], {}, (t) => void out.push(t))).rejects.toThrow(/"192\.0\.2\.20" matches 2 clients: .*; name one as .*, or kick them all with --all/);
  expect(connected().length).toBe(3);
  expect(await runAdmin("kick", ["--all", "endpoint:192.0.2.20", "--control-socket", sock], {}, (t) => void out.push(t))).toBe(0);
  expect(out.sort()).toEqual([`kicked #4 (${again})`, "kicked 10.8.0.4 (10.8.0.3)"]);
  expect(connected()).toEqual(["phone1"]);
  expect((await controlRequest(sock, { cmd: "kick", target: "phone1" })).kicked).toEqual([{ id: "phone1", address: "10.8.0.2" }]);
});

test("warren lockouts / unlock over the socket: the locked source with time left, unlocked, a bad address refused", async () => {
  const out: string[] = [];
  const say = (t: string) => void out.push(t);
  for (let i = 0; i < 10; i++) r.udp.receive(buildHandshake(`wrong-${i}`), "::ffff:198.51.100.77", 45000 + i);
  r.clock.advance(30_000);
  expect(await runLockouts(["--control-socket", sock], {}, say)).toBe(0);
  expect(out).toEqual(["198.51.100.77              270 s left  (toyvpn)"]);
  expect(await runUnlock(["198.51.100.77", "--control-socket", sock], {}, say)).toBe(0);
  expect(await runUnlock(["198.51.100.77", "--control-socket", sock], {}, say)).toBe(0);
  expect(await runLockouts(["--control-socket", sock], {}, say)).toBe(0);
  expect(out.slice(1)).toEqual(["unlocked 198.51.100.77", "198.51.100.77 was not locked out", "no source is locked out"]);
  await expect(runUnlock(["not-an-address", "--control-socket", sock], {}, say)).rejects.toThrow(/unlock: expected an IPv4 address, or an IPv6 address or \/64 \(got "not-an-address"\)/);
  expect(r.server.stats.rejections["bad-secret"]).toBeGreaterThanOrEqual(10);
});

/**
 * --capture-dir through the operator tools (admin/ops.ts) on a server on fakes: a client
 * that reconnects several times within one second gets a capture file each time, and the
 * folder's cap (--capture-dir-max) is checked when a capture starts: the oldest of
 * warren's finished files go, nothing else. Real files in a temp folder; no root.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ops } from "../../src/admin/ops.ts";
import { serverConfigFromArgs } from "../../src/cli/server.ts";
import { validate } from "../../src/config/load.ts";
import { ServerConfigSchema } from "../../src/config/server-schema.ts";
import { buildHandshake } from "../../src/protocol/toyvpn.ts";
import { recordingLogger } from "../lib/log.ts";
import { startToyServer } from "../lib/server-rig.ts";
import { waitFor } from "../lib/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-capdir-ops-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("--capture-dir-max: a size (default 1G), as flag and config key", () => {
  const cfg = serverConfigFromArgs(["--secret", "x", "--capture-dir", dir, "--capture-dir-max", "2M"], {});
  expect(cfg !== "help" && cfg.captureDirMax).toBe(2 * 1024 * 1024);
  expect(validate(ServerConfigSchema, { secret: "x" }).captureDirMax).toBe(1024 ** 3);
  expect(() => validate(ServerConfigSchema, { secret: "x", captureDirMax: "lots" })).toThrow(/captureDirMax: expected a size/);
});

test("reconnects within one second each get their own file; the cap is checked at capture start", async () => {
  const caps = join(dir, "caps");
  const raw = { secret: "s3cret", captureDir: caps, captureDirMax: "300K", controlSocket: join(dir, "ctl.sock") };
  const log = recordingLogger();
  const r = await startToyServer({ config: raw, log });
  const ops = await Ops.prepare({ config: r.config, reloadConfig: () => r.config, configFile: null, now: () => r.clock.now(), log });
  ops.start(r.server);
  try {
    // leftovers of earlier runs: two old captures (200K each) and a file that is not warren's
    const old1 = join(caps, "gone-20250101T000000Z.pcap");
    const old2 = join(caps, "kept-20250102T000000Z.pcap");
    const foreign = join(caps, "evidence.pcap");
    for (const [p, age] of [[old1, 2], [old2, 1], [foreign, 3]] as const) {
      writeFileSync(p, new Uint8Array(200 * 1024));
      const t = Date.now() / 1000 - age * 3600;
      utimesSync(p, t, t);
    }
    const hs = buildHandshake("s3cret:phone-a");
    const t0 = Date.now();
    for (let port = 40001; port <= 40004; port++) r.udp.receive(hs, "::ffff:192.0.2.10", port); // the same device, four endpoints
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.server.sessions.size).toBe(1);
    expect(log.lines.filter((l) => l.includes("not started"))).toEqual([]);
    const mine = () => readdirSync(caps).filter((f) => f.startsWith("phone-a-")).sort();
    expect(mine().length).toBe(4);
    await waitFor("the cap check at start", () => !existsSync(old1), { timeoutMs: 2000 }); // the periodic check comes only after 5 s
    expect(existsSync(old2)).toBe(true); // 200K + four small captures fit in 300K
    expect(existsSync(foreign)).toBe(true);
  } finally {
    r.server.stop();
    await ops.stop();
  }
});

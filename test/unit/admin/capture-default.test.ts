/**
 * admin/commands: where `capture start` writes without --file. The state directory's
 * `captures/` folder (created, mode 0700), which the shipped systemd unit provides as
 * StateDirectory: not /tmp, which its PrivateTmp would hide from the operator.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { CaptureManager } from "../../../src/admin/capture.ts";
import { type CommandContext, handle } from "../../../src/admin/commands.ts";
import { DEFAULT_SERVER_STATE_DIR } from "../../../src/platform/linux/lease-file.ts";
import { buildHandshake } from "../../../src/protocol/toyvpn.ts";
import { quietLogger } from "../../lib/log.ts";
import { startToyServer } from "../../lib/server-rig.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const dir = mkdtempSync(join(tmpdir(), "warren-capdir-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A command context around a rig with one connected phone. */
async function context(config: Record<string, unknown>) {
  const r = await startToyServer({ config });
  for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret:cap-phone"), "::ffff:192.0.2.10", 40001);
  const captures = new CaptureManager(r.server.router, quietLogger);
  const ctx = {
    server: r.server, captures, log: quietLogger, config: r.config,
    live: { live: () => r.server.live(), setLive: (c) => r.server.setLive(c), hooks: { onConnect: null, onDisconnect: null }, capture: { maxBytes: 1 << 20 } },
    keeper: null,
  } as CommandContext;
  return { r, ctx, captures };
}

describe("capture start without --file", () => {
  test("writes <stateDir>/captures/<id>-<time>.pcap, creating the folder with mode 0700", async () => {
    const stateDir = join(dir, "state");
    const { r, ctx, captures } = await context({ stateDir });
    const res = await handle(ctx, { cmd: "capture-start", target: "cap-phone" });
    if (!res.ok) throw new Error(res.error);
    const file = (res.result as { file: string }).file;
    expect(file).toMatch(new RegExp(`^${join(stateDir, "captures").replaceAll("/", "\\/")}/cap-phone-\\d{8}T\\d{6}Z\\.pcap$`));
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    await captures.stopAll();
    expect(readFileSync(file).length).toBe(24); // the pcap header
    r.server.stop();
  });

  test("--capture-dir wins; the default state directory is the unit's StateDirectory", async () => {
    const capDir = join(dir, "explicit");
    const { r, ctx, captures } = await context({ stateDir: join(dir, "unused"), captureDir: capDir });
    const res = await handle(ctx, { cmd: "capture-start", target: "cap-phone" });
    if (!res.ok) throw new Error(res.error);
    expect(dirname((res.result as { file: string }).file)).toBe(capDir);
    expect(existsSync(join(dir, "unused"))).toBe(false);
    await captures.stopAll();
    r.server.stop();
    const unit = readFileSync(join(ROOT, "packaging/warren.service"), "utf8");
    expect(unit).toMatch(/^StateDirectory=warren$/m);
    expect(DEFAULT_SERVER_STATE_DIR).toBe("/var/lib/warren");
    expect(unit).toMatch(/^PrivateTmp=yes$/m);
  });
});

/**
 * `--log-format json` on a server on fakes: the events the server really emits carry
 * their fields (who, where, why, how much), not only `msg`. Each line is parsed as JSON.
 */
import { expect, test } from "bun:test";
import { type CommandContext, handle } from "../../src/admin/commands.ts";
import { lineLogger } from "../../src/lib/log.ts";
import { buildHandshake } from "../../src/protocol/toyvpn.ts";
import { icmpEcho4 } from "../fakes/packets.ts";
import { startToyServer } from "../lib/server-rig.ts";

test("session-up, session-down (reason and counts), kicked with a ban, handshake-rejected and locked-out carry their fields", async () => {
  const lines: string[] = [];
  const log = lineLogger("warren", { shape: "json", journal: false }, (l) => void lines.push(l));
  const r = await startToyServer({ log, config: { secret: "s3cret-s3cret-s3cret" } });
  const events = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const event = (name: string) => events().filter((e) => e.event === name);

  for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret-s3cret-s3cret:phone1"), "::ffff:192.0.2.10", 40001);
  r.udp.receive(icmpEcho4({ src: "10.8.0.2", dst: "10.8.0.1", id: 1, seq: 1, payload: new Uint8Array(56) }), "::ffff:192.0.2.10", 40001);
  expect(event("session-up")).toEqual([
    expect.objectContaining({ level: "info", tag: "warren", session: "phone1", device: "phone1", protocol: "toyvpn", endpoint: { src: "192.0.2.10", port: 40001 }, address: "10.8.0.2" }),
  ]);

  const ctx = { server: r.server, log, captures: null, config: r.config, live: null, keeper: null } as unknown as CommandContext;
  const res = await handle(ctx, { cmd: "kick", target: "phone1", banSec: 60 });
  expect(res.ok).toBe(true);
  expect(event("kicked")).toEqual([expect.objectContaining({ session: "phone1", address: "10.8.0.2", by: "control", banSec: 60 })]);
  expect(event("session-down")).toEqual([
    expect.objectContaining({ session: "phone1", reason: "kicked", rxPackets: 1, rxBytes: 84, txPackets: 0, txBytes: 0, durationSec: 0, endpoint: { src: "192.0.2.10", port: 40001 } }),
  ]);

  for (let i = 0; i < 10; i++) r.udp.receive(buildHandshake(`wrong-${i}`), "::ffff:198.51.100.9", 41000 + i);
  expect(event("handshake-rejected")[0]).toEqual(expect.objectContaining({ level: "warn", reason: "bad-secret", endpoint: { src: "198.51.100.9", port: 41000 } }));
  expect(event("locked-out")).toEqual([expect.objectContaining({ source: "198.51.100.9", lockoutSec: 300, failures: 10, windowSec: 60 })]);
  // every line is one JSON object with the same envelope; no secret in any of them
  for (const e of events()) expect(Object.keys(e).slice(0, 3)).toEqual(["t", "level", "tag"]);
  expect(lines.join("\n")).not.toContain("s3cret-s3cret-s3cret");
  r.server.stop();
});

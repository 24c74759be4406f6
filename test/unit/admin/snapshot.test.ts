/** admin/snapshot: the idle rule, applied to a session of a server on fakes. */
import { describe, expect, test } from "bun:test";
import { buildSnapshot, IDLE_AFTER_MS, isIdle, type SnapshotExtras } from "../../../src/admin/snapshot.ts";
import { buildHandshake } from "../../../src/protocol/toyvpn.ts";
import { startToyServer } from "../../lib/server-rig.ts";

const EXTRAS: SnapshotExtras = {
  version: "warren test", pid: 1, logFile: null, captureOf: () => null, captureActive: 0, captureDropped: 0, controlSocket: null, metrics: null,
};

describe("idle sessions", () => {
  test("the rule: silent for more than two 25 s keepalive intervals", () => {
    expect(IDLE_AFTER_MS).toBe(50_000);
    expect(isIdle(1000, 1000 + 50_000)).toBe(false);
    expect(isIdle(1000, 1000 + 50_001)).toBe(true);
    expect(isIdle(1000, 1000)).toBe(false);
  });

  test("a session is idle in the snapshot once nothing was heard for 50 s, and active again after a keepalive", async () => {
    const { server, udp, clock } = await startToyServer({ config: { idleTimeout: 600 } });
    try {
      const hello = buildHandshake("s3cret:phone1");
      for (let i = 0; i < 3; i++) udp.receive(hello, "::ffff:192.0.2.10", 40001);
      const idleAt = (wall: number) => buildSnapshot(server, EXTRAS, clock.now(), wall).clients.map((c) => [c.id, c.protocol, c.idle]);
      expect(idleAt(1e12)).toEqual([["phone1", "toyvpn", false]]);
      clock.advance(IDLE_AFTER_MS);
      expect(idleAt(1e12)).toEqual([["phone1", "toyvpn", false]]);
      clock.advance(1000);
      expect(idleAt(1e12)).toEqual([["phone1", "toyvpn", true]]);
      udp.receive(new Uint8Array([0]), "::ffff:192.0.2.10", 40001); // the app's keepalive
      expect(idleAt(1e12)).toEqual([["phone1", "toyvpn", false]]);
    } finally {
      server.stop();
    }
  });
});

describe("wall-clock times", () => {
  test("a session's connectedAt reads the same in every snapshot, whatever the engine's fractional clock", async () => {
    const { server, udp, clock } = await startToyServer({ config: { idleTimeout: 600 } });
    try {
      clock.advance(0.3);
      for (let i = 0; i < 3; i++) udp.receive(buildHandshake("s3cret:phone1"), "::ffff:192.0.2.10", 40001);
      const created = server.sessions.all()[0]?.createdAt ?? NaN;
      // the wall clock minus the engine clock, as Ops takes it at start: here chosen so that
      // offset + createdAt sits on a rounding edge (x.5), where float error used to flip it
      const offset = 1_796_147_925_000.5 - (created % 1);
      const seen = new Set<number>();
      for (let i = 0; i < 500; i++) {
        clock.advance(0.0371);
        seen.add(buildSnapshot(server, EXTRAS, clock.now(), clock.now() + offset).clients[0]?.connectedAt ?? -1);
      }
      expect(seen.size).toBe(1);
      expect([...seen][0]).toBe(Math.round(created) + Math.round(offset));
    } finally {
      server.stop();
    }
  });
});

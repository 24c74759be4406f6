/**
 * The server's side of the data-path seam (server/datapath-host.ts) on fakes: a shortcut
 * that cannot open or start leaves the simple path running; a running one is told of
 * sessions before anyone else and of captures, its counts are folded in before the idle
 * sweep, a session's end and a snapshot read them; what it hands over reaches the front
 * door exactly as a datagram from the socket would (anti-spoofing, rehandshake requests)
 * and TUN packets reach the router; when it dies the simple path takes over.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CaptureManager } from "../../src/admin/capture.ts";
import { buildHandshake, REHANDSHAKE } from "../../src/protocol/toyvpn.ts";
import type { Session } from "../../src/server/session.ts";
import { FakeDataPath } from "../fakes/fake-datapath.ts";
import { icmpEcho4, parseIcmpEcho4 } from "../fakes/packets.ts";
import { recordingLogger } from "../lib/log.ts";
import { startToyServer, type ToyRig } from "../lib/server-rig.ts";

const PHONE = { address: "::ffff:192.0.2.10", port: 40001 };
const OTHER = { address: "::ffff:192.0.2.20", port: 40002 };
const LISTEN = { host: "::", port: 8000 };
const dir = mkdtempSync(join(tmpdir(), "warren-dp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ping = (src: string, dst: string, seq = 1) => icmpEcho4({ src, dst, id: 7, seq, payload: new Uint8Array(32).fill(seq) });

/** A rig whose shortcut is `dp` (or whose factory throws when `dp` is an Error). */
async function rig(dp: FakeDataPath | Error) {
  const log = recordingLogger();
  const r = await startToyServer({
    log,
    config: { listen: "[::]:8000", idleTimeout: 60 },
    openDataPath: () => {
      if (dp instanceof Error) throw dp;
      return dp;
    },
  });
  return { ...r, logs: log.lines };
}

function connect(r: ToyRig, ep: { address: string; port: number }, credential = "s3cret"): Session {
  for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake(credential), ep.address, ep.port);
  r.udp.take(ep.address, ep.port);
  const s = r.toy.sessionAt(ep.address, ep.port);
  if (s === undefined) throw new Error("no session");
  return s;
}

describe("starting a shortcut", () => {
  test("a factory that throws: the simple path runs (the TUN reader), and the log says why", async () => {
    const r = await rig(new Error("no multi-queue"));
    expect(r.tun.reading).toBe(true);
    expect(r.server.dataPath.current).toBeNull();
    expect(r.logs.some((l) => l.includes("fast data path unavailable, using the simple one: no multi-queue"))).toBe(true);
    await r.server.stop();
  });

  test("start() throws: the shortcut is closed again and the simple path runs", async () => {
    const dp = new FakeDataPath(LISTEN);
    dp.failStart = true;
    const r = await rig(dp);
    expect(dp.calls).toEqual(["start", "close"]);
    expect(r.tun.reading).toBe(true);
    await r.server.stop();
  });

  test("a shortcut on a socket nobody listens on is refused", async () => {
    const dp = new FakeDataPath({ host: "::", port: 9 });
    const r = await rig(dp);
    expect(dp.calls).toEqual(["close"]);
    expect(r.tun.reading).toBe(true);
    expect(r.logs.some((l) => l.includes("no socket listens on [::]:9"))).toBe(true);
    await r.server.stop();
  });

  test("running: the TUN reader stays off, the log names the data path", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    expect(dp.calls).toEqual(["start"]);
    expect(r.tun.reading).toBe(false);
    expect(r.server.dataPath.current).toBe(dp);
    expect(r.logs.some((l) => l.includes("data path: fake (0 workers)"))).toBe(true);
    await r.server.stop();
  });
});

describe("a running shortcut", () => {
  test("hears of a session before the session listeners, and of its end before they read its counters", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    const seen: string[] = [];
    r.server.sessionListeners.push({
      up: (s) => seen.push(`up ${s.label}, dp knows: ${dp.serving.has(s)}`),
      down: (s) => seen.push(`down ${s.label}, rx ${s.rxPackets}`),
    });
    const s = connect(r, PHONE);
    dp.count(s, 5);
    r.server.kick(s);
    expect(seen).toEqual([`up ${s.label}, dp knows: true`, `down ${s.label}, rx 5`]);
    expect(r.logs.some((l) => l.includes("session down") && l.includes("in=5pkt"))).toBe(true);
    await r.server.stop();
  });

  test("the idle sweep folds first: a session busy only on the shortcut does not expire", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    const busy = connect(r, PHONE);
    const idle = connect(r, OTHER);
    for (let t = 0; t < 8; t++) {
      r.clock.advance(10_000);
      dp.count(busy, 3);
      r.server.sweep();
    }
    expect(busy.open).toBe(true);
    expect(busy.rxPackets).toBe(24);
    expect(idle.open).toBe(false);
    expect(r.server.stats.rxPackets).toBe(24);
    await r.server.stop();
  });

  test("capture start and stop switch the session's slot to the slow path and back", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    const s = connect(r, PHONE, "s3cret:cap");
    const captures = new CaptureManager(r.server.router, recordingLogger());
    captures.start(s, join(dir, "cap.pcap"), 1 << 20);
    await captures.stop(s);
    expect(dp.calls.filter((c) => c.startsWith("slow"))).toEqual(["slow cap on", "slow cap off"]);
    await r.server.stop();
  });

  test("handed-over datagrams reach the door: data is routed with anti-spoofing, an unknown endpoint is asked to rehandshake", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    const s = connect(r, PHONE);
    dp.handDatagram(ping("10.8.0.2", "10.8.0.1"), PHONE.address, PHONE.port);
    dp.handDatagram(ping("10.8.0.77", "10.8.0.1"), PHONE.address, PHONE.port);
    expect(r.tun.written.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([1]);
    expect(s.rxPackets).toBe(1);
    expect(s.drops.spoofed).toBe(1);
    r.server.kick(s);
    dp.handDatagram(ping("10.8.0.2", "10.8.0.1"), PHONE.address, PHONE.port);
    expect(r.udp.take(PHONE.address, PHONE.port)).toEqual([REHANDSHAKE]);
    expect(r.server.stats.drops["no-session"]).toBe(1);
    await r.server.stop();
  });

  test("handed-over TUN packets reach the router and go out through the door, counted once", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    const s = connect(r, PHONE);
    dp.handPackets(ping("10.8.0.1", "10.8.0.2", 1), ping("10.8.0.1", "10.8.0.2", 2), ping("10.8.0.1", "10.8.0.99", 3));
    expect(r.udp.take(PHONE.address, PHONE.port).map((d) => parseIcmpEcho4(d)?.seq)).toEqual([1, 2]);
    expect(s.txPackets).toBe(2);
    expect(r.server.stats.drops["no-session"]).toBe(1);
    await r.server.stop();
  });

  test("when it dies: its counts are folded once more and the simple path takes over", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    const s = connect(r, PHONE);
    dp.count(s, 4);
    dp.fail(new Error("worker 0 stopped"));
    expect(s.rxPackets).toBe(4);
    expect(r.tun.reading).toBe(true);
    expect(r.server.dataPath.current).toBeNull();
    expect(r.server.router.onWatch).toBeNull();
    expect(r.logs.some((l) => l.includes("fast data path stopped, falling back to the simple one: worker 0 stopped"))).toBe(true);
    r.tun.inject(ping("10.8.0.1", "10.8.0.2", 9));
    expect(r.udp.take(PHONE.address, PHONE.port).map((d) => parseIcmpEcho4(d)?.seq)).toEqual([9]);
    await r.server.stop();
  });

  test("stop: counts folded, sessions closed, then the shortcut closed (before the TUN)", async () => {
    const dp = new FakeDataPath(LISTEN);
    const r = await rig(dp);
    const s = connect(r, PHONE, "s3cret:stopper");
    await r.server.stop();
    expect(dp.calls.slice(-3)).toEqual(["sync", "down stopper", "close"]);
    expect(s.open).toBe(false);
    expect(r.tun.closed).toBe(true);
  });
});

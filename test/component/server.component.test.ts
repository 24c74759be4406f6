/**
 * The whole server engine on fakes: FakeUdp plays the clients, FakeTun the
 * kernel, ManualClock the time. No root, no sockets.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { buildHandshake, KEEPALIVE, paramsText, parseParams, REHANDSHAKE } from "../../src/protocol/toyvpn.ts";
import { recordingLogger } from "../lib/log.ts";
import { startToyServer, type ToyRig } from "../lib/server-rig.ts";
import { icmpEcho4, parseIcmpEcho4 } from "../fakes/packets.ts";

const PHONE_A = { address: "::ffff:192.0.2.10", port: 40001 };
const PHONE_B = { address: "::ffff:192.0.2.20", port: 40002 };
const V6_PHONE = { address: "2001:db8::99", port: 50000 };

interface Rig extends ToyRig {
  logs: string[];
}

async function rig(overrides: Record<string, unknown> = {}): Promise<Rig> {
  const log = recordingLogger();
  const r = await startToyServer({ config: overrides, log });
  return { ...r, logs: log.lines };
}

/** Handshakes like the app (three copies); returns the pushed address. */
function connect(r: Rig, ep: { address: string; port: number }, credential = "s3cret"): string | null {
  const hs = buildHandshake(credential);
  for (let i = 0; i < 3; i++) r.udp.receive(hs, ep.address, ep.port);
  const replies = r.udp.take(ep.address, ep.port);
  if (replies.length === 0) return null;
  expect(replies.length).toBe(3);
  for (const d of replies) expect(d.length).toBe(1024);
  const p = parseParams(paramsText(replies[0] as Uint8Array) as string);
  if (!p.ok) throw new Error(p.error);
  return p.params.addresses[0]?.address ?? null;
}

const ping = (src: string, dst: string, seq = 1) => icmpEcho4({ src, dst, id: 9, seq, payload: new Uint8Array(56).fill(seq) });

describe("server engine on fakes", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });

  test("handshake: three 1024-byte answers with m, a, r, d; one session; duplicates absorbed", () => {
    const hs = buildHandshake("s3cret");
    r.udp.receive(hs, PHONE_A.address, PHONE_A.port);
    r.udp.receive(hs, PHONE_A.address, PHONE_A.port);
    r.udp.receive(hs, PHONE_A.address, PHONE_A.port);
    const replies = r.udp.take(PHONE_A.address, PHONE_A.port);
    expect(replies.length).toBe(3);
    expect(paramsText(replies[0] as Uint8Array)?.trim()).toBe("m,1400 a,10.8.0.2,32 r,0.0.0.0,0 d,1.1.1.1");
    expect(r.server.sessions.size).toBe(1);
    expect(r.server.stats.handshakes).toMatchObject({ ok: 1, duplicate: 2, rejected: 0 });
    expect(r.logs.some((l) => l.includes("session up") && l.includes("address=10.8.0.2") && l.includes("192.0.2.10:40001"))).toBe(true);
  });

  test("a retried handshake after a second is answered again, same address, counted as renewed", () => {
    expect(connect(r, PHONE_A)).toBe("10.8.0.2");
    r.clock.advance(1500);
    expect(connect(r, PHONE_A)).toBe("10.8.0.2");
    expect(r.server.sessions.size).toBe(1);
    expect(r.server.stats.handshakes).toMatchObject({ ok: 1, renewed: 1, duplicate: 4 });
  });

  test("kick is a reset, kick with a ban keeps the device (or an id-less source) out until it runs out", () => {
    const [a] = [connect(r, PHONE_A, "s3cret:phone")];
    expect(a).toBe("10.8.0.2");
    r.server.kick(r.server.sessions.all()[0] as never);
    expect(connect(r, { ...PHONE_A, port: 1 }, "s3cret:phone")).toBe("10.8.0.2"); // back at once
    r.server.kick(r.server.sessions.all()[0] as never, "kicked", 600_000);
    expect(connect(r, { ...PHONE_A, port: 2 }, "s3cret:phone")).toBeNull();
    expect(r.logs.some((l) => l.includes("reason=banned"))).toBe(true);
    expect(connect(r, PHONE_B, "s3cret:tablet")).not.toBeNull(); // another device is not affected
    // without a device id the ban names the source address
    expect(connect(r, { address: "::ffff:192.0.2.77", port: 7 })).not.toBeNull();
    const noId = r.server.sessions.all().find((s) => s.deviceId === null);
    r.server.kick(noId as never, "kicked", 60_000);
    expect(connect(r, { address: "::ffff:192.0.2.77", port: 8 })).toBeNull();
    expect(connect(r, { address: "::ffff:192.0.2.99", port: 3 })).not.toBeNull();
    r.clock.advance(600_001);
    expect(connect(r, { ...PHONE_A, port: 4 }, "s3cret:phone")).toBe("10.8.0.2");
  });

  test("wrong secret: no answer at all, counted, one log line without the secret", () => {
    expect(connect(r, PHONE_A, "wrong-secret")).toBeNull();
    expect(r.udp.sent.length).toBe(0);
    expect(r.server.sessions.size).toBe(0);
    expect(r.server.stats.handshakes.rejected).toBe(3);
    const lines = r.logs.filter((l) => l.includes("handshake rejected from 192.0.2.10:40001"));
    expect(lines.length).toBe(3);
    expect(lines[0]).toContain("reason=bad-secret");
    expect(r.logs.join("\n")).not.toContain("wrong-secret");
  });

  test("client packet to the server's address goes to the TUN, counted", () => {
    connect(r, PHONE_A);
    const p = ping("10.8.0.2", "10.8.0.1");
    r.udp.receive(p, PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(1);
    expect(Buffer.from(r.tun.written[0] as Uint8Array).equals(Buffer.from(p))).toBe(true);
    const s = r.server.sessions.byDevice(null, "x") ?? r.server.sessions.all()[0];
    expect(s?.rxPackets).toBe(1);
    expect(s?.rxBytes).toBe(p.length);
  });

  test("trailing bytes beyond the IP length are not written", () => {
    connect(r, PHONE_A);
    const p = ping("10.8.0.2", "10.8.0.1");
    const padded = new Uint8Array(p.length + 7);
    padded.set(p);
    r.udp.receive(padded, PHONE_A.address, PHONE_A.port);
    expect(r.tun.written[0]?.length).toBe(p.length);
  });

  test("spoofed source: dropped and counted, never written", () => {
    connect(r, PHONE_A);
    r.udp.receive(ping("10.8.0.99", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    r.udp.receive(ping("192.0.2.1", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    expect(r.server.sessions.all()[0]?.drops.spoofed).toBe(2);
    expect(r.server.stats.drops.spoofed).toBe(2);
  });

  test("malformed (truncated header) data is dropped and counted", () => {
    connect(r, PHONE_A);
    const p = ping("10.8.0.2", "10.8.0.1");
    r.udp.receive(p.subarray(0, 30), PHONE_A.address, PHONE_A.port);
    r.udp.receive(p.subarray(0, 10), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    expect(r.server.stats.drops.malformed).toBe(2);
  });

  test("hub: client to client is forwarded in userspace, not through the TUN", () => {
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    const p = ping("10.8.0.2", "10.8.0.3");
    r.udp.receive(p, PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    const got = r.udp.take(PHONE_B.address, PHONE_B.port);
    expect(got.length).toBe(1);
    expect(parseIcmpEcho4(got[0] as Uint8Array)).toMatchObject({ src: "10.8.0.2", dst: "10.8.0.3", seq: 1 });
    const [a, b] = r.server.sessions.all();
    expect(a?.rxPackets).toBe(1);
    expect(b?.txPackets).toBe(1);
    expect(r.server.stats.hubPackets).toBe(1);
  });

  test("isolate: client to client dropped both ways, including via the kernel", async () => {
    r = await rig({ isolate: true });
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    r.udp.receive(ping("10.8.0.2", "10.8.0.3"), PHONE_A.address, PHONE_A.port);
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(0);
    expect(r.tun.written.length).toBe(0);
    // A packet from A's address that the kernel routed back into the TUN towards B:
    r.tun.inject(ping("10.8.0.2", "10.8.0.3"));
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(0);
    // The server's own address still reaches B, and B still reaches the server:
    r.tun.inject(ping("10.8.0.1", "10.8.0.3"));
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(1);
    r.udp.receive(ping("10.8.0.3", "10.8.0.1"), PHONE_B.address, PHONE_B.port);
    expect(r.tun.written.length).toBe(1);
    expect(r.server.stats.drops.isolated).toBe(2);
  });

  test("isolate can be switched at runtime", () => {
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    r.server.setLive({ key: "isolate", value: true });
    r.udp.receive(ping("10.8.0.2", "10.8.0.3"), PHONE_A.address, PHONE_A.port);
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(0);
    r.server.setLive({ key: "isolate", value: false });
    r.udp.receive(ping("10.8.0.2", "10.8.0.3"), PHONE_A.address, PHONE_A.port);
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(1);
  });

  test("TUN batch to several clients: each gets its packets, unknown destinations counted", () => {
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    r.tun.inject(ping("10.8.0.1", "10.8.0.2", 1), ping("10.8.0.1", "10.8.0.3", 2), ping("10.8.0.1", "10.8.0.2", 3), ping("10.8.0.1", "10.8.0.77", 4));
    const a = r.udp.take(PHONE_A.address, PHONE_A.port).map((d) => parseIcmpEcho4(d)?.seq);
    const b = r.udp.take(PHONE_B.address, PHONE_B.port).map((d) => parseIcmpEcho4(d)?.seq);
    expect(a).toEqual([1, 3]);
    expect(b).toEqual([2]);
    expect(r.server.stats.drops["no-session"]).toBe(1);
    expect(r.server.stats.txPackets).toBe(3);
  });

  test("keepalive is echoed to a known endpoint only", () => {
    connect(r, PHONE_A);
    r.udp.receive(KEEPALIVE, PHONE_A.address, PHONE_A.port);
    expect(r.udp.take(PHONE_A.address, PHONE_A.port)).toEqual([new Uint8Array([0])]);
    r.udp.receive(KEEPALIVE, PHONE_B.address, PHONE_B.port);
    expect(r.udp.take(PHONE_B.address, PHONE_B.port)).toEqual([]);
    expect(r.server.stats.keepalives).toBe(1);
  });

  test("data from an endpoint without a session is dropped and not answered", () => {
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    expect(r.udp.sent.length).toBe(0);
    expect(r.server.stats.drops["no-session"]).toBe(1);
  });

  test("junk, empty and truncated datagrams are counted, nothing else happens", () => {
    connect(r, PHONE_A);
    r.udp.receive(new Uint8Array([0x17, 1, 2]), PHONE_A.address, PHONE_A.port);
    r.udp.receive(new Uint8Array(0), PHONE_A.address, PHONE_A.port);
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port, true);
    expect(r.server.stats.junk).toBe(3);
    expect(r.tun.written.length).toBe(0);
    expect(r.server.sessions.size).toBe(1);
  });

  test("idle sessions expire on the clock, the address returns, the endpoint is asked to handshake again", () => {
    connect(r, PHONE_A);
    r.clock.advance(100_000);
    r.udp.receive(KEEPALIVE, PHONE_A.address, PHONE_A.port); // activity keeps it
    r.udp.take(PHONE_A.address, PHONE_A.port);
    r.clock.advance(100_000);
    expect(r.server.sessions.size).toBe(1);
    r.clock.advance(90_000);
    expect(r.server.sessions.size).toBe(0);
    expect(r.server.pool4.used).toBe(0);
    expect(r.logs.some((l) => l.includes("session down") && l.includes("reason=idle"))).toBe(true);
    // stray data from the old endpoint: dropped, answered with the rehandshake request, at most once a second
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    expect(r.udp.take(PHONE_A.address, PHONE_A.port)).toEqual([REHANDSHAKE]);
    r.clock.advance(1000);
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    expect(r.udp.take(PHONE_A.address, PHONE_A.port)).toEqual([REHANDSHAKE]);
    expect(r.tun.written.length).toBe(0);
    // and much later it is forgotten
    r.clock.advance(6 * 60_000);
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    expect(r.udp.take(PHONE_A.address, PHONE_A.port)).toEqual([]);
  });

  test("idle timeout can change at runtime", () => {
    connect(r, PHONE_A);
    expect(r.server.setLive({ key: "idleTimeout", value: 20 })).toEqual({ ok: true });
    r.clock.advance(25_000);
    expect(r.server.sessions.size).toBe(0);
  });

  test("device id: reconnect from a new port keeps the address; the old endpoint is no longer served", () => {
    expect(connect(r, PHONE_A, "s3cret:phone-1")).toBe("10.8.0.2");
    expect(connect(r, PHONE_B, "s3cret")).toBe("10.8.0.3");
    const moved = { address: PHONE_A.address, port: 40999 };
    expect(connect(r, moved, "s3cret:phone-1")).toBe("10.8.0.2");
    expect(r.server.sessions.size).toBe(2);
    expect(r.logs.some((l) => l.includes("session down device=phone-1") && l.includes("reason=replaced"))).toBe(true);
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), moved.address, moved.port);
    expect(r.tun.written.length).toBe(1);
    // packets for 10.8.0.2 now go to the new endpoint
    r.tun.inject(ping("10.8.0.1", "10.8.0.2"));
    expect(r.udp.take(moved.address, moved.port).length).toBe(1);
    // the old endpoint got nothing but the rehandshake request for its stray packet
    expect(r.udp.take(PHONE_A.address, PHONE_A.port)).toEqual([REHANDSHAKE]);
  });

  test("device id gets its address back after expiry, even after others connected", () => {
    expect(connect(r, PHONE_A, "s3cret:phone-1")).toBe("10.8.0.2");
    r.clock.advance(200_000);
    expect(r.server.sessions.size).toBe(0);
    expect(connect(r, PHONE_B)).toBe("10.8.0.3");
    expect(connect(r, { address: "::ffff:192.0.2.30", port: 1 }, "s3cret:phone-1")).toBe("10.8.0.2");
  });

  test("without an id every new endpoint is a new session", () => {
    expect(connect(r, PHONE_A)).toBe("10.8.0.2");
    expect(connect(r, { ...PHONE_A, port: PHONE_A.port + 1 })).toBe("10.8.0.3");
    expect(r.server.sessions.size).toBe(2);
  });

  test("a full pool refuses the handshake with a log line and no answer", async () => {
    r = await rig({ pool: "10.9.0.0/30" });
    expect(connect(r, PHONE_A)).toBe("10.9.0.2");
    expect(connect(r, PHONE_B)).toBeNull();
    expect(r.server.stats.handshakes.refused).toBeGreaterThan(0);
    expect(r.logs.some((l) => l.includes("handshake refused from 192.0.2.20:40002") && l.includes("pool exhausted"))).toBe(true);
  });

  test("max clients refuses new sessions but lets a device come back", async () => {
    r = await rig({ maxClients: 1 });
    expect(connect(r, PHONE_A, "s3cret:one")).toBe("10.8.0.2");
    expect(connect(r, PHONE_B)).toBeNull();
    expect(connect(r, { ...PHONE_A, port: 1234 }, "s3cret:one")).toBe("10.8.0.2");
  });

  test("IPv6 endpoints work the same", () => {
    expect(connect(r, V6_PHONE)).toBe("10.8.0.2");
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), V6_PHONE.address, V6_PHONE.port);
    expect(r.tun.written.length).toBe(1);
    expect(r.logs.some((l) => l.includes("endpoint=[2001:db8::99]:50000"))).toBe(true);
  });

  test("TUN write failure is counted per session", () => {
    connect(r, PHONE_A);
    r.tun.failWrites = true;
    r.udp.receive(ping("10.8.0.2", "10.8.0.1"), PHONE_A.address, PHONE_A.port);
    expect(r.server.sessions.all()[0]?.drops["tun-write"]).toBe(1);
  });

  test("stop closes every session, the transport and the TUN", () => {
    connect(r, PHONE_A);
    r.server.stop();
    expect(r.udp.closed).toBe(true);
    expect(r.tun.closed).toBe(true);
    expect(r.server.sessions.size).toBe(0);
    expect(r.logs.some((l) => l.includes("reason=shutdown"))).toBe(true);
  });
});

/**
 * IPv6 inside the tunnel, on fakes (FakeUdp = the clients, FakeTun = the kernel, no root):
 * parameters, anti-spoofing, hub, isolate, TUN -> client delivery and counters, the same
 * checks the IPv4 path has in server.component.test.ts.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { buildHandshake, paramsText, parseParams, type Params } from "../../src/protocol/toyvpn.ts";
import { icmpEcho6, parseIcmpEcho6, udp6 } from "../fakes/packets.ts";
import { startToyServer, type ToyRig } from "../lib/server-rig.ts";

const PHONE_A = { address: "::ffff:192.0.2.10", port: 40001 };
const PHONE_B = { address: "2001:db8::20", port: 40002 };
type Rig = ToyRig;

const rig = (overrides: Record<string, unknown> = {}): Promise<Rig> => startToyServer({ config: { pool6: "fd00:8::/64", ...overrides } });

/** Handshakes from `ep`; returns the parameters pushed. */
function connect(r: Rig, ep: { address: string; port: number }): Params {
  for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret"), ep.address, ep.port);
  const replies = r.udp.take(ep.address, ep.port);
  expect(replies.length).toBe(3);
  const p = parseParams(paramsText(replies[0] as Uint8Array) as string);
  if (!p.ok) throw new Error(p.error);
  return p.params;
}

const ping = (src: string, dst: string, seq = 1) => icmpEcho6({ src, dst, id: 7, seq, payload: new Uint8Array(32).fill(seq) });

describe("IPv6 in the tunnel (server engine on fakes)", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });

  test("parameters: a second `a` with the paired IPv6 address, `r,::,0` beside the IPv4 default, IPv6 DNS", async () => {
    r = await rig({ dns: ["1.1.1.1", "2606:4700:4700::1111"] });
    const raw = (() => {
      for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret"), PHONE_A.address, PHONE_A.port);
      return paramsText(r.udp.take(PHONE_A.address, PHONE_A.port)[0] as Uint8Array)?.trim();
    })();
    expect(raw).toBe("m,1400 a,10.8.0.2,32 a,fd00:8::2,128 r,0.0.0.0,0 r,::,0 d,1.1.1.1 d,2606:4700:4700::1111");
    expect(r.server.sessions.all()[0]?.addr6).toEqual(new Uint8Array([0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]));
  });

  test("parameters: without an IPv4 default route the IPv6 pool itself is pushed", async () => {
    r = await rig({ routes: ["10.0.0.0/8"] });
    expect(connect(r, PHONE_A).routes).toEqual([{ address: "10.0.0.0", prefixLen: 8 }, { address: "fd00:8::", prefixLen: 64 }]);
  });

  test("a packet from the client's own IPv6 address goes to the TUN, counted", () => {
    connect(r, PHONE_A);
    const p = udp6({ src: "fd00:8::2", dst: "2001:db8:1::1", sport: 5000, dport: 53, payload: new Uint8Array(20) });
    r.udp.receive(p, PHONE_A.address, PHONE_A.port);
    expect(r.tun.written).toEqual([p]);
    expect(r.server.sessions.all()[0]).toMatchObject({ rxPackets: 1, rxBytes: p.length });
    expect(r.server.stats.rxPackets).toBe(1);
  });

  test("anti-spoofing: another pool address and foreign sources are spoofed; link-local is its own reason", () => {
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    for (const src of ["fd00:8::3", "fe80::1", "2001:db8::1", "fd00:9::2", "febf::5"]) r.udp.receive(ping(src, "fd00:8::1"), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(0);
    expect(r.server.sessions.all()[0]?.drops.spoofed).toBe(3);
    expect(r.server.stats.drops.spoofed).toBe(3);
    expect(r.server.sessions.all()[0]?.drops["link-local"]).toBe(2);
  });

  test("the server's IPv6 address goes to the TUN; an unleased pool address is no-route", () => {
    connect(r, PHONE_A);
    r.udp.receive(ping("fd00:8::2", "fd00:8::1"), PHONE_A.address, PHONE_A.port);
    r.udp.receive(ping("fd00:8::2", "fd00:8::77"), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(1);
    expect(r.server.stats.drops["no-route"]).toBe(1);
  });

  test("malformed IPv6 (payload length beyond the datagram) is dropped", () => {
    connect(r, PHONE_A);
    const p = ping("fd00:8::2", "fd00:8::1");
    r.udp.receive(p.subarray(0, p.length - 4), PHONE_A.address, PHONE_A.port);
    r.udp.receive(p.subarray(0, 30), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    expect(r.server.stats.drops.malformed).toBe(2);
  });

  test("hub: client to client over IPv6 is forwarded in userspace, counted on both sessions", () => {
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    r.udp.receive(ping("fd00:8::2", "fd00:8::3"), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    const got = r.udp.take(PHONE_B.address, PHONE_B.port);
    expect(got.map((d) => parseIcmpEcho6(d))).toMatchObject([{ src: "fd00:8::2", dst: "fd00:8::3", seq: 1 }]);
    const [a, b] = r.server.sessions.all();
    expect(a?.rxPackets).toBe(1);
    expect(b?.txPackets).toBe(1);
    expect(r.server.stats.hubPackets).toBe(1);
  });

  test("isolate: IPv6 client to client dropped in userspace and when the kernel routes it back", async () => {
    r = await rig({ isolate: true });
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    r.udp.receive(ping("fd00:8::2", "fd00:8::3"), PHONE_A.address, PHONE_A.port);
    r.tun.inject(ping("fd00:8::2", "fd00:8::3"));
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).length).toBe(0);
    expect(r.tun.written.length).toBe(0);
    // The server's address and the internet still reach B both ways.
    r.tun.inject(ping("fd00:8::1", "fd00:8::3", 2), ping("2001:db8:1::1", "fd00:8::3", 3));
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).map((d) => parseIcmpEcho6(d)?.seq)).toEqual([2, 3]);
    r.udp.receive(ping("fd00:8::3", "2001:db8:1::1"), PHONE_B.address, PHONE_B.port);
    expect(r.tun.written.length).toBe(1);
    expect(r.server.stats.drops.isolated).toBe(2);
  });

  test("TUN -> clients by IPv6 destination; unknown and out-of-pool destinations are counted", () => {
    connect(r, PHONE_A);
    connect(r, PHONE_B);
    r.tun.inject(
      ping("2001:db8:1::1", "fd00:8::2", 1),
      ping("2001:db8:1::1", "fd00:8::3", 2),
      ping("2001:db8:1::1", "fd00:8::99", 3),
      ping("2001:db8:1::1", "fd00:9::2", 4),
    );
    expect(r.udp.take(PHONE_A.address, PHONE_A.port).map((d) => parseIcmpEcho6(d)?.seq)).toEqual([1]);
    expect(r.udp.take(PHONE_B.address, PHONE_B.port).map((d) => parseIcmpEcho6(d)?.seq)).toEqual([2]);
    expect(r.server.stats.drops["no-session"]).toBe(2);
    expect(r.server.stats.txPackets).toBe(2);
  });

  test("without an IPv6 pool, IPv6 from a client is dropped and nothing is pushed for it", async () => {
    r = await rig({ pool6: undefined });
    const params = connect(r, PHONE_A);
    expect(params.addresses).toEqual([{ address: "10.8.0.2", prefixLen: 32 }]);
    expect(params.routes.some((x) => x.address.includes(":"))).toBe(false);
    r.udp.receive(ping("fd00:8::2", "fd00:8::1"), PHONE_A.address, PHONE_A.port);
    expect(r.tun.written.length).toBe(0);
    r.tun.inject(ping("fd00:8::1", "fd00:8::2"));
    expect(r.udp.take(PHONE_A.address, PHONE_A.port).length).toBe(0);
  });
});

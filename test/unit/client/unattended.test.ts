/**
 * @module unattended.test
 * The client engine left alone, on fakes and a manual clock: `--retry` for the first
 * connection (0, N, forever), the attempt record `warren client status` reads, IPv6
 * from the TUN dropped when no IPv6 address was pushed, and changed parameters logged
 * in words.
 */
import { describe, expect, test } from "bun:test";
import { Client } from "../../../src/client/client.ts";
import { BACKOFF_CAP_MS, HANDSHAKE_WAIT_MS } from "../../../src/client/timing.ts";
import { buildParamsDatagram, REHANDSHAKE } from "../../../src/protocol/toyvpn.ts";
import { FakeNet } from "../../fakes/fake-client-net.ts";
import { FakeClientSockets } from "../../fakes/fake-client-udp.ts";
import { ManualClock } from "../../fakes/manual-clock.ts";
import { icmpEcho4, icmpEcho6 } from "../../fakes/packets.ts";
import { recordingLogger } from "../../lib/log.ts";

const V4_ONLY = "m,1400 a,10.8.0.5,32 r,10.8.0.0,24";

const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function setup(retry?: number) {
  const clock = new ManualClock();
  const sockets = new FakeClientSockets();
  const net = new FakeNet();
  const log = recordingLogger();
  const client = new Client(
    { credential: "s3cret", serverLabel: "vpn.example.org:8000", ...(retry !== undefined ? { retry } : {}) },
    { openTransport: sockets.open, net, clock, log, random: () => 1 },
  );
  return { clock, sockets, net, log, client };
}

/** Lets the current handshake time out, then waits out the backoff until the next socket opens. */
async function failOnce(s: ReturnType<typeof setup>): Promise<void> {
  const opened = s.sockets.opened.length;
  s.clock.advance(HANDSHAKE_WAIT_MS);
  for (let i = 0; i < 200 && s.sockets.opened.length === opened && s.client.state === "backoff"; i++) {
    s.clock.advance(500);
    await settle();
  }
}

describe("--retry for the first connection", () => {
  test("0 (the default): the first failure ends start(), nothing retried", async () => {
    const s = setup();
    const started = s.client.start();
    await settle();
    s.clock.advance(HANDSHAKE_WAIT_MS);
    await expect(started).rejects.toThrow("no answer from vpn.example.org:8000 within 5 s");
    s.clock.advance(60_000);
    await settle();
    expect(s.sockets.opened).toHaveLength(1);
    expect(s.log.at("warn")).toEqual([]);
  });

  test("N: N more attempts with backoff, each a new socket, then start() rejects with the last reason", async () => {
    const s = setup(2);
    const started = s.client.start();
    let error: Error | null = null;
    started.catch((e: Error) => {
      error = e;
    });
    await settle();
    await failOnce(s);
    await failOnce(s);
    expect(s.sockets.opened).toHaveLength(3);
    expect(s.log.at("warn")).toEqual([
      "no answer from vpn.example.org:8000 within 5 s (wrong secret, or no ToyVpn server there?); retrying in 1.0 s (attempt 2 of 3)",
      "no answer from vpn.example.org:8000 within 5 s (wrong secret, or no ToyVpn server there?); retrying in 2.0 s (attempt 3 of 3)",
    ]);
    expect(error).toBeNull();
    s.clock.advance(HANDSHAKE_WAIT_MS);
    await settle();
    expect(String(error)).toContain("no answer from vpn.example.org:8000 within 5 s");
    expect(s.sockets.opened.every((t) => t.closed)).toBe(true);
    expect(s.client.stats.reconnects).toBe(0);
  });

  test("forever: keeps trying through timeouts, refusals and failed opens (backoff capped), then comes up", async () => {
    const s = setup(Infinity);
    const started = s.client.start();
    await settle();
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 1) s.sockets.current.refuse();
      if (i % 3 === 2) s.sockets.failNext = new Error("cannot resolve server vpn.example.org: ENOTFOUND");
      await failOnce(s);
    }
    expect(s.client.state).toBe("handshaking");
    expect(s.sockets.opened.length).toBeGreaterThanOrEqual(9);
    const delays = s.log.at("warn").map((l) => Number(/retrying in ([\d.]+) s/.exec(l)?.[1]));
    expect(delays.slice(0, 6)).toEqual([1, 2, 4, 8, 16, 30]);
    expect(Math.max(...delays)).toBe(BACKOFF_CAP_MS / 1000);
    expect(s.log.has("cannot resolve server vpn.example.org: ENOTFOUND; retrying in")).toBe(true);
    expect(s.log.has("unreachable (ECONNREFUSED")).toBe(true);
    expect(s.log.has("attempt")).toBe(false);
    s.sockets.current.receive(buildParamsDatagram(V4_ONLY));
    expect((await started).addresses).toEqual([{ address: "10.8.0.5", prefixLen: 32 }]);
    expect(s.client.state).toBe("up");
  });

  test("forever does not retry a host that cannot be configured: start() rejects", async () => {
    const s = setup(Infinity);
    s.net.failUp = new Error("cannot open /dev/net/tun: EACCES");
    const started = s.client.start();
    await settle();
    s.sockets.current.receive(buildParamsDatagram(V4_ONLY));
    await expect(started).rejects.toThrow("cannot configure the tunnel: cannot open /dev/net/tun: EACCES");
    expect(s.client.attempts.lastError?.message).toBe("cannot configure the tunnel: cannot open /dev/net/tun: EACCES");
    expect(s.client.attempts.retryAt).toBe(Infinity);
    s.clock.advance(60_000);
    await settle();
    expect(s.sockets.opened).toHaveLength(1);
  });

  test("once up, the retry count no longer matters: reconnects go on (and are counted)", async () => {
    const s = setup(0);
    const started = s.client.start();
    await settle();
    s.sockets.current.receive(buildParamsDatagram(V4_ONLY));
    await started;
    s.sockets.current.receive(REHANDSHAKE);
    for (let i = 0; i < 3; i++) await failOnce(s);
    expect(s.client.state).toBe("handshaking");
    expect(s.client.stats.reconnects).toBe(3);
    expect(s.log.at("warn")[0]).toEndWith("reconnecting in 1.0 s");
  });
});

describe("the attempt record (what status shows)", () => {
  test("last error, next retry, first up and last handshake, in engine time", async () => {
    const s = setup(Infinity);
    const a = s.client.attempts;
    const t0 = s.clock.now();
    const started = s.client.start();
    await settle();
    expect([a.lastError, a.firstUpAt, a.lastHandshakeAt, a.retryAt]).toEqual([null, -1, -1, Infinity]);
    s.clock.advance(HANDSHAKE_WAIT_MS);
    expect(s.client.state).toBe("backoff");
    expect(a.lastError).toEqual({ message: expect.stringContaining("no answer from"), at: t0 + HANDSHAKE_WAIT_MS });
    expect(a.retryAt).toBe(t0 + HANDSHAKE_WAIT_MS + 1000);
    await failOnce(s);
    s.clock.advance(300);
    s.sockets.current.receive(buildParamsDatagram(V4_ONLY));
    await started;
    const upAt = s.clock.now();
    expect([a.firstUpAt, a.lastHandshakeAt, a.retryAt, a.failures]).toEqual([upAt, upAt, Infinity, 0]);
    expect(a.lastError?.message).toContain("no answer from"); // kept: status shows the last one
    s.clock.advance(1000);
    s.sockets.current.receive(REHANDSHAKE);
    s.sockets.current.receive(buildParamsDatagram(V4_ONLY));
    expect([a.firstUpAt, a.lastHandshakeAt]).toEqual([upAt, upAt + 1000]);
  });
});

describe("IPv6 from the TUN when no IPv6 address was pushed", () => {
  test("dropped and counted, never sent; IPv4 goes through", async () => {
    const s = setup();
    const started = s.client.start();
    await settle();
    s.sockets.current.receive(buildParamsDatagram(V4_ONLY));
    await started;
    const sock = s.sockets.current;
    const before = sock.sent.length;
    const rs = icmpEcho6({ src: "fe80::1", dst: "ff02::2", id: 1, seq: 1 }); // stands in for a router solicitation
    const ping = icmpEcho4({ src: "10.8.0.5", dst: "10.8.0.1", id: 1, seq: 1 });
    s.net.tun.inject(rs, ping, rs);
    expect(sock.sent.slice(before)).toEqual([ping]);
    expect(s.client.stats).toMatchObject({ ipv6Dropped: 2, txPackets: 1, txDropped: 0 });
  });

  test("a re-handshake that brings an IPv6 address lets IPv6 through from then on", async () => {
    const s = setup();
    const started = s.client.start();
    await settle();
    s.sockets.current.receive(buildParamsDatagram(V4_ONLY));
    await started;
    s.sockets.current.receive(REHANDSHAKE);
    s.sockets.current.receive(buildParamsDatagram("m,1400 a,10.8.0.5,32 a,fd00:8::5,128"));
    const p6 = icmpEcho6({ src: "fd00:8::5", dst: "fd00:8::1", id: 1, seq: 1 });
    s.net.tun.inject(p6);
    expect(s.sockets.current.sent.at(-1)).toEqual(p6);
    expect(s.client.stats.ipv6Dropped).toBe(0);
  });
});

describe("changed parameters are said in words", () => {
  test("a new address after a reconnect: `address changed: A -> B`, not the parameter string", async () => {
    const s = setup();
    const started = s.client.start();
    await settle();
    s.sockets.current.receive(buildParamsDatagram("m,1400 a,10.8.0.5,32 r,10.8.0.0,24 d,1.1.1.1"));
    await started;
    s.sockets.current.receive(REHANDSHAKE);
    s.log.lines.length = 0;
    s.sockets.current.receive(buildParamsDatagram("m,1400 a,10.8.0.2,32 r,10.8.0.0,24 d,1.1.1.1"));
    expect(s.log.at("info")).toEqual(["address changed: 10.8.0.5 -> 10.8.0.2", "connected again to vpn.example.org:8000"]);
    expect(s.log.has("a,10.8.0.2")).toBe(false);
  });
});

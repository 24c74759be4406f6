/**
 * @module client.test
 * The client engine on fakes and a manual clock: the Android-style handshake (three
 * copies, 5 s wait), the data path, keepalive, dead-peer detection, the server's
 * rehandshake request, reconnects with capped, jittered backoff, and stop().
 */
import { describe, expect, test } from "bun:test";
import { Client } from "../../../src/client/client.ts";
import {
  BACKOFF_CAP_MS, backoffDelay, HANDSHAKE_WAIT_MS, KEEPALIVE_IDLE_MS, RESPONSE_TIMEOUT_MS,
} from "../../../src/client/timing.ts";
import { buildParamsDatagram, KEEPALIVE, REHANDSHAKE } from "../../../src/protocol/toyvpn.ts";
import { FakeNet } from "../../fakes/fake-client-net.ts";
import { FakeClientSockets } from "../../fakes/fake-client-udp.ts";
import { ManualClock } from "../../fakes/manual-clock.ts";
import { icmpEcho4, icmpEcho6 } from "../../fakes/packets.ts";
import { quietLogger } from "../../lib/log.ts";

const PARAMS = "m,1400 a,10.8.0.5,32 a,fd00:8::5,128 r,0.0.0.0,0 d,1.1.1.1";

/** Lets promise callbacks (socket opens) run. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function setup(opts: { random?: () => number; credential?: string } = {}) {
  const clock = new ManualClock();
  const sockets = new FakeClientSockets();
  const net = new FakeNet();
  const fatal: Error[] = [];
  const client = new Client(
    { credential: opts.credential ?? "s3cret:laptop-1", serverLabel: "vpn.example.org:8000" },
    { openTransport: sockets.open, net, clock, log: quietLogger, random: opts.random ?? (() => 1), onFatal: (e) => fatal.push(e) },
  );
  return { clock, sockets, net, client, fatal };
}

const answer = (text = PARAMS) => buildParamsDatagram(text);

/** Starts the client and answers its handshake. */
async function connected(opts: Parameters<typeof setup>[0] = {}) {
  const s = setup(opts);
  const started = s.client.start();
  await settle();
  s.sockets.current.receive(answer());
  await started;
  return s;
}

describe("client: first handshake", () => {
  test("sends `0x00 secret:id` three times, comes up on the parameters", async () => {
    const { client, sockets, net } = setup();
    const started = client.start();
    await settle();
    expect(sockets.current.sentText()).toEqual(["s3cret:laptop-1", "s3cret:laptop-1", "s3cret:laptop-1"]);
    sockets.current.receive(answer());
    const p = await started;
    expect(p.mtu).toBe(1400);
    expect(p.addresses).toEqual([{ address: "10.8.0.5", prefixLen: 32 }, { address: "fd00:8::5", prefixLen: 128 }]);
    expect(p.dns).toEqual(["1.1.1.1"]);
    expect(net.calls).toEqual(["up 10.8.0.5,fd00:8::5"]);
    expect(client.state).toBe("up");
    // The other two copies of the answer change nothing.
    sockets.current.receive(answer());
    sockets.current.receive(answer());
    expect(net.calls).toEqual(["up 10.8.0.5,fd00:8::5"]);
  });

  test("no answer: fails after exactly the 5 s wait with a one-line reason, socket closed", async () => {
    const { client, clock, sockets, net } = setup();
    let error: Error | null = null;
    const started = client.start().catch((e: Error) => {
      error = e;
    });
    await settle();
    clock.advance(HANDSHAKE_WAIT_MS - 100);
    await settle();
    expect(error).toBeNull();
    clock.advance(200);
    await started;
    expect(String(error)).toContain("no answer from vpn.example.org:8000 within 5 s (wrong secret");
    expect(String(error)).not.toContain("\n");
    expect(sockets.current.closed).toBe(true);
    expect(sockets.current.sentText()).toHaveLength(3); // never resent
    expect(net.calls).toEqual([]);
    client.stop();
    expect(net.calls).toEqual(["down"]);
  });

  test("a malformed answer fails at once, as the app's 'Bad parameter'", async () => {
    const { client, sockets } = setup();
    const started = client.start();
    await settle();
    sockets.current.receive(answer("m,1400 a,10.8.0.5"));
    await expect(started).rejects.toThrow("bad parameters from vpn.example.org:8000: Bad parameter: a,10.8.0.5");
  });

  test("an answer without an address, or with a bad one, is refused", async () => {
    for (const [text, why] of [["m,1400 r,0.0.0.0,0", "no address"], ["m,1400 a,10.8.0.500,32", "not an IP address"], ["m,40 a,10.8.0.5,32", "MTU 40"]]) {
      const { client, sockets } = setup();
      const started = client.start();
      await settle();
      sockets.current.receive(answer(text));
      await expect(started).rejects.toThrow(why as string);
    }
  });

  test("ICMP port unreachable during the first handshake fails fast", async () => {
    const { client, sockets } = setup();
    const started = client.start();
    await settle();
    sockets.current.refuse();
    await expect(started).rejects.toThrow("unreachable (ECONNREFUSED: nothing listens on that port)");
  });

  test("a failure to configure the host is reported", async () => {
    const { client, sockets, net } = setup();
    net.failUp = new Error("cannot open /dev/net/tun: EACCES");
    const started = client.start();
    await settle();
    sockets.current.receive(answer());
    await expect(started).rejects.toThrow("cannot configure the tunnel: cannot open /dev/net/tun: EACCES");
  });
});

describe("client: data path", () => {
  test("a TUN batch leaves as one flush; server packets go to the TUN whole", async () => {
    const { sockets, net, client } = await connected();
    const sock = sockets.current;
    const before = sock.sent.length;
    const p1 = icmpEcho4({ src: "10.8.0.5", dst: "10.8.0.1", id: 1, seq: 1 });
    const p2 = icmpEcho6({ src: "fd00:8::5", dst: "fd00:8::1", id: 1, seq: 2 });
    net.tun.inject(p1, p2);
    expect(sock.sent.slice(before)).toEqual([p1, p2]);
    expect(sock.batches).toBe(1);
    const reply = icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.5", id: 1, seq: 1, type: 0 });
    sock.receive(reply);
    sock.receive(KEEPALIVE);
    sock.receive(new Uint8Array([0x17, 1, 2])); // junk
    sock.receive(reply, true); // truncated
    expect(net.tun.written).toEqual([reply]);
    expect(client.stats).toMatchObject({ txPackets: 2, rxPackets: 1, junk: 2 });
  });
});

describe("client: keepalive and dead peers", () => {
  test("a lone 0x00 (three copies) after 15 s without receiving; none while traffic arrives", async () => {
    const { sockets, clock } = await connected();
    const sock = sockets.current;
    const reply = icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.5", id: 1, seq: 1, type: 0 });
    for (let t = 0; t < 20; t++) {
      clock.advance(1000);
      sock.receive(reply);
    }
    expect(sock.sentText().filter((t) => t === "<keepalive>")).toHaveLength(0);
    clock.advance(KEEPALIVE_IDLE_MS - 200);
    expect(sock.sentText().filter((t) => t === "<keepalive>")).toHaveLength(0);
    clock.advance(400);
    expect(sock.sentText().filter((t) => t === "<keepalive>")).toHaveLength(3);
    sock.receive(KEEPALIVE); // warren's server echoes it
    clock.advance(KEEPALIVE_IDLE_MS - 500);
    expect(sock.sentText().filter((t) => t === "<keepalive>")).toHaveLength(3);
  });

  test("unanswered keepalives alone (the reference server never echoes them) cause no re-handshake", async () => {
    const { sockets, clock, client } = await connected();
    const sock = sockets.current;
    clock.advance(10 * KEEPALIVE_IDLE_MS + 100);
    expect(sock.sentText().filter((t) => t === "<keepalive>")).toHaveLength(30);
    expect(sock.sentText().filter((t) => t.startsWith("s3cret"))).toHaveLength(3);
    expect(client.state).toBe("up");
  });

  test("sending without hearing back for 5 s: handshake again on the same socket", async () => {
    const { sockets, clock, net, client } = await connected();
    const sock = sockets.current;
    const handshakes = () => sock.sentText().filter((t) => t.startsWith("s3cret")).length;
    expect(handshakes()).toBe(3);
    for (let i = 0; i < 6; i++) {
      net.tun.inject(icmpEcho4({ src: "10.8.0.5", dst: "10.8.0.1", id: 1, seq: i }));
      clock.advance(1000);
    }
    expect(handshakes()).toBe(6);
    expect(client.state).toBe("handshaking");
    // Data keeps flowing while re-handshaking on a live socket.
    net.tun.inject(icmpEcho4({ src: "10.8.0.5", dst: "10.8.0.1", id: 1, seq: 99 }));
    expect(client.stats.txDropped).toBe(0);
    sock.receive(answer());
    expect(client.state).toBe("up");
    expect(net.calls).toEqual(["up 10.8.0.5,fd00:8::5"]); // same parameters: nothing touched
    expect(sockets.opened).toHaveLength(1);
  });

  test("the server's !rehandshake request is answered at once", async () => {
    const { sockets, client } = await connected();
    const sock = sockets.current;
    sock.receive(REHANDSHAKE);
    expect(client.state).toBe("handshaking");
    expect(sock.sentText().slice(-3)).toEqual(["s3cret:laptop-1", "s3cret:laptop-1", "s3cret:laptop-1"]);
    sock.receive(REHANDSHAKE); // already handshaking: no second burst
    expect(sock.sentText()).toHaveLength(6);
  });

  test("no answer to the re-handshake: new socket after a jittered delay, TUN kept", async () => {
    let r = 0;
    const { sockets, clock, net, client } = await connected({ random: () => r });
    sockets.current.receive(REHANDSHAKE);
    clock.advance(HANDSHAKE_WAIT_MS);
    expect(client.state).toBe("backoff");
    expect(sockets.opened[0]?.closed).toBe(true);
    net.tun.inject(icmpEcho4({ src: "10.8.0.5", dst: "10.8.0.1", id: 1, seq: 1 }));
    expect(client.stats.txDropped).toBe(1);
    clock.advance(400);
    await settle();
    expect(sockets.opened).toHaveLength(1);
    clock.advance(200); // random 0: half of the first 1 s step
    await settle();
    expect(sockets.opened).toHaveLength(2);
    expect(sockets.current.sentText()).toEqual(["s3cret:laptop-1", "s3cret:laptop-1", "s3cret:laptop-1"]);
    r = 1;
    clock.advance(HANDSHAKE_WAIT_MS); // second failure: next delay 2 s (random 1)
    expect(client.state).toBe("backoff");
    clock.advance(1900);
    await settle();
    expect(sockets.opened).toHaveLength(2);
    clock.advance(200);
    await settle();
    expect(sockets.opened).toHaveLength(3);
    sockets.current.receive(answer());
    expect(client.state).toBe("up");
    expect(client.stats.reconnects).toBe(2);
    expect(net.calls).toEqual(["up 10.8.0.5,fd00:8::5"]);
    expect(net.tun.closed).toBe(false);
  });

  test("port unreachable while up: handshake again, then back off on the next error", async () => {
    const { sockets, clock, client } = await connected({ random: () => 1 });
    sockets.current.refuse();
    expect(client.state).toBe("handshaking");
    sockets.current.refuse();
    expect(client.state).toBe("backoff");
    clock.advance(1100);
    await settle();
    expect(sockets.opened).toHaveLength(2);
  });

  test("different parameters after a reconnect reconfigure the host; the new TUN gets the packets", async () => {
    const { sockets, net } = await connected();
    sockets.current.receive(REHANDSHAKE);
    sockets.current.receive(answer("m,1400 a,10.8.0.9,32 r,0.0.0.0,0"));
    expect(net.calls).toEqual(["up 10.8.0.5,fd00:8::5", "update 10.8.0.9"]);
    const reply = icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.9", id: 1, seq: 1, type: 0 });
    sockets.current.receive(reply);
    expect(net.tun.written).toEqual([reply]);
  });

  test("the open of a new socket failing counts as a failed attempt", async () => {
    const { sockets, clock, client } = await connected({ random: () => 1 });
    sockets.current.receive(REHANDSHAKE);
    clock.advance(HANDSHAKE_WAIT_MS + 100);
    sockets.failNext = new Error("cannot open a UDP socket: ENETUNREACH");
    clock.advance(1000);
    await settle();
    expect(client.state).toBe("backoff");
    clock.advance(2000);
    await settle();
    expect(client.state).toBe("handshaking");
  });
});

describe("client: stop", () => {
  test("closes the socket, takes the host configuration down, stops the timers", async () => {
    const { sockets, clock, net, client } = await connected();
    client.stop();
    client.stop();
    expect(net.calls).toEqual(["up 10.8.0.5,fd00:8::5", "down"]);
    expect(sockets.current.closed).toBe(true);
    const sent = sockets.current.sent.length;
    clock.advance(60_000);
    await settle();
    expect(sockets.current.sent.length).toBe(sent);
    expect(sockets.opened).toHaveLength(1);
  });

  test("stop during the first handshake rejects start()", async () => {
    const { client } = setup();
    const started = client.start();
    await settle();
    client.stop();
    await expect(started).rejects.toThrow("stopped before the tunnel came up");
  });
});

describe("backoffDelay", () => {
  test("doubles from 1 s, jitter between half and all, capped at 30 s", () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, () => 1))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect([0, 1, 2].map((n) => backoffDelay(n, () => 0))).toEqual([500, 1000, 2000]);
    for (const n of [5, 6, 10, 100, 5000]) {
      expect(backoffDelay(n, () => 0.999999)).toBeLessThanOrEqual(BACKOFF_CAP_MS);
      expect(backoffDelay(n, () => 0)).toBe(BACKOFF_CAP_MS / 2);
    }
  });

  test("constants mirror the app and the issue", () => {
    expect(HANDSHAKE_WAIT_MS).toBe(5000);
    expect(KEEPALIVE_IDLE_MS).toBe(15_000);
    expect(RESPONSE_TIMEOUT_MS).toBeLessThanOrEqual(10_000);
  });
});

import { describe, expect, test } from "bun:test";
import { onEveryBackend } from "./backends.ts";
import type { AeadBackend } from "../../../../src/crypto/aead.ts";
import { generatePrivateKey } from "../../../../src/crypto/x25519.ts";
import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  REKEY_TIMEOUT,
  RESPONSE_SIZE,
  TYPE_COOKIE_REPLY,
  TYPE_INITIATION,
  TYPE_TRANSPORT,
} from "../../../../src/protocol/wireguard/constants.ts";
import { CookieGenerator } from "../../../../src/protocol/wireguard/cookie.ts";
import { Device } from "../../../../src/protocol/wireguard/device.ts";
import { REPLAY_WINDOW_SIZE } from "../../../../src/protocol/wireguard/replay.ts";
import { CLIENT_ADDR, CLIENT_PORT, packet, Pair, type Wire } from "./pair.ts";

function take(p: Pair, type: number): Wire[] {
  p.collect();
  const picked = p.wire.filter((w) => w.data[0] === type);
  p.wire = p.wire.filter((w) => w.data[0] !== type);
  return picked;
}

function one<T>(xs: T[]): T {
  expect(xs.length).toBe(1);
  return xs[0] as T;
}

function runSecuritySuite(aead: AeadBackend): void {
  describe(`replay and limits on ${aead.name}`, () => {
    test("duplicates are dropped, reordering inside the window is fine, too old is dropped", () => {
      const p = new Pair(aead);
      p.connect();
      const msgs: Wire[] = [];
      for (let i = 1; i <= 60; i++) {
        p.send("client", packet(i));
        msgs.push(...p.wire.splice(0));
      }
      for (const w of msgs.slice().reverse()) p.deliver(w);
      expect(p.delivered("server")).toEqual(Array.from({ length: 60 }, (_, i) => 60 - i));
      expect(p.deliver(msgs[7] as Wire)).toMatchObject({ kind: "drop", reason: "replay" });
      for (let i = 0; i < REPLAY_WINDOW_SIZE + 100; i++) {
        p.send("client", packet(1000 + i, 40));
        p.deliver(p.wire.splice(0)[0] as Wire);
      }
      p.got = [];
      // counter 1 is now more than the window behind; counter 60 was never delivered twice but is as old
      expect(p.deliver(msgs[0] as Wire)).toMatchObject({ kind: "drop", reason: "replay" });
      expect(p.server.outgoingCount + p.client.outgoingCount).toBeLessThanOrEqual(1);
    });

    test("REKEY_AFTER_MESSAGES starts a handshake; REJECT_AFTER_MESSAGES stops sending", () => {
      const p = new Pair(aead, { clientLimits: { rekeyAfterMessages: 20, rejectAfterMessages: 30 } });
      p.connect(); // counter 0 used
      p.run(REKEY_TIMEOUT + 1000); // initiations are at least REKEY_TIMEOUT apart
      // packet i is sealed with counter i
      for (let i = 1; i <= 19; i++) expect(p.send("client", packet(i))).toBe("send");
      expect(take(p, TYPE_INITIATION).length).toBe(0);
      expect(p.send("client", packet(20))).toBe("send"); // next counter 21 > 20
      expect(take(p, TYPE_INITIATION).length).toBe(1); // held back: the handshake does not finish
      for (let i = 21; i <= 29; i++) expect(p.send("client", packet(i))).toBe("send");
      expect(p.send("client", packet(30))).toBe("queued");
      p.wire = [];
    });

    test("staged packets never use a counter past the limit; the rest wait for the next keypair", () => {
      const p = new Pair(aead, { clientLimits: { rejectAfterMessages: 5 } });
      for (let i = 1; i <= 8; i++) expect(p.send("client", packet(i))).toBe("queued");
      p.flush();
      expect(p.delivered("server")).toEqual([1, 2, 3, 4, 5]);
      expect(p.cPeer.stagedCount).toBe(3);
      // as in wireguard-go, the next packet (once REKEY_TIMEOUT allows an initiation) brings them
      p.run(REKEY_TIMEOUT + 1000);
      expect(p.send("client", packet(9))).toBe("queued");
      p.flush();
      expect(p.delivered("server")).toEqual([6, 7, 8, 9]);
    });

    test("the receiver refuses counters at its REJECT_AFTER_MESSAGES", () => {
      const p = new Pair(aead, { serverLimits: { rejectAfterMessages: 10 } });
      p.connect();
      const results = [];
      for (let i = 1; i <= 11; i++) {
        p.send("client", packet(i));
        results.push(p.deliver(p.wire.splice(0)[0] as Wire).reason);
      }
      expect(results).toEqual([...Array(9).fill("none"), "replay", "replay"]);
    });
  });

  describe(`handshake defences on ${aead.name}`, () => {
    test("under load: a cookie reply first, then the initiation with mac2 succeeds", () => {
      const p = new Pair(aead);
      p.server.underLoad = true;
      p.send("client", packet(1));
      const init = one(take(p, TYPE_INITIATION));
      expect(p.deliver(init)).toMatchObject({ kind: "drop", reason: "under-load" });
      const reply = one(p.server.takeOutgoing());
      expect([reply.data[0], reply.data.length, reply.address, reply.port, reply.peer]).toEqual([
        TYPE_COOKIE_REPLY, COOKIE_REPLY_SIZE, CLIENT_ADDR, CLIENT_PORT, null,
      ]);
      const r = p.client.receive(reply.data.slice(), "198.51.100.1", 51820, p.now);
      expect([r.kind, r.peer]).toEqual(["handshake", p.cPeer]);
      expect(p.cPeer.cookies.hasCookie(p.now)).toBe(true);
      expect(p.delivered("server")).toEqual([]);
      p.run(REKEY_TIMEOUT + 400);
      expect(p.delivered("server")).toEqual([1]);
    });

    test("under load, a mac2 made for another source address earns only another cookie", () => {
      const p = new Pair(aead);
      p.server.underLoad = true;
      p.send("client", packet(1));
      p.flush(); // initiation -> cookie reply -> consumed
      p.clientSrc = { address: "203.0.113.7", port: 999 };
      p.run(REKEY_TIMEOUT + 400);
      expect(p.got.filter((g) => g.to === "server").map((g) => g.reason)).toEqual(["under-load", "under-load"]);
    });

    test("under load, a wrong mac1 gets no cookie reply", () => {
      const p = new Pair(aead);
      p.server.underLoad = true;
      p.send("client", packet(1));
      const init = one(take(p, TYPE_INITIATION));
      init.data[20] = (init.data[20] as number) ^ 0xff;
      expect(p.deliver(init)).toMatchObject({ kind: "drop", reason: "mac1" });
      expect(p.server.outgoingCount).toBe(0);
    });

    test("a replayed initiation (same TAI64N) is dropped without an answer", () => {
      const p = new Pair(aead);
      p.send("client", packet(1));
      const init = one(take(p, TYPE_INITIATION));
      expect(p.deliver(init).kind).toBe("handshake");
      p.server.takeOutgoing();
      p.now += 60_000;
      expect(p.deliver(init)).toMatchObject({ kind: "drop", reason: "handshake-replay" });
      expect(p.server.outgoingCount).toBe(0);
    });

    test("an initiation stamped earlier than the last one is a replay; 20 ms apart is a flood", () => {
      const p = new Pair(aead);
      p.cPeer.initiate(p.now, false);
      const first = one(take(p, TYPE_INITIATION));
      p.wallOffset = -10_000;
      p.now += 10_000;
      p.cPeer.initiate(p.now, false);
      const older = one(take(p, TYPE_INITIATION));
      p.wallOffset = 5000;
      p.now += 5000;
      p.cPeer.initiate(p.now, false);
      const newer = one(take(p, TYPE_INITIATION));
      p.wallOffset = 10_000;
      p.now += 5000;
      p.cPeer.initiate(p.now, false);
      const newest = one(take(p, TYPE_INITIATION));
      expect(p.deliver(newer).kind).toBe("handshake");
      expect(p.deliver(first).reason).toBe("handshake-replay");
      expect(p.deliver(older).reason).toBe("handshake-replay");
      p.now -= 4990; // the server's clock: 10 ms after it took `newer`
      expect(p.deliver(newest).reason).toBe("handshake-flood");
    });

    test("junk, short, unknown-index and forged messages produce no output", () => {
      const p = new Pair(aead);
      p.connect();
      let seed = 99;
      const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      const reasons = new Set<string>();
      const datagram = (n: number, type: number) => {
        const d = Uint8Array.from({ length: n }, rnd);
        if (type > 0 && n >= 4) d.set([type, 0, 0, 0]);
        return d;
      };
      for (let i = 0; i < 400; i++) {
        const sizes = [0, 1, 3, 4, 31, 32, 64, 92, 148, 149, 200, 1500];
        const n = sizes[i % sizes.length] as number;
        const d = datagram(n, i % 5);
        const r = p.server.receive(d, "203.0.113.1", 1, p.now);
        expect(r.kind).toBe("drop");
        reasons.add(r.reason);
      }
      // a transport message for the live index, with a garbage body
      p.send("client", packet(1));
      const w = one(take(p, TYPE_TRANSPORT));
      w.data.fill(0x5a, 16);
      expect(p.deliver(w).reason).toBe("decrypt");
      expect([...reasons].sort()).toEqual(["invalid", "mac1", "unexpected", "unknown-index"]);
      expect(p.server.outgoingCount).toBe(0);
    });

    test("a stranger who knows the server's public key gets a valid mac1 through, and still no answer", () => {
      const p = new Pair(aead);
      const forger = new CookieGenerator(p.server.publicKey);
      for (const size of [INITIATION_SIZE, RESPONSE_SIZE]) {
        const d = new Uint8Array(size).fill(0x33);
        d.set([size === INITIATION_SIZE ? 1 : 2, 0, 0, 0]);
        forger.addMacs(d, p.now);
        const r = p.server.receive(d, "203.0.113.1", 1, p.now);
        expect(r.reason).toBe(size === INITIATION_SIZE ? "handshake" : "unexpected");
      }
      const stranger = new Device({ privateKey: generatePrivateKey(), aead, wallClock: () => 1e12 });
      const sp = stranger.addPeer(p.server.publicKey, { address: "198.51.100.1", port: 51820 });
      sp.initiate(p.now, false);
      const init = one(stranger.takeOutgoing());
      expect(p.server.receive(init.data, "203.0.113.2", 2, p.now).reason).toBe("handshake");
      expect(p.server.outgoingCount).toBe(0);
      expect(p.server.indexCount).toBe(0);
    });

    test("both sides initiating at once still ends with one working session", () => {
      const p = new Pair(aead);
      p.connect();
      p.run(130_000, 1000);
      p.cPeer.handshake.lastSentAt = Number.NEGATIVE_INFINITY;
      p.sPeer.handshake.lastSentAt = Number.NEGATIVE_INFINITY;
      const t = p.now;
      p.cPeer.initiate(p.now, false);
      p.sPeer.initiate(p.now, false);
      p.flush();
      // each side abandoned its own initiation to answer the other's, so both responses miss
      expect(p.got.filter((g) => g.reason === "handshake" || g.reason === "unexpected").length).toBe(2);
      p.got = [];
      for (let i = 0; i < 5; i++) {
        p.send("client", packet(i));
        p.send("server", packet(10 + i));
        p.flush();
      }
      p.run(REKEY_TIMEOUT * 3, 1); // 1 ms steps, so the two jittered retries do not cross again
      expect(p.delivered("server")).toEqual([0, 1, 2, 3, 4]);
      expect(p.delivered("client")).toEqual([10, 11, 12, 13, 14]);
      // the retransmission (with independent jitter) completed a fresh handshake
      expect(p.cPeer.keypairs.current?.createdAt).toBeGreaterThan(t);
      expect(p.sPeer.keypairs.current?.createdAt).toBeGreaterThan(t);
    });
  });
}

onEveryBackend(runSecuritySuite);

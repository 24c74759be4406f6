import { describe, expect, test } from "bun:test";
import { onEveryBackend } from "./backends.ts";
import type { AeadBackend } from "../../../../src/crypto/aead.ts";
import {
  KEEPALIVE_TIMEOUT,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  TYPE_INITIATION,
  TYPE_RESPONSE,
  TYPE_TRANSPORT,
} from "../../../../src/protocol/wireguard/constants.ts";
import { packet, Pair } from "./pair.ts";

function runDeviceSuite(aead: AeadBackend): void {
  describe(`two devices on ${aead.name}`, () => {
    test("a packet waits for the handshake, then data flows both ways", () => {
      const p = new Pair(aead);
      expect(p.send("client", packet(1))).toBe("queued");
      expect(p.cPeer.stagedCount).toBe(1);
      p.flush();
      expect(p.delivered("server")).toEqual([1]);
      expect(p.sPeer.keypairs.current).not.toBeNull();
      expect(p.sPeer.keypairs.next).toBeNull();
      expect(p.sPeer.address).toBe("192.0.2.1");
      for (let i = 2; i < 20; i++) {
        expect(p.send("server", packet(100 + i, 60 + i * 50))).toBe("send");
        expect(p.send("client", packet(i, 1400))).toBe("send");
      }
      p.flush();
      expect(p.delivered("server")).toEqual(Array.from({ length: 18 }, (_, i) => i + 2));
      expect(p.delivered("client")).toEqual(Array.from({ length: 18 }, (_, i) => 102 + i));
    });

    test("delivered packets are byte-exact with the padding stripped", () => {
      const p = new Pair(aead);
      p.connect();
      for (const size of [28, 29, 43, 44, 45, 1399, 1400, 1401]) {
        const sent = packet(size, size);
        p.send("client", sent);
        p.flush();
        const got = p.got.find((g) => g.packet !== null);
        expect(got?.packet).toEqual(sent);
        p.got = [];
      }
      expect(p.server.outgoingCount).toBe(0);
    });

    test("an output buffer too small drops the packet without spending a counter", () => {
      const p = new Pair(aead);
      p.connect();
      p.send("client", packet(1));
      expect(p.cPeer.encapsulate(packet(2, 1400), p.now, new Uint8Array(100))).toMatchObject({ kind: "drop", reason: "buffer-too-small" });
      p.send("client", packet(3));
      p.flush();
      expect(p.delivered("server")).toEqual([1, 3]);
    });

    test("the responder's keypair waits in `next` until the first packet under it confirms it", () => {
      const p = new Pair(aead);
      p.cPeer.initiate(p.now, false);
      p.collect();
      const init = p.wire.splice(0);
      expect(init.map((w) => w.data[0])).toEqual([TYPE_INITIATION]);
      p.deliver(init[0] as (typeof init)[0]);
      expect(p.sPeer.keypairs.next).not.toBeNull();
      expect(p.sPeer.keypairs.current).toBeNull();
      expect(p.send("server", packet(1))).toBe("queued");
      p.collect();
      const resp = p.wire.splice(0);
      expect(resp.map((w) => w.data[0])).toEqual([TYPE_RESPONSE]);
      p.deliver(resp[0] as (typeof resp)[0]);
      p.collect();
      const keepalive = p.wire.splice(0);
      expect(keepalive.map((w) => [w.data[0], w.data.length])).toEqual([[TYPE_TRANSPORT, 32]]);
      expect(p.deliver(keepalive[0] as (typeof keepalive)[0]).kind).toBe("keepalive");
      expect(p.sPeer.keypairs.current).not.toBeNull();
      p.flush();
      expect(p.delivered("client")).toEqual([1]);
    });

    test("continuous traffic rekeys every REKEY_AFTER_TIME and loses nothing", () => {
      const p = new Pair(aead);
      p.connect();
      const keys = new Set([p.cPeer.keypairs.current]);
      const sent: number[] = [];
      let initiations = 0;
      for (let seq = 1; p.now < 1_000_000 + 3.5 * REKEY_AFTER_TIME; seq++) {
        p.advance(1000);
        sent.push(seq);
        p.send("client", packet(seq));
        p.send("server", packet(seq + 100_000));
        p.collect();
        initiations += p.wire.filter((w) => w.data[0] === TYPE_INITIATION).length;
        p.flush();
        keys.add(p.cPeer.keypairs.current);
      }
      expect(initiations).toBe(3);
      expect(keys.size).toBe(4);
      expect(p.delivered("server")).toEqual(sent);
      expect(p.delivered("client")).toEqual(sent.map((s) => s + 100_000));
      expect(p.got.filter((g) => g.kind === "drop")).toEqual([]);
      expect(p.client.indexCount).toBeLessThanOrEqual(3);
      expect(p.server.indexCount).toBeLessThanOrEqual(3);
    });

    test("packets sealed under the old keypair and delivered after the switch still arrive", () => {
      const p = new Pair(aead);
      p.connect();
      p.run(REKEY_AFTER_TIME + 1000, 1000);
      const old = p.cPeer.keypairs.current;
      p.send("server", packet(201));
      p.send("client", packet(101)); // old enough: also starts the rekey
      p.send("server", packet(202));
      p.send("client", packet(102));
      p.collect();
      const held = p.wire.filter((w) => w.data[0] === TYPE_TRANSPORT);
      expect(held.length).toBe(4);
      p.flush((w) => w.data[0] !== TYPE_TRANSPORT || !held.includes(w));
      expect(p.cPeer.keypairs.current).not.toBe(old);
      expect(p.cPeer.keypairs.previous).toBe(old);
      expect(p.sPeer.keypairs.previous).not.toBeNull();
      p.got = [];
      for (const w of held.reverse()) p.deliver(w);
      expect(p.delivered("server").sort()).toEqual([101, 102]);
      expect(p.delivered("client").sort()).toEqual([201, 202]);
    });

    test("after REJECT_AFTER_TIME the keypair is used for nothing", () => {
      const p = new Pair(aead);
      p.connect();
      p.send("client", packet(1));
      const late = p.wire.splice(0);
      p.now += REJECT_AFTER_TIME + 1;
      expect(p.deliver(late[0] as (typeof late)[0])).toMatchObject({ kind: "drop", reason: "expired-key" });
      expect(p.send("client", packet(2))).toBe("queued");
      p.flush();
      expect(p.delivered("server")).toEqual([2]);
    });

    test("passive keepalive after KEEPALIVE_TIMEOUT of receiving without sending", () => {
      const p = new Pair(aead);
      p.connect();
      p.run(KEEPALIVE_TIMEOUT + 1000); // the server's keepalive for packet 0
      p.send("client", packet(1));
      p.flush();
      p.got = [];
      p.advance(KEEPALIVE_TIMEOUT - 200);
      p.collect();
      expect(p.wire.length).toBe(0);
      p.advance(400);
      p.collect();
      expect(p.wire.map((w) => [w.from, w.data.length])).toEqual([["server", 32]]);
      p.flush();
      expect(p.got.map((g) => g.kind)).toEqual(["keepalive"]);
    });

    test("a new handshake when sent data gets no answer for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT", () => {
      const p = new Pair(aead);
      p.connect();
      p.run(KEEPALIVE_TIMEOUT + 1000); // the server's keepalive for packet 0
      p.send("client", packet(1));
      p.wire = []; // lost, so the server never answers
      p.advance(14_900);
      p.collect();
      expect(p.wire.length).toBe(0);
      p.advance(500);
      p.collect();
      expect(p.wire.map((w) => [w.from, w.data[0]])).toEqual([["client", TYPE_INITIATION]]);
    });

    test("persistent keepalive", () => {
      const p = new Pair(aead);
      p.connect();
      p.cPeer.persistentKeepalive = 25;
      p.send("client", packet(1));
      p.flush();
      p.got = [];
      p.run(120_000, 1000);
      // 25 s after the last authenticated packet either way, so once the server's passive
      // keepalives stop, the client's come exactly 25 s apart
      const at = p.got.filter((g) => g.to === "server" && g.kind === "keepalive").map((g) => g.at);
      expect(at.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < at.length; i++) expect((at[i] as number) - (at[i - 1] as number)).toBe(25_000);
    });

    test("roaming: an authenticated packet from a new endpoint moves the peer", () => {
      const p = new Pair(aead);
      p.connect();
      p.clientSrc = { address: "203.0.113.9", port: 5555 };
      p.send("client", packet(1));
      p.flush();
      expect(p.got.filter((g) => g.to === "server").map((g) => g.roamed)).toEqual([true]);
      expect([p.sPeer.address, p.sPeer.port]).toEqual(["203.0.113.9", 5555]);
      p.send("server", packet(2));
      expect(p.wire[0]?.address).toBe("203.0.113.9");
    });

    test("a forged packet from another endpoint does not move the peer", () => {
      const p = new Pair(aead);
      p.connect();
      p.send("client", packet(1));
      const w = p.wire.splice(0)[0];
      if (!w) throw new Error("no packet");
      w.data[40] = (w.data[40] as number) ^ 1;
      w.srcAddress = "203.0.113.66";
      expect(p.deliver(w)).toMatchObject({ kind: "drop", reason: "decrypt", roamed: false });
      expect(p.sPeer.address).toBe("192.0.2.1");
    });

    test("wrong preshared key: no session, no output beyond the protocol", () => {
      const p = new Pair(aead, { psk: new Uint8Array(32).fill(1), serverPsk: new Uint8Array(32).fill(2) });
      p.send("client", packet(1));
      p.flush();
      expect(p.got.map((g) => [g.to, g.kind, g.reason])).toEqual([
        ["server", "handshake", "none"],
        ["client", "drop", "handshake"],
      ]);
      expect(p.delivered("server")).toEqual([]);
    });

    test("gives up after REKEY_ATTEMPT_TIME and erases keys after 3 * REJECT_AFTER_TIME", () => {
      const p = new Pair(aead);
      p.connect();
      p.run(REJECT_AFTER_TIME + 1000, 1000);
      p.send("client", packet(1));
      let initiations = 0;
      for (let t = 0; t < 200_000; t += 1000) {
        p.advance(1000, 1000);
        p.collect();
        initiations += p.wire.filter((w) => w.data[0] === TYPE_INITIATION).length;
        p.wire = [];
      }
      expect(initiations).toBe(20); // the first and 18 retries, plus the first retry counted from 0
      expect(p.cPeer.stagedCount).toBe(0);
      expect(p.cPeer.keypairs.current).not.toBeNull();
      p.advance(3 * REJECT_AFTER_TIME, 5000);
      expect(p.cPeer.keypairs.current).toBeNull();
      expect(p.client.indexCount).toBe(0);
    });
  });
}

onEveryBackend(runDeviceSuite);

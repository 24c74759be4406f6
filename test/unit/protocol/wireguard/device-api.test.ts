import { describe, expect, test } from "bun:test";
import { pureTsAead } from "../../../../src/crypto/chacha-ts.ts";
import { generatePrivateKey, publicKey } from "../../../../src/crypto/x25519.ts";
import { Device } from "../../../../src/protocol/wireguard/device.ts";
import { packet, Pair } from "./pair.ts";

const wallClock = () => 1_700_000_000_000;

describe("Device peers", () => {
  test("addPeer refuses bad lengths, duplicates, our own key and low-order keys", () => {
    const priv = generatePrivateKey();
    const d = new Device({ privateKey: priv, aead: pureTsAead, wallClock });
    const pub = publicKey(generatePrivateKey());
    d.addPeer(pub);
    expect(() => d.addPeer(pub)).toThrow(RangeError);
    expect(() => d.addPeer(publicKey(priv))).toThrow(RangeError);
    expect(() => d.addPeer(new Uint8Array(31))).toThrow(RangeError);
    expect(() => d.addPeer(publicKey(generatePrivateKey()), { presharedKey: new Uint8Array(16) })).toThrow(RangeError);
    expect(() => d.addPeer(new Uint8Array(32))).toThrow(/low-order/); // the point 0
    expect(d.peer(pub)?.publicKey).toEqual(pub);
    expect([...d.peers()].length).toBe(1);
  });

  test("a peer without an endpoint cannot be sent to until it reaches us", () => {
    const d = new Device({ privateKey: generatePrivateKey(), aead: pureTsAead, wallClock });
    const peer = d.addPeer(publicKey(generatePrivateKey()));
    expect(peer.encapsulate(packet(1), 0, new Uint8Array(2048))).toMatchObject({ kind: "drop", reason: "no-endpoint" });
    expect(d.outgoingCount).toBe(0);
  });

  test("removePeer erases its keys and frees its indices; its packets then go nowhere", () => {
    const p = new Pair(pureTsAead);
    p.connect();
    expect(p.server.indexCount).toBe(1);
    p.send("client", packet(1));
    const w = p.wire.splice(0);
    p.server.removePeer(p.sPeer);
    expect(p.server.indexCount).toBe(0);
    expect(p.sPeer.keypairs.current).toBeNull();
    expect(p.deliver(w[0] as (typeof w)[0])).toMatchObject({ kind: "drop", reason: "unknown-index" });
    p.cPeer.handshake.lastSentAt = Number.NEGATIVE_INFINITY;
    p.cPeer.initiate(p.now, false);
    p.flush();
    expect(p.got.at(-1)).toMatchObject({ to: "server", kind: "drop", reason: "handshake" });
  });

  test("the shared result objects are reused, so callers must copy what they keep", () => {
    const p = new Pair(pureTsAead);
    p.connect();
    const out = new Uint8Array(2048);
    const a = p.cPeer.encapsulate(packet(1), p.now, out);
    const b = p.cPeer.encapsulate(packet(2), p.now, out);
    expect(a).toBe(b);
  });
});

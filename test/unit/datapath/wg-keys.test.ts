/**
 * The fast path's WireGuard keypair table: the main thread's side (wg-table.ts) and a
 * worker's opener/sealer (wg-keys.ts) against the protocol core's own transport functions,
 * with real OpenSSL keys. A keypair shared through the table is one keypair: a counter
 * either side takes is never taken again, a counter either side accepted is a replay for
 * the other, and a slot that no longer holds the index (freed, reused) or a keypair past
 * its lifetime is never used by a worker.
 */
import { describe, expect, test } from "bun:test";
import { loadOpenSslAead } from "../../../src/crypto/openssl.ts";
import { loadLibcrypto } from "../../../src/platform/linux/libcrypto.ts";
import { counterBytes, G_WG_DECRYPT, G_WG_REPLAY, G_WG_UNKNOWN } from "../../../src/datapath/layout.ts";
import { unixMs } from "../../../src/lib/clock.ts";
import { WG_DROP, WG_HAND, WG_HEAD, WgKeys } from "../../../src/datapath/wg-keys.ts";
import { keypairSlots, WgKeypairTable } from "../../../src/datapath/wg-table.ts";
import { Keypair } from "../../../src/protocol/wireguard/keypair.ts";
import { readCounter } from "../../../src/protocol/wireguard/messages.ts";
import { OPEN_REPLAY, openTransport, sealTransport, transportLength } from "../../../src/protocol/wireguard/transport.ts";

const aead = loadOpenSslAead();
const lib = loadLibcrypto();
const haveOpenSsl = aead.ok && lib.ok;
const MTU = 1420;
const LIMIT = Number.MAX_SAFE_INTEGER;

function key(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

/** An IPv4-looking packet of `n` bytes. */
function packet(n: number, tag: number): Uint8Array {
  const p = new Uint8Array(n).fill(tag);
  p[0] = 0x45;
  return p;
}

/**
 * The server's keypair (index `local`, shared through a fresh table: sends with key 1,
 * receives with key 2) and the client's mirror (index 77: sends with 2, receives with 1).
 */
function setup(local: number, initiator = true, expiresAt = unixMs() + 60_000) {
  if (!aead.ok || !lib.ok) throw new Error("no OpenSSL");
  const table = new WgKeypairTable(256, MTU);
  const server = new Keypair(aead.backend, key(1), key(2), local, 77, initiator, 0, (kp, s, r) => table.bind(kp, 5, s, r, expiresAt));
  const client = new Keypair(aead.backend, key(2), key(1), 77, local, !initiator, 0);
  const counters = new Float64Array(new SharedArrayBuffer(counterBytes(8)));
  const worker = new WgKeys(table.sab, lib.lib.context(new Uint8Array(32)), counters);
  worker.now = unixMs();
  return { table, server, client, worker, counters };
}

/** A buffer with `p` at WG_HEAD and room for padding and tag after it. */
function framed(p: Uint8Array): Uint8Array {
  const b = new Uint8Array(WG_HEAD + p.length + 64);
  b.set(p, WG_HEAD);
  return b;
}

describe.skipIf(!haveOpenSsl)("WireGuard keypairs shared with the fast path's workers", () => {
  test("a worker seals what the peer's keypair opens, and opens what the peer seals; the send counter is one", () => {
    const { table, server, client, worker } = setup(0x1234_5605);
    expect(server.shared).toBe(true);
    expect(table.size).toBe(1);
    const k = table.slotOf(server);
    expect(k).toBe(0x05);
    for (const n of [84, 1400, 1, 0]) {
      const b = framed(packet(n, n & 0xff));
      const m = worker.seal(k, server.localIndex, b, WG_HEAD, n);
      expect(m).toBe(transportLength(n, MTU));
      const msg = b.slice(0, m);
      const len = openTransport(client, msg, LIMIT);
      expect(len).toBeGreaterThanOrEqual(n);
      expect([...msg.subarray(WG_HEAD, WG_HEAD + n)]).toEqual([...packet(n, n & 0xff)]);
    }
    // The main thread's next message takes counter 4: the worker took 0-3.
    expect(server.sendCounter).toBe(4);
    const out = new Uint8Array(transportLength(84, MTU));
    expect(sealTransport(server, packet(84, 9), out, MTU)).toBe(out.length);
    expect(readCounter(out, 8)).toBe(4);
    // The client's messages: the worker opens them in place.
    for (let i = 0; i < 3; i++) {
      const msg = new Uint8Array(transportLength(100, MTU));
      sealTransport(client, packet(100, i), msg, MTU);
      const n = worker.open(msg, 0, msg.length);
      expect(n).toBe(112);
      expect(worker.slot).toBe(5);
      expect(worker.confirmed).toBe(true);
      expect(worker.index).toBe(server.localIndex);
      expect([...msg.subarray(WG_HEAD, WG_HEAD + 100)]).toEqual([...packet(100, i)]);
    }
  });

  test("one replay window: what a worker accepted is a replay for the main thread, and the other way round", () => {
    const { server, client, worker, counters } = setup(0xabcd_0001);
    const a = new Uint8Array(transportLength(60, MTU));
    const b = new Uint8Array(transportLength(60, MTU));
    sealTransport(client, packet(60, 1), a, MTU);
    sealTransport(client, packet(60, 2), b, MTU);
    const a2 = a.slice();
    expect(worker.open(a, 0, a.length)).toBeGreaterThan(0);
    expect(openTransport(server, a2, LIMIT)).toBe(OPEN_REPLAY);
    expect(openTransport(server, b.slice(), LIMIT)).toBeGreaterThan(0);
    expect(worker.open(b, 0, b.length)).toBe(WG_DROP);
    expect(counters[G_WG_REPLAY]).toBe(1);
    // A forged tag is dropped and counted, never handed over.
    const c = new Uint8Array(transportLength(60, MTU));
    sealTransport(client, packet(60, 3), c, MTU);
    c[c.length - 1] = (c[c.length - 1] as number) ^ 1;
    expect(worker.open(c, 0, c.length)).toBe(WG_DROP);
    expect(counters[G_WG_DECRYPT]).toBe(1);
  });

  test("a responder's keypair is opened but cannot send until the main thread confirms it", () => {
    const { table, server, client, worker } = setup(0x0000_0142, false);
    const k = table.slotOf(server);
    const b = framed(packet(40, 1));
    expect(worker.seal(k, server.localIndex, b, WG_HEAD, 40)).toBe(-1);
    const msg = new Uint8Array(transportLength(40, MTU));
    sealTransport(client, packet(40, 1), msg, MTU);
    expect(worker.open(msg, 0, msg.length)).toBe(48);
    expect(worker.confirmed).toBe(false);
    expect(table.confirm(server, 5)).toBe(true);
    expect(worker.seal(k, server.localIndex, b, WG_HEAD, 40)).toBe(transportLength(40, MTU));
  });

  test("a freed or reused slot, a stale index and an expired keypair are never used by a worker", () => {
    const { table, server, client, worker, counters } = setup(0x7777_0010);
    const k = table.slotOf(server);
    const msg = new Uint8Array(transportLength(40, MTU));
    sealTransport(client, packet(40, 1), msg, MTU);
    // An index with the same slot bits but other high bits: not this keypair, and nobody's
    // (every keypair has a slot), so the worker drops it itself, counted.
    const other = msg.slice();
    other[7] = (other[7] as number) ^ 0x40;
    expect(worker.open(other, 0, other.length)).toBe(WG_DROP);
    expect(counters[G_WG_UNKNOWN]).toBe(1);
    expect(worker.seal(k, server.localIndex ^ 0x40000000, framed(packet(40, 1)), WG_HEAD, 40)).toBe(-1);
    table.free(server.localIndex);
    expect(table.size).toBe(0);
    expect(worker.open(msg.slice(), 0, msg.length)).toBe(WG_DROP);
    expect(worker.seal(k, server.localIndex, framed(packet(40, 1)), WG_HEAD, 40)).toBe(-1);

    const late = setup(0x7777_0011, true, unixMs() - 1);
    const m2 = new Uint8Array(transportLength(40, MTU));
    sealTransport(late.client, packet(40, 1), m2, MTU);
    expect(late.worker.open(m2, 0, m2.length)).toBe(WG_HAND); // the main thread drops it as expired-key
    expect(late.worker.seal(late.table.slotOf(late.server), late.server.localIndex, framed(packet(40, 1)), WG_HEAD, 40)).toBe(-1);
  });

  test("index() bends random bits onto a free slot; a keypair whose slot is taken stays unshared", () => {
    const { table, server } = setup(0x5000_0003);
    expect(table.index(0x9000_0003)).toBe(0x9000_0004); // slot 3 is taken: the next one
    expect(table.index(0x9000_00f0)).toBe(0x9000_00f0);
    if (!aead.ok) return;
    const clash = new Keypair(aead.backend, key(3), key(4), 0x6000_0003, 1, true, 0, (kp, s, r) => table.bind(kp, 6, s, r, unixMs() + 1000));
    expect(clash.shared).toBe(false);
    expect(table.slotOf(clash)).toBe(-1);
    expect(table.slotOf(server)).toBe(3);
    // While the main thread holds a keypair without a slot, an index no slot holds may be its:
    // the worker hands such messages over instead of dropping them.
    if (!lib.ok) return;
    const worker = new WgKeys(table.sab, lib.lib.context(new Uint8Array(32)), new Float64Array(new SharedArrayBuffer(counterBytes(8))));
    worker.now = unixMs();
    const peer = new Keypair(aead.backend, key(4), key(3), 1, 0x6000_0003, false, 0);
    const msg = new Uint8Array(transportLength(40, MTU));
    sealTransport(peer, packet(40, 1), msg, MTU);
    expect(worker.open(msg, 0, msg.length)).toBe(WG_HAND);
    table.free(clash.localIndex);
    expect(worker.open(msg, 0, msg.length)).toBe(WG_DROP);
  });

  test("slots: a few per tunnel address, within bounds", () => {
    expect(keypairSlots(2)).toBe(256);
    expect(keypairSlots(254)).toBe(1024);
    expect(keypairSlots(65536)).toBe(8192);
  });
});

/**
 * @module server/doors/wireguard/warmup
 * JavaScriptCore compiles a function only after it has run many times. A tunnel that
 * carries a ping every few milliseconds never gets the WireGuard transport code that hot,
 * and interpreted it cost 30-50 µs a packet where compiled it costs about 1 µs
 * (measured: bench/RESULTS.md, WireGuard section). So at start the door runs the same
 * code on a throwaway pair of devices: one handshake, then sealing and opening small
 * IP packets both ways, bounded in rounds and in time. Nothing here touches the network
 * or the server's keys.
 */

import type { AeadBackend } from "../../../crypto/aead.ts";
import { generatePrivateKey, publicKey } from "../../../crypto/x25519.ts";
import { Device } from "../../../protocol/wireguard/device.ts";

/** Round trips the warm-up aims for, and the most time it may take. */
export const WARMUP_ROUNDS = 20_000;
export const WARMUP_MAX_MS = 150;

/** A minimal IPv4 packet (20-byte header, 60 bytes of payload) the core accepts as a whole packet. */
function samplePacket(): Uint8Array {
  const p = new Uint8Array(80);
  p[0] = 0x45;
  p[3] = p.length;
  p[8] = 64;
  p[9] = 17;
  return p;
}

/** Runs the transport path hot; returns the round trips done. Never throws (a failed warm-up only costs speed). */
export function warmUp(aead: AeadBackend, rounds = WARMUP_ROUNDS, maxMs = WARMUP_MAX_MS): number {
  try {
    let clock = 0;
    const aKey = generatePrivateKey();
    const bKey = generatePrivateKey();
    const a = new Device({ privateKey: aKey, aead, wallClock: () => 1_800_000_000_000 + clock });
    const b = new Device({ privateKey: bKey, aead, wallClock: () => 1_800_000_000_000 + clock });
    const toB = a.addPeer(publicKey(bKey), { address: "::ffff:127.0.0.2", port: 2 });
    const toA = b.addPeer(publicKey(aKey), { address: "::ffff:127.0.0.1", port: 1 });
    toB.initiate(clock, false);
    for (const m of a.takeOutgoing()) b.receive(m.data, "::ffff:127.0.0.1", 1, clock);
    for (const m of b.takeOutgoing()) a.receive(m.data, "::ffff:127.0.0.2", 2, clock);
    a.takeOutgoing();
    const pkt = samplePacket();
    const out = new Uint8Array(256);
    const deadline = performance.now() + maxMs;
    let done = 0;
    for (; done < rounds && (done & 255 || performance.now() < deadline); done++) {
      clock += 0.001;
      const s = toB.encapsulate(pkt, clock, out);
      if (s.kind === "send") b.receive(out.subarray(0, s.length), "::ffff:127.0.0.1", 1, clock);
      const r = toA.encapsulate(pkt, clock, out);
      if (r.kind === "send") a.receive(out.subarray(0, r.length), "::ffff:127.0.0.2", 2, clock);
    }
    a.takeOutgoing();
    b.takeOutgoing();
    return done;
  } catch {
    return 0;
  }
}

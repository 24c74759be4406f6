/**
 * Two pure WireGuard devices wired through an in-memory "wire" on a manual clock: a client that
 * knows the server's endpoint, and a server that learns the client's from its initiation.
 * Messages wait on the wire until `flush()`, so tests can drop, reorder, duplicate or replay them.
 */
import type { AeadBackend } from "../../../../src/crypto/aead.ts";
import { generatePrivateKey, publicKey } from "../../../../src/crypto/x25519.ts";
import type { Limits } from "../../../../src/protocol/wireguard/context.ts";
import { Device } from "../../../../src/protocol/wireguard/device.ts";
import type { Peer } from "../../../../src/protocol/wireguard/peer.ts";
import { udp4 } from "../../../fakes/packets.ts";

export type Side = "client" | "server";
export const CLIENT_ADDR = "192.0.2.1";
export const CLIENT_PORT = 40000;
export const SERVER_ADDR = "198.51.100.1";
export const SERVER_PORT = 51820;

/** A message in flight. */
export interface Wire {
  from: Side;
  data: Uint8Array;
  address: string;
  port: number;
  /** Source address the receiver sees (the sender's endpoint; tests change it to simulate roaming). */
  srcAddress: string;
  srcPort: number;
}

/** What a receive produced, copied out of the reused result. */
export interface Got {
  to: Side;
  kind: string;
  reason: string;
  packet: Uint8Array | null;
  roamed: boolean;
  type: number;
  /** Clock when it was received. */
  at: number;
}

/** An IPv4 UDP packet whose payload carries `seq` (4 bytes) and `size` bytes in total. */
export function packet(seq: number, size = 100): Uint8Array {
  const payload = new Uint8Array(Math.max(4, size - 28));
  new DataView(payload.buffer).setUint32(0, seq);
  return udp4({ src: "10.0.0.2", dst: "10.0.0.1", sport: 1000, dport: 2000, payload });
}

/** The seq of a packet built by {@link packet}. */
export function seqOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset).getUint32(28);
}

export class Pair {
  now = 1_000_000;
  readonly wallStart = 1_700_000_000_000;
  /** Added to the wall clock only (to simulate a clock step). */
  wallOffset = 0;
  readonly client: Device;
  readonly server: Device;
  /** The client's peer (the server). */
  readonly cPeer: Peer;
  /** The server's peer (the client). */
  readonly sPeer: Peer;
  wire: Wire[] = [];
  got: Got[] = [];
  clientSrc = { address: CLIENT_ADDR, port: CLIENT_PORT };
  readonly out = new Uint8Array(2048);

  constructor(
    aead: AeadBackend,
    o: { psk?: Uint8Array; serverPsk?: Uint8Array; clientLimits?: Partial<Limits>; serverLimits?: Partial<Limits> } = {},
  ) {
    const ck = generatePrivateKey();
    const sk = generatePrivateKey();
    const wallClock = () => this.wallStart + this.wallOffset + this.now;
    this.client = new Device({ privateKey: ck, aead, wallClock, limits: o.clientLimits ?? {} });
    this.server = new Device({ privateKey: sk, aead, wallClock, limits: o.serverLimits ?? {} });
    const psk = o.psk ?? new Uint8Array(32).fill(7);
    this.cPeer = this.client.addPeer(publicKey(sk), { presharedKey: psk, address: SERVER_ADDR, port: SERVER_PORT });
    this.sPeer = this.server.addPeer(publicKey(ck), { presharedKey: o.serverPsk ?? psk });
  }

  device(side: Side): Device {
    return side === "client" ? this.client : this.server;
  }

  /** Moves both outboxes onto the wire. */
  collect(): void {
    for (const side of ["client", "server"] as const) {
      for (const m of this.device(side).takeOutgoing()) {
        const src = side === "client" ? this.clientSrc : { address: SERVER_ADDR, port: SERVER_PORT };
        this.wire.push({ from: side, data: m.data, address: m.address, port: m.port, srcAddress: src.address, srcPort: src.port });
      }
    }
  }

  /** Delivers one message (a copy) to the side it was not sent from. */
  deliver(w: Wire): Got {
    const to: Side = w.from === "client" ? "server" : "client";
    const data = w.data.slice();
    const r = this.device(to).receive(data, w.srcAddress, w.srcPort, this.now);
    const g: Got = { to, kind: r.kind, reason: r.reason, packet: r.kind === "deliver" ? r.packet.slice() : null, roamed: r.roamed, type: w.data[0] ?? 0, at: this.now };
    this.got.push(g);
    return g;
  }

  /** Delivers everything in flight (and what that provokes) until quiet; `keep` may drop messages. */
  flush(keep: (w: Wire) => boolean = () => true): void {
    for (let round = 0; round < 50; round++) {
      this.collect();
      if (this.wire.length === 0) return;
      const batch = this.wire.splice(0);
      for (const w of batch) if (keep(w)) this.deliver(w);
    }
    throw new Error("wire never went quiet");
  }

  /** Encapsulates `p` on `side`; a sealed message goes onto the wire. Returns the result kind. */
  send(side: Side, p: Uint8Array): string {
    const peer = side === "client" ? this.cPeer : this.sPeer;
    const r = peer.encapsulate(p, this.now, this.out);
    if (r.kind === "send") {
      const src = side === "client" ? this.clientSrc : { address: SERVER_ADDR, port: SERVER_PORT };
      this.wire.push({ from: side, data: this.out.slice(0, r.length), address: r.address, port: r.port, srcAddress: src.address, srcPort: src.port });
    }
    return r.kind;
  }

  /** Advances the clock and runs both devices' timers. */
  advance(ms: number, step = 100): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      this.client.tick(this.now);
      this.server.tick(this.now);
    }
  }

  /** Advances the clock in steps, running timers and delivering everything after each step. */
  run(ms: number, step = 100): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.advance(Math.min(step, end - this.now), step);
      this.flush();
    }
  }

  /** Packets delivered to `side` (their seq numbers), and clears the log. */
  delivered(side: Side): number[] {
    const out = this.got.filter((g) => g.to === side && g.packet !== null).map((g) => seqOf(g.packet as Uint8Array));
    this.got = this.got.filter((g) => g.to !== side);
    return out;
  }

  /** Completes a handshake started by the client sending `p`. */
  connect(): void {
    this.send("client", packet(0));
    this.flush();
    this.got = [];
  }
}

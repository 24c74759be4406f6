/**
 * @module server/router
 * One packet's fate. The data path, in order:
 *
 *  client datagram (TransportSink.datagram)
 *   1. classify by first byte: control (0x00) or IPv4/IPv6 data; junk is counted, dropped
 *   2. control: a lone 0x00 is a keepalive (echoed to a known endpoint); anything
 *      longer is a handshake, handed to the Handshaker
 *   3. data: session by endpoint (none: drop "no-session", and ask a recently closed
 *      endpoint to handshake again) -> header sane ("malformed") -> IPv6 link-local
 *      source ("link-local") -> source address must be the session's ("spoofed") ->
 *      destination:
 *        another client's address: hub-forward in userspace, or drop "isolated"
 *        an unleased pool address: drop "no-route"
 *        anything else: write to the TUN
 *
 *  TUN packet (TunSink.packet, in batches)
 *   1. destination address -> session (none: drop "no-session")
 *   2. isolate: a packet from another client's address that came back through the
 *      kernel is dropped ("isolated")
 *   3. queue to the transport; TunSink.flush sends the batch with one sendMany
 *
 * Allocation-free on every path a data packet takes: numbers for addresses, Map
 * lookups keyed by the socket's own strings, views only when a datagram carries
 * trailing bytes beyond the IP length.
 */

import { claimedLength, ipv4Dst, ipv4Src, ipv6Tail32, IPV6_DST_OFF, IPV6_SRC_OFF, ipVersion } from "../protocol/ip.ts";
import { classify, Kind, KEEPALIVE, REHANDSHAKE } from "../protocol/toyvpn.ts";
import type { TunDevice, TunSink } from "../tun/device.ts";
import type { Transport, TransportSink } from "../transport/transport.ts";
import type { Clock } from "../lib/clock.ts";
import type { Pool4 } from "./pool.ts";
import type { Pool6 } from "./pool6.ts";
import type { Session, SessionTable } from "./sessions.ts";
import type { ServerStats } from "./stats.ts";

/** Handles handshake datagrams (see engine/handshake.ts). */
export interface HandshakeHandler {
  handshake(d: Uint8Array, address: string, port: number): void;
}

/** Observes packets of one session (capture). Called with the packet and its direction. */
export type PacketTap = (s: Session, pkt: Uint8Array, inbound: boolean) => void;

/** What the router needs. */
export interface RouterDeps {
  sessions: SessionTable;
  pool4: Pool4;
  pool6: Pool6 | null;
  tun: TunDevice;
  transport: Transport;
  clock: Clock;
  stats: ServerStats;
  handshakes: HandshakeHandler;
}

/** The packet router; both the transport's and the TUN's sink. */
export class Router implements TunSink, TransportSink {
  /** Drop client-to-client traffic in both directions. Changeable at runtime. */
  isolate = false;
  /** Optional per-packet observer (capture); null costs one comparison per packet. */
  tap: PacketTap | null = null;
  readonly #d: RouterDeps;
  readonly #serverAddr4: number;

  constructor(deps: RouterDeps) {
    this.#d = deps;
    this.#serverAddr4 = deps.pool4.serverAddress;
  }

  // --- client -> server ---

  datagram(d: Uint8Array, address: string, port: number, truncated: boolean): void {
    const deps = this.#d;
    const kind = truncated ? Kind.Junk : classify(d);
    if (kind === Kind.Data4 || kind === Kind.Data6) {
      const s = deps.sessions.byEndpoint(address, port);
      if (s === undefined) return this.#noSession(address, port);
      s.lastSeen = deps.clock.now();
      if (kind === Kind.Data4) this.#fromClient4(s, d);
      else this.#fromClient6(s, d);
      return;
    }
    if (kind === Kind.Keepalive) {
      const s = deps.sessions.byEndpoint(address, port);
      if (s === undefined) return this.#noSession(address, port);
      s.lastSeen = deps.clock.now();
      deps.stats.keepalives++;
      deps.transport.sendNow(KEEPALIVE, port, address);
      return;
    }
    if (kind === Kind.Handshake) return deps.handshakes.handshake(d, address, port);
    // Empty, junk, truncated, or a rehandshake request (meaningless to a server).
    deps.stats.junk++;
  }

  #noSession(address: string, port: number): void {
    const deps = this.#d;
    deps.stats.drops["no-session"]++;
    if (deps.sessions.shouldAskRehandshake(address, port, deps.clock.now())) {
      deps.stats.rehandshakeRequests++;
      deps.transport.sendNow(REHANDSHAKE, port, address);
    }
  }

  #fromClient4(s: Session, d: Uint8Array): void {
    const deps = this.#d;
    const len = claimedLength(d);
    if (len < 0) return this.#drop(s, "malformed");
    if (ipv4Src(d) !== s.addr4) return this.#drop(s, "spoofed");
    const pkt = len === d.length ? d : d.subarray(0, len);
    const dst = ipv4Dst(d);
    if (dst !== this.#serverAddr4 && deps.pool4.contains(dst)) {
      const peer = deps.sessions.byAddr4(dst);
      if (peer !== undefined) return this.#hub(s, peer, pkt);
      if (deps.pool4.isClientAddress(dst)) return this.#drop(s, "no-route");
    }
    this.#toTun(s, pkt);
  }

  #fromClient6(s: Session, d: Uint8Array): void {
    const deps = this.#d;
    const len = claimedLength(d);
    if (len < 0) return this.#drop(s, "malformed");
    // fe80::/10: the client's kernel talking to its own link (not spoofing, not routable)
    if (d[IPV6_SRC_OFF] === 0xfe && ((d[IPV6_SRC_OFF + 1] as number) & 0xc0) === 0x80) return this.#drop(s, "link-local");
    const a6 = s.addr6;
    if (a6 === null) return this.#drop(s, "no-route");
    for (let i = 0; i < 16; i++) if (d[IPV6_SRC_OFF + i] !== a6[i]) return this.#drop(s, "spoofed");
    const pkt = len === d.length ? d : d.subarray(0, len);
    const pool6 = deps.pool6;
    if (pool6 !== null && pool6.containsAt(d, IPV6_DST_OFF)) {
      const peer = deps.sessions.byAddr6Key(ipv6Tail32(d, IPV6_DST_OFF));
      if (peer !== undefined) return this.#hub(s, peer, pkt);
      if (ipv6Tail32(d, IPV6_DST_OFF) !== 1) return this.#drop(s, "no-route");
    }
    this.#toTun(s, pkt);
  }

  #hub(from: Session, to: Session, pkt: Uint8Array): void {
    const deps = this.#d;
    if (this.isolate) return this.#drop(from, "isolated");
    from.rxPackets++;
    from.rxBytes += pkt.length;
    if (this.tap !== null) this.tap(from, pkt, true);
    if (!deps.transport.sendNow(pkt, to.port, to.address)) return this.#drop(to, "send");
    deps.stats.hubPackets++;
    deps.stats.rxPackets++;
    deps.stats.rxBytes += pkt.length;
    this.#countTx(to, pkt);
  }

  #toTun(s: Session, pkt: Uint8Array): void {
    const deps = this.#d;
    if (!deps.tun.write(pkt)) return this.#drop(s, "tun-write");
    s.rxPackets++;
    s.rxBytes += pkt.length;
    deps.stats.rxPackets++;
    deps.stats.rxBytes += pkt.length;
    if (this.tap !== null) this.tap(s, pkt, true);
  }

  #drop(s: Session, reason: keyof Session["drops"]): void {
    s.drops[reason]++;
    this.#d.stats.drops[reason]++;
  }

  #countTx(s: Session, pkt: Uint8Array): void {
    s.txPackets++;
    s.txBytes += pkt.length;
    this.#d.stats.txPackets++;
    this.#d.stats.txBytes += pkt.length;
    if (this.tap !== null) this.tap(s, pkt, false);
  }

  // --- TUN -> client ---

  packet(pkt: Uint8Array): void {
    const deps = this.#d;
    const v = ipVersion(pkt);
    let s: Session | undefined;
    if (v === 4 && pkt.length >= 20) {
      s = deps.sessions.byAddr4(ipv4Dst(pkt));
      if (s !== undefined && this.isolate) {
        const src = ipv4Src(pkt);
        if (src !== this.#serverAddr4 && deps.pool4.contains(src)) return this.#drop(s, "isolated");
      }
    } else if (v === 6 && pkt.length >= 40 && deps.pool6 !== null && deps.pool6.containsAt(pkt, IPV6_DST_OFF)) {
      s = deps.sessions.byAddr6Key(ipv6Tail32(pkt, IPV6_DST_OFF));
      if (s !== undefined && this.isolate && deps.pool6.containsAt(pkt, IPV6_SRC_OFF) && ipv6Tail32(pkt, IPV6_SRC_OFF) !== 1) {
        return this.#drop(s, "isolated");
      }
    }
    if (s === undefined) {
      deps.stats.drops["no-session"]++;
      return;
    }
    if (!deps.transport.queue(pkt, s.port, s.address)) return this.#drop(s, "send");
    this.#countTx(s, pkt);
  }

  flush(): void {
    this.#d.transport.flush();
  }
}

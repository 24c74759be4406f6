/**
 * @module server/router
 * One packet's fate, for every front door alike. The data path, in order:
 *
 *  from a client (`fromSession`, called by the door that authenticated the datagram)
 *   1. header sane ("malformed"); IPv6 link-local source ("link-local"); source address
 *      must be the session's ("spoofed")
 *   2. destination:
 *        another client's address: hub-forward through that client's door, or drop "isolated"
 *        an unleased pool address: drop "no-route"
 *        anything else: write to the TUN
 *
 *  from the TUN (TunSink.packet, in batches)
 *   1. destination address -> session (none: drop "no-session")
 *   2. isolate: a packet from another client's address that came back through the
 *      kernel is dropped ("isolated")
 *   3. the session's door queues it; TunSink.flush ends the batch at every door
 *
 * Allocation-free on every path a data packet takes: numbers for addresses, Map lookups,
 * views only when a datagram carries trailing bytes beyond the IP length.
 */

import { claimedLength, ipv4Dst, ipv4Src, ipv6Tail32, IPV6_DST_OFF, IPV6_SRC_OFF, ipVersion } from "../protocol/ip.ts";
import type { TunDevice, TunSink } from "../tun/device.ts";
import type { Pool4 } from "./pool.ts";
import type { Pool6 } from "./pool6.ts";
import type { DropReason, Session } from "./session.ts";
import type { SessionTable } from "./sessions.ts";
import type { ServerStats } from "./stats.ts";

/** Observes packets of one session (capture). Called with the plain IP packet and its direction. */
export type PacketTap = (s: Session, pkt: Uint8Array, inbound: boolean) => void;

/** Ends a TUN batch: a front door sends what it queued. */
export interface BatchEnd {
  flush(): void;
}

/** What the router needs. */
export interface RouterDeps {
  sessions: SessionTable;
  pool4: Pool4;
  pool6: Pool6 | null;
  tun: TunDevice;
  stats: ServerStats;
}

/** The packet router: the TUN's sink, and the doors' way into the TUN. */
export class Router implements TunSink {
  /** Optional per-packet observer (capture); null costs one comparison per packet. */
  tap: PacketTap | null = null;
  /** Told when capture of a session starts or stops (a data-path shortcut then hands its packets here). */
  onWatch: ((s: Session, on: boolean) => void) | null = null;
  readonly #d: RouterDeps;
  readonly #serverAddr4: number;
  #isolate = false;
  #doors: readonly BatchEnd[] = [];

  constructor(deps: RouterDeps) {
    this.#d = deps;
    this.#serverAddr4 = deps.pool4.serverAddress;
  }

  /** Whether client-to-client traffic is dropped (both directions). Set through Server.setLive. */
  get isolate(): boolean {
    return this.#isolate;
  }

  set isolate(on: boolean) {
    this.#isolate = on;
  }

  /** The doors whose queues end with each TUN batch. */
  setDoors(doors: readonly BatchEnd[]): void {
    this.#doors = doors;
  }

  // --- client -> server ---

  /**
   * One IP datagram from `s`'s peer (already authenticated by its door). `d` may carry
   * trailing bytes beyond the IP length (ToyVpn padding, WireGuard's 16-byte padding);
   * it is valid only during the call.
   */
  fromSession(s: Session, d: Uint8Array): void {
    const v = ipVersion(d);
    if (v === 4) this.#fromClient4(s, d);
    else if (v === 6) this.#fromClient6(s, d);
    else this.#drop(s, "malformed");
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
    const stats = this.#d.stats;
    if (this.#isolate) return this.#drop(from, "isolated");
    from.rxPackets++;
    from.rxBytes += pkt.length;
    if (this.tap !== null) this.tap(from, pkt, true);
    if (!to.door.sendNow(to, pkt)) return this.#drop(to, "send");
    stats.hubPackets++;
    stats.rxPackets++;
    stats.rxBytes += pkt.length;
    this.#countTx(to, pkt);
  }

  #toTun(s: Session, pkt: Uint8Array): void {
    const stats = this.#d.stats;
    if (!this.#d.tun.write(pkt)) return this.#drop(s, "tun-write");
    s.rxPackets++;
    s.rxBytes += pkt.length;
    stats.rxPackets++;
    stats.rxBytes += pkt.length;
    if (this.tap !== null) this.tap(s, pkt, true);
  }

  #drop(s: Session, reason: DropReason): void {
    s.drops[reason]++;
    this.#d.stats.drops[reason]++;
  }

  #countTx(s: Session, pkt: Uint8Array): void {
    const stats = this.#d.stats;
    s.txPackets++;
    s.txBytes += pkt.length;
    stats.txPackets++;
    stats.txBytes += pkt.length;
    if (this.tap !== null) this.tap(s, pkt, false);
  }

  // --- TUN -> client ---

  packet(pkt: Uint8Array): void {
    const s = this.#sessionFor(pkt);
    if (s === undefined) {
      this.#d.stats.drops["no-session"]++;
      return;
    }
    if (s === null) return; // dropped as isolated, counted
    if (!s.door.queue(s, pkt)) return this.#drop(s, "send");
    this.#countTx(s, pkt);
  }

  /** The session a TUN packet goes to; null when it was dropped (and counted) here. */
  #sessionFor(pkt: Uint8Array): Session | null | undefined {
    const deps = this.#d;
    const v = ipVersion(pkt);
    if (v === 4 && pkt.length >= 20) {
      const s = deps.sessions.byAddr4(ipv4Dst(pkt));
      if (s !== undefined && this.#isolate) {
        const src = ipv4Src(pkt);
        if (src !== this.#serverAddr4 && deps.pool4.contains(src)) return this.#dropNull(s);
      }
      return s;
    }
    const pool6 = deps.pool6;
    if (v === 6 && pkt.length >= 40 && pool6 !== null && pool6.containsAt(pkt, IPV6_DST_OFF)) {
      const s = deps.sessions.byAddr6Key(ipv6Tail32(pkt, IPV6_DST_OFF));
      if (s !== undefined && this.#isolate && pool6.containsAt(pkt, IPV6_SRC_OFF) && ipv6Tail32(pkt, IPV6_SRC_OFF) !== 1) {
        return this.#dropNull(s);
      }
      return s;
    }
    return undefined;
  }

  #dropNull(s: Session): null {
    this.#drop(s, "isolated");
    return null;
  }

  /** Capture of `s` starts (`on`) or stops: every packet of `s` must pass `tap`. */
  watch(s: Session, on: boolean): void {
    this.onWatch?.(s, on);
  }

  flush(): void {
    const doors = this.#doors;
    for (let i = 0; i < doors.length; i++) (doors[i] as BatchEnd).flush();
  }
}

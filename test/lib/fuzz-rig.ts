/**
 * @module test/lib/fuzz-rig
 * The fuzz test's driver around a server on fakes (server-rig.ts): two live sessions
 * with their own traffic and the counters it must produce, the hostile inputs of
 * test/lib/fuzz.ts aimed at the server from strangers, from sessions the fuzzer opened
 * itself and from endpoints it kicked, TUN-side junk, and the invariant check.
 *
 * Junk must never reach the live sessions by address (that would be traffic for them,
 * not junk): `guard` bends any destination of theirs in a fuzz packet away.
 */

import { expect } from "bun:test";
import { parseIpv4, parseIpv6 } from "../../src/protocol/ip.ts";
import { buildHandshake, KEEPALIVE } from "../../src/protocol/toyvpn.ts";
import type { Session } from "../../src/server/session.ts";
import { badHeader, controlDatagram, type Endpoint, ipPacket, mutate, randomEndpoint, type Rng, someIpv4, someIpv6 } from "./fuzz.ts";
import type { ToyRig } from "./server-rig.ts";

/** A session that must come through unharmed, and what its counters must read. */
interface Live {
  ep: Endpoint;
  id: string;
  s: Session;
  addr4: string;
  addr6: string;
  want: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
}

/** A session the fuzzer opened. */
interface Mine {
  ep: Endpoint;
  s: Session;
}

const tunnel4 = (s: Session) => `10.8.0.${s.addr4 & 0xff}`;
const tunnel6 = (s: Session) => `fd00:8::${(s.addr4 & 0xff).toString(16)}`;
const sum = (o: object): number => Object.values(o).reduce((a: number, b) => a + (b as number), 0);

/** Drives one fuzz run; `udpIn` / `tunIn` count every input given to the server. */
export class Fuzzer {
  udpIn = 0;
  tunIn = 0;
  /** What the last input was (for the failure message). */
  step = "setup";
  readonly a: Live;
  readonly b: Live;
  readonly mine: Mine[] = [];
  readonly #r: ToyRig;
  readonly #rng: Rng;
  readonly #secret: string;
  readonly #guarded4: number[];
  readonly #guarded6: Uint8Array[];
  /** Endpoints whose session was kicked (their stray datagrams earn a rehandshake request). */
  readonly #closed: Endpoint[] = [];
  readonly #corpus: Uint8Array[];

  constructor(r: ToyRig, rng: Rng, secret: string) {
    this.#r = r;
    this.#rng = rng;
    this.#secret = secret;
    this.a = this.#live("live-a", { address: "::ffff:192.0.2.1", port: 40001 });
    this.b = this.#live("live-b", { address: "::ffff:192.0.2.2", port: 40002 });
    this.#guarded4 = [this.a, this.b].map((l) => parseIpv4(l.addr4) as number);
    this.#guarded6 = [this.a, this.b].map((l) => parseIpv6(l.addr6) as Uint8Array);
    this.#corpus = [buildHandshake(`${secret}:fz1`), ipPacket(rng, this.a.addr4, "10.8.0.1"), ipPacket(rng, this.b.addr6, "fd00:8::1")];
  }

  /** One datagram from `ep`, counted. */
  recv(d: Uint8Array, ep: Endpoint, truncated = false): void {
    this.udpIn++;
    this.#r.udp.receive(d, ep.address, ep.port, truncated);
  }

  /** One TUN read batch, counted. */
  inject(pkts: Uint8Array[]): void {
    this.tunIn += pkts.length;
    this.#r.tun.inject(...pkts);
  }

  #live(id: string, ep: Endpoint): Live {
    for (let i = 0; i < 3; i++) this.recv(buildHandshake(`${this.#secret}:${id}`), ep);
    const s = this.#r.toy.sessionAt(ep.address, ep.port);
    if (s === undefined || s.addr6 === null) throw new Error(`live session ${id} did not come up`);
    return { ep, id, s, addr4: tunnel4(s), addr6: tunnel6(s), want: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 } };
  }

  /** Bends a destination that is a live session's away (in place). */
  guard(d: Uint8Array): Uint8Array {
    const v = d.length > 0 ? (d[0] as number) >>> 4 : 0;
    if (v === 4 && d.length >= 20) {
      const dst = (((d[16] as number) << 24) | ((d[17] as number) << 16) | ((d[18] as number) << 8) | (d[19] as number)) >>> 0;
      if (this.#guarded4.includes(dst)) d[19] = (d[19] as number) ^ 0x80;
    } else if (v === 6 && d.length >= 40) {
      for (const a of this.#guarded6) if (a.every((b, i) => d[24 + i] === b)) d[39] = (d[39] as number) ^ 0x80;
    }
    return d;
  }

  /** The live sessions' own traffic: to the TUN, back from it, hub both ways, a keepalive each. */
  liveRound(): void {
    const rng = this.#rng;
    this.step = "live traffic";
    for (const [me, peer] of [[this.a, this.b], [this.b, this.a]] as const) {
      const v6 = rng.chance(0.3);
      const up = ipPacket(rng, v6 ? me.addr6 : me.addr4, v6 ? "fd00:8::1" : rng.pick(["10.8.0.1", "203.0.113.9"]));
      this.recv(up, me.ep);
      const down = ipPacket(rng, v6 ? "2001:db8:1::9" : "203.0.113.9", v6 ? me.addr6 : me.addr4);
      this.inject([down]);
      const hub = ipPacket(rng, me.addr4, peer.addr4);
      this.recv(hub, me.ep);
      this.recv(KEEPALIVE, me.ep);
      me.want.rxPackets += 2;
      me.want.rxBytes += up.length + hub.length;
      me.want.txPackets++;
      me.want.txBytes += down.length;
      peer.want.txPackets++;
      peer.want.txBytes += hub.length;
    }
    this.#r.udp.sent.length = 0; // the fakes keep copies of everything sent and written
    this.#r.tun.written.length = 0;
  }

  /** A session the fuzzer opened that is still up, or null. */
  #mineOpen(): Mine | null {
    while (this.mine.length > 0) {
      const i = this.#rng.int(this.mine.length);
      const m = this.mine[i] as Mine;
      if (m.s.open && this.#r.toy.sessionAt(m.ep.address, m.ep.port) === m.s) return m;
      this.mine.splice(i, 1);
    }
    return null;
  }

  /** Ends up to 23 of the fuzzer's sessions; their endpoints are remembered as closed. */
  kickSome(): void {
    for (let n = this.#rng.int(24); n > 0; n--) {
      const m = this.#mineOpen();
      if (m === null) break;
      this.#r.server.kick(m.s);
      this.#closed[this.#closed.length < 256 ? this.#closed.length : this.#rng.int(256)] = m.ep;
    }
  }

  #source(): Endpoint {
    const x = this.#rng.int(10);
    if (x < 3) return this.#mineOpen()?.ep ?? randomEndpoint(this.#rng);
    if (x < 4 && this.#closed.length > 0) return this.#rng.pick(this.#closed);
    return randomEndpoint(this.#rng);
  }

  /** One hostile input of a random kind. */
  one(): void {
    const k = this.#rng.int(100);
    if (k < 8) return this.#tunJunk();
    if (k < 30) return this.#control();
    if (k < 42) return this.#as("random bytes", () => this.recv(this.guard(this.#rng.bytes(this.#rng.chance(0.02) ? 60_000 : this.#rng.int(1500))), this.#source(), this.#rng.chance(0.05)));
    if (k < 55) return this.#as("bad header", () => this.recv(this.guard(badHeader(this.#rng)), this.#source()));
    if (k < 67) return this.#spoofedFromStranger();
    if (k < 88) return this.#fromMine();
    this.#as("mutated", () => this.recv(this.guard(mutate(this.#rng, this.#rng.pick(this.#corpus))), this.#source()));
  }

  #as(step: string, f: () => void): void {
    this.step = step;
    f();
  }

  #tunJunk(): void {
    const rng = this.#rng;
    this.step = "tun";
    const batch: Uint8Array[] = [];
    for (let n = 1 + rng.int(8); n > 0; n--) {
      const m = rng.chance(0.4) ? this.#mineOpen() : null;
      const v6 = rng.chance(0.3);
      const dst = m !== null ? (v6 ? tunnel6(m.s) : tunnel4(m.s)) : v6 ? someIpv6(rng) : someIpv4(rng);
      const pkt = rng.chance(0.5) ? ipPacket(rng, v6 ? someIpv6(rng) : someIpv4(rng), dst) : rng.chance(0.5) ? badHeader(rng) : rng.bytes(rng.int(100));
      batch.push(this.guard(pkt));
    }
    this.inject(batch);
  }

  #control(): void {
    this.step = "control";
    const ep = this.#source();
    this.recv(controlDatagram(this.#rng, this.#secret), ep);
    const s = this.#r.toy.sessionAt(ep.address, ep.port);
    if (s !== undefined && s !== this.a.s && s !== this.b.s && !this.mine.some((m) => m.s === s)) this.mine.push({ ep, s });
  }

  #spoofedFromStranger(): void {
    const rng = this.#rng;
    this.step = "spoofed from a stranger";
    if (this.#closed.length > 0 && rng.chance(0.2)) {
      return this.recv(rng.chance(0.5) ? KEEPALIVE : this.guard(ipPacket(rng, someIpv4(rng), someIpv4(rng))), rng.pick(this.#closed));
    }
    const v6 = rng.chance(0.3);
    const src = rng.chance(0.5) ? rng.pick(v6 ? [this.a.addr6, this.b.addr6] : [this.a.addr4, this.b.addr4]) : v6 ? someIpv6(rng) : someIpv4(rng);
    this.recv(this.guard(ipPacket(rng, src, v6 ? someIpv6(rng) : someIpv4(rng))), randomEndpoint(rng));
  }

  #fromMine(): void {
    const rng = this.#rng;
    this.step = "from a fuzz session";
    const m = this.#mineOpen();
    if (m === null) return this.recv(this.guard(ipPacket(rng, someIpv4(rng), someIpv4(rng))), randomEndpoint(rng));
    const v6 = rng.chance(0.3);
    const own = v6 ? tunnel6(m.s) : tunnel4(m.s);
    const src = rng.chance(0.8) ? own : v6 ? rng.pick([someIpv6(rng), this.a.addr6, "fe80::1"]) : rng.pick([someIpv4(rng), this.a.addr4]);
    const pkt = this.guard(ipPacket(rng, src, v6 ? someIpv6(rng) : someIpv4(rng)));
    if (rng.chance(0.05)) this.#corpus[rng.int(this.#corpus.length + 1) % 16] = pkt.slice(); // grows to 16, then replaces
    this.recv(pkt, m.ep);
  }

  /** Every invariant of the module comment; `at` names the input for the failure message. */
  check(at: number): void {
    const r = this.#r;
    const st = r.server.stats;
    const counted = st.junk + sum(st.handshakes) + st.keepalives + st.rxPackets + (st.txPackets - st.hubPackets) + sum(st.drops);
    expect({ at, counted }).toEqual({ at, counted: this.udpIn + this.tunIn });
    for (const l of [this.a, this.b]) {
      const s = l.s;
      const same = { at, id: l.id, open: s.open, address: s.address, port: s.port, addr4: tunnel4(s), deviceId: s.deviceId, drops: sum(s.drops) };
      expect(same).toEqual({ at, id: l.id, open: true, address: l.ep.address, port: l.ep.port, addr4: l.addr4, deviceId: l.id, drops: 0 });
      expect(r.toy.sessionAt(l.ep.address, l.ep.port)).toBe(s);
      expect({ at, id: l.id, rxPackets: s.rxPackets, rxBytes: s.rxBytes, txPackets: s.txPackets, txBytes: s.txBytes }).toEqual({ at, id: l.id, ...l.want });
    }
    expect(r.server.sessions.size).toBeLessThanOrEqual(253);
    expect(r.server.pool4.used).toBe(r.server.sessions.size);
    const limiter = r.toy.handshaker.limiter;
    if (limiter !== null) expect(limiter.size).toBeLessThanOrEqual(limiter.limits.maxSources);
  }
}

/**
 * The forwarding table (table.ts, main side) and the workers' decisions (view.ts):
 * endpoint encoding, anti-spoofing, hub / isolation / capture left to the router, seqlock.
 */
import { describe, expect, test } from "bun:test";
import { HEADER_BYTES, SLOT_WORDS, W_SEQ } from "../../../src/datapath/layout.ts";
import { decodeEndpoint, encodeEndpoint, FastTable } from "../../../src/datapath/table.ts";
import { NO_SESSION, SLOW, TableView } from "../../../src/datapath/view.ts";
import { parseIpv4, parseIpv6 } from "../../../src/protocol/ip.ts";
import { icmpEcho4, icmpEcho6 } from "../../fakes/packets.ts";

const AF_INET = 2;
const AF_INET6 = 10;
const NET = parseIpv4("10.8.0.0") as number;
const SERVER = NET + 1;

function table(pool6: Uint8Array | null = null) {
  return new FastTable({ pool4Network: NET, pool4PrefixLen: 24, server4: SERVER, pool6: pool6 ? { prefix: pool6, prefixLen: 64 } : null }, 256);
}

/** The packet and the sender words as recvmmsg would report them. */
function datagram(src: string, dst: string, from: { address: string; port: number }, family = AF_INET6) {
  const pkt = icmpEcho4({ src, dst, id: 1, seq: 1, payload: new Uint8Array(8) });
  const names = new Int32Array(8);
  names.set((encodeEndpoint(from.address, from.port, family) as { words: Int32Array }).words);
  return { pkt, names };
}

const PHONE = { address: "::ffff:192.0.2.10", port: 40001 };

describe("endpoints", () => {
  test("text <-> sockaddr words, as Bun reports them on IPv4 and dual-stack sockets", () => {
    for (const [addr, fam] of [["192.0.2.10", AF_INET], ["::ffff:192.0.2.10", AF_INET6], ["2001:db8::1", AF_INET6]] as const) {
      const e = encodeEndpoint(addr, 5555, fam);
      expect(e?.len).toBe(fam === AF_INET ? 16 : 28);
      expect(decodeEndpoint(e?.words as Int32Array, 0)).toEqual({ address: addr, port: 5555 });
    }
    expect(encodeEndpoint("2001:db8::1", 1, AF_INET)).toBeNull();
    expect(encodeEndpoint("fe80::1%eth0", 1, AF_INET6)).toBeNull();
  });
});

describe("decideRx (client -> TUN)", () => {
  const t = table();
  const view = new TableView(t.sab);
  t.set(2, 1, encodeEndpoint(PHONE.address, PHONE.port, AF_INET6), NET + 2, null, false);
  t.set(3, 2, encodeEndpoint("::ffff:192.0.2.20", 40002, AF_INET6), NET + 3, null, false);

  test("the slot's own address from the slot's endpoint: fast, IP length returned", () => {
    const { pkt, names } = datagram("10.8.0.2", "192.0.2.99", PHONE);
    expect(view.decideRx(pkt, 0, pkt.length, names, 0)).toBe(2);
    expect(view.len).toBe(pkt.length);
  });

  test("spoofed source (another client's address), other port, unknown source: slow (the router counts)", () => {
    expect(view.decideRx(...args(datagram("10.8.0.3", "192.0.2.99", PHONE)))).toBe(SLOW);
    expect(view.decideRx(...args(datagram("10.8.0.2", "192.0.2.99", { ...PHONE, port: 40009 })))).toBe(SLOW);
    expect(view.decideRx(...args(datagram("10.8.0.77", "192.0.2.99", PHONE)))).toBe(SLOW);
    expect(view.decideRx(...args(datagram("172.16.0.1", "192.0.2.99", PHONE)))).toBe(SLOW);
  });

  test("to another client (hub or isolation) or an unleased pool address: slow; to the server: fast", () => {
    expect(view.decideRx(...args(datagram("10.8.0.2", "10.8.0.3", PHONE)))).toBe(SLOW);
    expect(view.decideRx(...args(datagram("10.8.0.2", "10.8.0.50", PHONE)))).toBe(SLOW);
    expect(view.decideRx(...args(datagram("10.8.0.2", "10.8.0.1", PHONE)))).toBe(2);
  });

  test("capture (F_SLOW), a freed slot and a slot being rewritten (odd seqlock): slow", () => {
    t.setSlow(2, 1, true);
    expect(view.decideRx(...args(datagram("10.8.0.2", "192.0.2.99", PHONE)))).toBe(SLOW);
    t.setSlow(2, 1, false);
    const w = new Int32Array(t.sab);
    Atomics.add(w, HEADER_BYTES / 4 + 2 * SLOT_WORDS + W_SEQ, 1);
    expect(view.decideRx(...args(datagram("10.8.0.2", "192.0.2.99", PHONE)))).toBe(SLOW);
    Atomics.add(w, HEADER_BYTES / 4 + 2 * SLOT_WORDS + W_SEQ, 1);
    expect(view.decideRx(...args(datagram("10.8.0.2", "192.0.2.99", PHONE)))).toBe(2);
    t.clear(2, 99); // not the owner: no effect
    expect(view.decideRx(...args(datagram("10.8.0.2", "192.0.2.99", PHONE)))).toBe(2);
    t.clear(2, 1);
    expect(view.decideRx(...args(datagram("10.8.0.2", "192.0.2.99", PHONE)))).toBe(SLOW);
  });

  test("truncated or malformed headers: slow", () => {
    const { pkt, names } = datagram("10.8.0.3", "192.0.2.99", { address: "::ffff:192.0.2.20", port: 40002 });
    expect(view.decideRx(pkt, 0, pkt.length - 1, names, 0)).toBe(SLOW); // claims more than it has
    expect(view.decideRx(pkt, 0, 19, names, 0)).toBe(SLOW);
    const junk = pkt.slice();
    junk[0] = 0x55;
    expect(view.decideRx(junk, 0, junk.length, names, 0)).toBe(SLOW);
  });
});

function args(d: { pkt: Uint8Array; names: Int32Array }): [Uint8Array, number, number, Int32Array, number] {
  return [d.pkt, 0, d.pkt.length, d.names, 0];
}

describe("decideTx (TUN -> client)", () => {
  const t = table();
  const view = new TableView(t.sab);
  const name = encodeEndpoint("192.0.2.10", 40001, AF_INET);
  t.set(2, 1, name, NET + 2, null, false);
  const names = new Int32Array(8);

  test("to a session's address: its slot, its endpoint copied for sendmmsg", () => {
    const pkt = icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.2", id: 1, seq: 1, payload: new Uint8Array(8) });
    expect(view.decideTx(pkt, 0, pkt.length, names, 0)).toBe(2);
    expect(view.nameLen).toBe(16);
    expect([...names.subarray(0, 7)]).toEqual([...(name?.words as Int32Array)]);
  });

  test("no session there or not in the pool: NO_SESSION; from another client (isolation) or capture: slow", () => {
    const to = (src: string, dst: string) => {
      const p = icmpEcho4({ src, dst, id: 1, seq: 1, payload: new Uint8Array(8) });
      return view.decideTx(p, 0, p.length, names, 0);
    };
    expect(to("10.8.0.1", "10.8.0.9")).toBe(NO_SESSION);
    expect(to("192.0.2.1", "192.0.2.2")).toBe(NO_SESSION);
    expect(to("10.8.0.3", "10.8.0.2")).toBe(SLOW);
    t.setSlow(2, 1, true);
    expect(to("192.0.2.1", "10.8.0.2")).toBe(SLOW);
    t.setSlow(2, 1, false);
    expect(to("192.0.2.1", "10.8.0.2")).toBe(2);
  });

  test("a session whose endpoint the workers cannot use stays on the slow path", () => {
    t.set(4, 7, null, NET + 4, null, false);
    t.setSlow(4, 7, false);
    const p = icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.4", id: 1, seq: 1, payload: new Uint8Array(8) });
    expect(view.decideTx(p, 0, p.length, names, 0)).toBe(SLOW);
  });
});

describe("IPv6 (pool fd00:8::/64, host index = the low 32 bits, paired with the IPv4 slot)", () => {
  const P6 = "fd00:8::";
  const prefix = parseIpv6(P6) as Uint8Array;
  const t = table(prefix);
  const view = new TableView(t.sab);
  const addr6 = (h: number) => parseIpv6(`${P6}${h.toString(16)}`) as Uint8Array;
  t.set(2, 1, encodeEndpoint(PHONE.address, PHONE.port, AF_INET6), NET + 2, addr6(2), false);
  t.set(3, 2, encodeEndpoint("::ffff:192.0.2.20", 40002, AF_INET6), NET + 3, null, false); // no IPv6 address
  const names = new Int32Array(8);
  names.set((encodeEndpoint(PHONE.address, PHONE.port, AF_INET6) as { words: Int32Array }).words);
  const echo = (src: string, dst: string) => icmpEcho6({ src, dst, id: 1, seq: 1, payload: new Uint8Array(8) });

  test("rx: the slot's own address from its endpoint to the server or beyond: fast", () => {
    for (const dst of [`${P6}1`, "2001:db8::1"]) {
      const p = echo(`${P6}2`, dst);
      expect({ dst, slot: view.decideRx(p, 0, p.length, names, 0) }).toEqual({ dst, slot: 2 });
      expect(view.len).toBe(p.length);
    }
  });

  test("rx: link-local or foreign source, another client's address, to another client: slow (the router decides)", () => {
    for (const [src, dst] of [["fe80::2", "2001:db8::1"], ["2001:db8::7", "2001:db8::1"], [`${P6}3`, "2001:db8::1"], [`${P6}2`, `${P6}3`]] as const) {
      const p = echo(src, dst);
      expect({ src, dst, slot: view.decideRx(p, 0, p.length, names, 0) }).toEqual({ src, dst, slot: SLOW });
    }
  });

  test("tx: to a session's IPv6 address: its slot; to one without IPv6 or outside the pool: NO_SESSION", () => {
    const out = new Int32Array(8);
    const to = (dst: string, src = `${P6}1`) => {
      const p = echo(src, dst);
      return view.decideTx(p, 0, p.length, out, 0);
    };
    expect(to(`${P6}2`)).toBe(2);
    expect(to(`${P6}3`)).toBe(NO_SESSION);
    expect(to("2001:db8::2")).toBe(NO_SESSION);
    expect(to(`${P6}2`, `${P6}3`)).toBe(SLOW); // from another client: isolation is the router's
  });
});

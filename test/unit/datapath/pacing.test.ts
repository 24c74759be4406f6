/**
 * Pacing of bulk downloads (tx-gso.ts, loop.ts): with pacing a turn stops reading the TUN
 * once it holds TSO_TURN_BYTES of TCP GSO packets, and reports how many it read, so the
 * loop can pause; without it a turn reads what the queue holds. The TUN queue is an
 * AF_UNIX datagram pair here (one read = one packet, as on a TUN).
 */
import { afterEach, expect, test } from "bun:test";
import { counterBytes } from "../../../src/datapath/layout.ts";
import { PACE_AFTER_BYTES } from "../../../src/datapath/loop.ts";
import { newRing, RingWriter } from "../../../src/datapath/ring.ts";
import { encodeEndpoint, FastTable } from "../../../src/datapath/table.ts";
import { GSO_TCPV4, VNET_GSO_SIZE, VNET_GSO_TYPE } from "../../../src/datapath/tso.ts";
import { TSO_TURN_BYTES, TxGsoEngine } from "../../../src/datapath/tx-gso.ts";
import { TableView } from "../../../src/datapath/view.ts";
import { AF_UNIX, libc, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../../src/platform/linux/libc.ts";
import { MsgVec } from "../../../src/platform/linux/mmsg.ts";
import { parseIpv4 } from "../../../src/protocol/ip.ts";

const VNET = 10;
const MSS = 1348;
const NET = parseIpv4("10.8.0.0") as number;
const open: number[] = [];
afterEach(() => {
  for (const fd of open.splice(0)) libc.close(fd);
});

/** A TCP GSO packet from the server to 10.8.0.2 with `payload` bytes, behind its virtio_net_hdr. */
function tsoPacket(payload: number): Uint8Array {
  const p = new Uint8Array(VNET + 20 + 32 + payload);
  const dv = new DataView(p.buffer);
  p[VNET_GSO_TYPE] = GSO_TCPV4;
  dv.setUint16(VNET_GSO_SIZE, MSS, true);
  p[VNET] = 0x45;
  dv.setUint16(VNET + 2, 20 + 32 + payload);
  p[VNET + 8] = 64;
  p[VNET + 9] = 6;
  p.set([10, 8, 0, 1, 10, 8, 0, 2], VNET + 12);
  dv.setUint16(VNET + 20, 5201);
  dv.setUint16(VNET + 22, 40000);
  p[VNET + 32] = (32 / 4) << 4;
  p[VNET + 33] = 0x10;
  return p;
}

/** An engine over a TUN queue holding `packets`, with 10.8.0.2 a session the worker serves. */
function engineWith(packets: Uint8Array[], pace: boolean): { engine: TxGsoEngine; tun: number } {
  const t = new FastTable({ pool4Network: NET, pool4PrefixLen: 24, server4: NET + 1, pool6: null }, 16);
  t.set(2, 1, encodeEndpoint("::ffff:192.0.2.10", 40001, 10), NET + 2, null, false);
  const fds = new Int32Array(2);
  expect(libc.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds)).toBe(0);
  open.push(fds[0] as number, fds[1] as number);
  for (const p of packets) expect(libc.write(fds[1] as number, p, p.length)).toBe(p.length);
  const counters = new Float64Array(new SharedArrayBuffer(counterBytes(16)));
  const engine = new TxGsoEngine(new MsgVec(128, 0), new TableView(t.sab), counters, new RingWriter(newRing(4096)), fds[0] as number, -1, VNET, true, pace);
  return { engine, tun: fds[0] as number };
}

/** Packets still waiting in the queue. */
function left(tun: number): number {
  const buf = new Uint8Array(70_000);
  let n = 0;
  while (libc.read(tun, buf, buf.length) > 0) n++;
  return n;
}

test(`paced: a turn stops reading once it holds ${TSO_TURN_BYTES} bytes of TSO packets, and says how many`, () => {
  const packets = [40_000, 40_000, 40_000].map(tsoPacket);
  const { engine, tun } = engineWith(packets, true);
  expect(engine.fill()).toBe(2); // one UDP_SEGMENT message per packet
  const len = (packets[0] as Uint8Array).length - VNET;
  expect(engine.tsoBytes).toBe(2 * len);
  expect(engine.tsoBytes).toBeGreaterThanOrEqual(PACE_AFTER_BYTES); // the loop pauses after this turn
  expect(left(tun)).toBe(1); // the third waits for the next turn
});

test("unpaced: a turn reads every packet the queue holds", () => {
  const packets = [40_000, 40_000, 40_000].map(tsoPacket);
  const { engine, tun } = engineWith(packets, false);
  expect(engine.fill()).toBe(3);
  expect(engine.tsoBytes).toBe(3 * ((packets[0] as Uint8Array).length - VNET));
  expect(left(tun)).toBe(0);
});

test("small packets never make a bulk turn: no pause for interactive traffic", () => {
  const { engine } = engineWith([tsoPacket(1000), tsoPacket(1000)], true);
  engine.fill();
  expect(engine.tsoBytes).toBeLessThan(PACE_AFTER_BYTES);
});

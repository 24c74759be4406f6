/**
 * Pacing of bulk downloads (tx-gso.ts, send.ts, loop.ts): with pacing a turn stops reading
 * the TUN once it holds TSO_TURN_BYTES of TCP GSO packets, and reports how many it read, so
 * the loop can pause; without it a turn reads what the queue holds. A paced turn's
 * messages carry at most BURST_DATAGRAMS segments, and TxBatch.send waits in a gap after
 * each burst of that many datagrams. The TUN queue and the data socket are AF_UNIX
 * datagram pairs here (one read = one packet, as on a TUN; one message = one datagram).
 */
import { afterEach, expect, test } from "bun:test";
import { C_TX_PACKETS, counterBytes, counterIndex } from "../../../src/datapath/layout.ts";
import { PACE_AFTER_BYTES } from "../../../src/datapath/loop.ts";
import { newRing, RingWriter } from "../../../src/datapath/ring.ts";
import { BURST_DATAGRAMS, TxBatch } from "../../../src/datapath/send.ts";
import { encodeEndpoint, FastTable } from "../../../src/datapath/table.ts";
import { GSO_TCPV4, VNET_GSO_SIZE, VNET_GSO_TYPE } from "../../../src/datapath/tso.ts";
import { TSO_TURN_BYTES, TxGsoEngine } from "../../../src/datapath/tx-gso.ts";
import { TableView } from "../../../src/datapath/view.ts";
import { AF_UNIX, libc, nativeBuffer, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../../src/platform/linux/libc.ts";
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
  const [tun, kernel] = pair();
  for (const p of packets) expect(libc.write(kernel, p, p.length)).toBe(p.length);
  const counters = new Float64Array(new SharedArrayBuffer(counterBytes(16)));
  const engine = new TxGsoEngine(new MsgVec(128, 0), new TableView(t.sab), counters, new RingWriter(newRing(4096)), tun, -1, VNET, true, pace);
  return { engine, tun };
}

/** An AF_UNIX datagram pair, closed after the test. */
function pair(): [number, number] {
  const fds = new Int32Array(2);
  expect(libc.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds)).toBe(0);
  open.push(fds[0] as number, fds[1] as number);
  return [fds[0] as number, fds[1] as number];
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
  expect(engine.fill()).toBe(2 * Math.ceil(Math.ceil(40_000 / MSS) / BURST_DATAGRAMS)); // messages of one burst each
  const len = (packets[0] as Uint8Array).length - VNET;
  expect(engine.tsoBytes).toBe(2 * len);
  expect(engine.tsoBytes).toBeGreaterThanOrEqual(PACE_AFTER_BYTES); // the loop pauses after this turn
  expect(left(tun)).toBe(1); // the third waits for the next turn
});

test("unpaced: a turn reads every packet the queue holds", () => {
  const packets = [40_000, 40_000, 40_000].map(tsoPacket);
  const { engine, tun } = engineWith(packets, false);
  expect(engine.fill()).toBe(3); // one UDP_SEGMENT message per packet
  expect(engine.tsoBytes).toBe(3 * ((packets[0] as Uint8Array).length - VNET));
  expect(left(tun)).toBe(0);
});

test("small packets never make a bulk turn: no pause for interactive traffic", () => {
  const { engine } = engineWith([tsoPacket(1000), tsoPacket(1000)], true);
  engine.fill();
  expect(engine.tsoBytes).toBeLessThan(PACE_AFTER_BYTES);
});

/** A batch of `sizes.length` messages on slot 3, message i carrying sizes[i] packets (one datagram on AF_UNIX). */
function batchOf(sizes: number[]): { batch: TxBatch; counters: Float64Array } {
  const vec = new MsgVec(16, 0);
  const counters = new Float64Array(new SharedArrayBuffer(counterBytes(16)));
  const batch = new TxBatch(vec, counters);
  const mem = nativeBuffer(16 * 64);
  sizes.forEach((n, i) => batch.set(i, 3, (mem.ptr as number) + i * 64, 64, 0, 0, n));
  return { batch, counters };
}

/** Datagrams waiting on `fd` (read and counted). */
function arrived(fd: number): number {
  const buf = new Uint8Array(128);
  let n = 0;
  while (libc.read(fd, buf, buf.length) > 0) n++;
  return n;
}

test(`a spread turn goes out in bursts of ${BURST_DATAGRAMS} datagrams with a gap after each`, () => {
  const [sock, client] = pair();
  const per = BURST_DATAGRAMS / 2;
  const { batch, counters } = batchOf([per, per, per, per, per]);
  const seen: number[] = [];
  batch.send(5, sock, -1, () => {
    seen.push(arrived(client));
    return true;
  });
  expect(seen).toEqual([2, 2]); // two messages (one burst) before each gap, none after the last
  expect(arrived(client)).toBe(1);
  expect(counters[counterIndex(3, C_TX_PACKETS)]).toBe(5 * per);
});

test("a gap that fails sends the rest at once; without a gap the turn is one run", () => {
  const [sock, client] = pair();
  const { batch } = batchOf([BURST_DATAGRAMS, BURST_DATAGRAMS, BURST_DATAGRAMS, 1]);
  let gaps = 0;
  batch.send(4, sock, -1, () => {
    gaps++;
    return false;
  });
  expect(gaps).toBe(1);
  expect(arrived(client)).toBe(4);
  batch.send(4, sock, -1);
  expect(arrived(client)).toBe(4);
});


/**
 * @module datapath/warmup
 * Runs a worker's per-batch code (RxEngine / TxEngine) a few thousand times on
 * synthetic packets before the real loop starts, so JavaScriptCore has compiled it by
 * the time the first client packet arrives. Without it the first thousands of packets
 * run interpreted: measured ~10 us per packet in decideRx alone, which shows up in
 * every ping of an idle tunnel (ping at 100/s never makes the code hot on its own).
 *
 * Nothing real is touched: a scratch table (the real header, one active slot), a scratch
 * ring, an AF_UNIX datagram socketpair standing in for the socket / TUN, and fd -1 for
 * the other side (the write or send fails with EBADF and is counted on the scratch table).
 * With WireGuard every other round is a WireGuard session's (a second slot, and a scratch
 * keypair table whose one keypair opens what it seals), so opening and sealing are warm too.
 */

import { unixMs } from "../lib/clock.ts";
import { AF_UNIX, HOST_LE, libc, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../platform/linux/libc.ts";
import type { MsgVec } from "../platform/linux/mmsg.ts";
import {
  counterBytes, F_ACTIVE, F_WG, HEADER_BYTES, K_EXPIRES, K_FLAGS, K_INDEX, K_REMOTE, K_SLOT, KF_CONFIRMED, KW_MTU, KW_SLOTS, SLOT_WORDS, W_ADDR4,
  W_CAPACITY, W_FLAGS, W_NAME, W_NAMELEN, W_POOL4_NET, W_SERIAL, W_SERVER4, W_WG_INDEX, W_WG_KP, type WorkerStart,
} from "./layout.ts";
import { newRing, RingWriter } from "./ring.ts";
import { RxEngine } from "./rx-engine.ts";
import { TxEngine, WG_TAIL } from "./tx-engine.ts";
import { TxGsoEngine } from "./tx-gso.ts";
import { TableView } from "./view.ts";
import { kpBase, kpTableBytes, WG_HEAD } from "./wg-keys.ts";
import { wgKeys } from "./loop.ts";

/** Iterations per engine (one packet each). */
export const WARMUP_ROUNDS = 20000;
const SLOT = 2;
/** The scratch WireGuard session's slot, and its keypair's slot and index in the scratch keypair table. */
const WG_SLOT = 1;
const WG_KP = 1;
const PKT_LEN = 84;
const AF_INET = 2;
const AF_INET6 = 10;

/** A table with the real header and slot SLOT active for a made-up endpoint. */
function scratchTable(real: SharedArrayBuffer, family: number): { sab: SharedArrayBuffer; name: Int32Array } {
  const sab = new SharedArrayBuffer(HEADER_BYTES + (SLOT + 1) * SLOT_WORDS * 4);
  new Uint8Array(sab).set(new Uint8Array(real, 0, HEADER_BYTES));
  const w = new Int32Array(sab);
  w[W_CAPACITY] = SLOT + 1;
  const base = HEADER_BYTES / 4 + SLOT * SLOT_WORDS;
  const name = new Int32Array(8);
  const dv = new DataView(name.buffer);
  dv.setUint16(0, family, HOST_LE);
  dv.setUint16(2, 9, false);
  if (family === AF_INET6) dv.setUint32(20, 0xffff, false);
  w[base + W_SERIAL] = 1;
  w[base + W_FLAGS] = F_ACTIVE;
  w[base + W_NAMELEN] = family === AF_INET ? 16 : 28;
  for (let k = 0; k < 7; k++) w[base + W_NAME + k] = name[k] as number;
  w[base + W_ADDR4] = ((w[W_POOL4_NET] as number) + SLOT) | 0;
  const wb = HEADER_BYTES / 4 + WG_SLOT * SLOT_WORDS;
  w[wb + W_SERIAL] = 2;
  w[wb + W_FLAGS] = F_ACTIVE | F_WG;
  w[wb + W_NAMELEN] = w[base + W_NAMELEN] as number;
  for (let k = 0; k < 7; k++) w[wb + W_NAME + k] = name[k] as number;
  w[wb + W_ADDR4] = ((w[W_POOL4_NET] as number) + WG_SLOT) | 0;
  w[wb + W_WG_KP] = WG_KP;
  w[wb + W_WG_INDEX] = WG_KP;
  return { sab, name };
}

/** A keypair table of two slots whose keypair WG_KP (zero keys both ways) serves WG_SLOT, MTU as the real one. */
function scratchKeypairs(real: SharedArrayBuffer): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(kpTableBytes(2));
  const w = new Int32Array(sab);
  w[KW_SLOTS] = 2;
  w[KW_MTU] = new Int32Array(real)[KW_MTU] as number;
  const b = kpBase(WG_KP);
  w[b + K_INDEX] = WG_KP;
  w[b + K_REMOTE] = WG_KP;
  w[b + K_FLAGS] = KF_CONFIRMED;
  w[b + K_SLOT] = WG_SLOT;
  new Float64Array(sab)[(b + K_EXPIRES) >>> 1] = Infinity;
  return sab;
}

/** An IPv4 packet of PKT_LEN bytes from `src` to `dst`. */
function packet(src: number, dst: number): Uint8Array {
  const p = new Uint8Array(PKT_LEN);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, PKT_LEN, false);
  p[8] = 64;
  p[9] = 1;
  dv.setUint32(12, src >>> 0, false);
  dv.setUint32(16, dst >>> 0, false);
  return p;
}

/** The WireGuard rounds' packets: a buffer to seal the client's packet in, and the TUN's packet to the client (behind a zero vnet header). */
function wgPackets(net: number, server: number, vnet: number): { plain: Uint8Array; sealed: Uint8Array; tx: Uint8Array } {
  const sealed = new Uint8Array(WG_HEAD + PKT_LEN + WG_TAIL);
  const tx = new Uint8Array(vnet + PKT_LEN);
  tx.set(packet(server, net + WG_SLOT), vnet);
  return { plain: packet(net + WG_SLOT, server), sealed, tx };
}

/** A non-blocking AF_UNIX datagram pair, or null. */
function pair(): [number, number] | null {
  const fds = new Int32Array(2);
  if (libc.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) !== 0) return null;
  return [fds[0] as number, fds[1] as number];
}

/** Warms both engines on `rxVec` / `txVec` (the vectors the real loop will use). Never throws. */
export function warmUp(start: WorkerStart, rxVec: MsgVec, txVec: MsgVec, rounds = WARMUP_ROUNDS): void {
  const fds = pair();
  if (fds === null) return;
  try {
    const { sab, name } = scratchTable(start.table, start.family);
    const view = new TableView(sab);
    const counters = new Float64Array(new SharedArrayBuffer(counterBytes(SLOT + 1)));
    const ring = new RingWriter(newRing(4096));
    const w = new Int32Array(sab);
    const net = (w[W_POOL4_NET] as number) >>> 0;
    const server = (w[W_SERVER4] as number) >>> 0;
    const rxPkt = packet(net + SLOT, server);
    const txPkt = new Uint8Array(start.vnet + PKT_LEN);
    txPkt.set(packet(server, net + SLOT), start.vnet);
    const keys = wgKeys({ ...start, wgTable: start.wgTable === null ? null : scratchKeypairs(start.wgTable) }, counters);
    const wg = keys === null ? null : { keys, fd: -1 };
    const rx = new RxEngine(rxVec, view, counters, ring, fds[0], -1, start.vnet, start.coalesceUdp, keys);
    const tx = start.tso
      ? new TxGsoEngine(txVec, view, counters, ring, fds[0], -1, start.vnet, start.udpGso, start.pace, wg)
      : new TxEngine(txVec, view, counters, ring, fds[0], -1, wg);
    const wgPkts = keys === null ? null : wgPackets(net, server, start.vnet);
    for (let i = 0; i < rounds; i++) {
      for (let k = 0; k < 7; k++) rxVec.names[k] = name[k] as number;
      const useWg = wgPkts !== null && (i & 1) === 1;
      if (useWg && keys !== null && wgPkts !== null) {
        keys.now = unixMs();
        wgPkts.sealed.set(wgPkts.plain, WG_HEAD);
        const len = keys.seal(WG_KP, WG_KP, wgPkts.sealed, WG_HEAD, PKT_LEN);
        libc.write(fds[1], wgPkts.sealed, len);
      } else {
        libc.write(fds[1], rxPkt, PKT_LEN);
      }
      const n = rx.receive();
      if (n > 0) rx.process(n);
      const t = useWg && wgPkts !== null ? wgPkts.tx : txPkt;
      libc.write(fds[1], t, t.length);
      const m = tx.fill();
      if (m > 0) tx.send(m);
    }
  } catch {
    // warming is an optimisation only
  } finally {
    libc.close(fds[0]);
    libc.close(fds[1]);
  }
}

/**
 * @module datapath/loop
 * A worker's loop, moving both directions for the clients the kernel steers to it:
 *
 *   1. rx: receive a batch of datagrams from this worker's data socket (and from its
 *      WireGuard socket when WireGuard has a port of its own), process it
 *   2. tx: read this worker's TUN queue until EAGAIN (or a full batch), send it
 *   3. both drained -> poll({socket, TUN queue, wake}, POLL_MS); but after a turn that
 *      received LINGER_AFTER or more datagrams without filling the batch (a client
 *      sending in bulk), poll({TUN queue, wake}, LINGER_US) and receive again
 * Pacing: after a turn that sent PACE_AFTER_BYTES or more of TCP GSO data (a bulk
 * download), the TUN side waits PACE_US before its next read while step 1 goes on
 * (ppoll on the socket and the wake fd). The kernel's TSO hands over 64 KiB at once;
 * sent back to back, those bursts overflowed a client's default socket buffer and TCP
 * lost twice the reference's segments (bench/RESULTS.md, "Pacing"). A 64 KiB turn, its
 * cutting and sending, then 100 us: about 2.3 Gbit/s of bulk sending per worker on the
 * bench machine. Other clients' replies read during a pause wait for it to end.
 * A reply the kernel produces while step 1 writes a request to the TUN (ping, a TCP
 * ACK) is already queued when step 2 reads (the TUN picks the queue of the flow's
 * writer), so it leaves in the same wakeup: no thread hop on a request/response path.
 * Lingering (client -> server): woken by every datagram, a worker received 3-4 per
 * wakeup during a TCP upload, and the client's sending thread paid for each wakeup
 * (the socket's wake-up runs in the sender's context; on 2 CPUs that thread bounded the
 * upload: its TUN dropped 60-70 k segments per 8 s). Sleeping LINGER_US without watching
 * the sockets lets a batch gather: no wake-ups, one receive and one coalesced TUN write for
 * many segments, fewer TCP ACKs back (bench/RESULTS.md, "Lingering"). A lone datagram (a
 * ping, a keepalive) never lingers, nor does a full batch (a flood is drained at full
 * speed); the socket buffer holds what arrives meanwhile. A packet in the TUN queue ends
 * the linger, so replies and downloads to this worker's clients do not wait for it.
 * Leaves when CTL_STATE is CTL_STOP (the main thread also writes the wake eventfd).
 */

import type { Pointer } from "bun:ffi";
import { unixMs } from "../lib/clock.ts";
import { ERRNO } from "../lib/errno.ts";
import { HOST_LE, libc, nativeBuffer, POLLFD_EVENTS, POLLFD_FD, POLLFD_REVENTS, POLLFD_SIZE, POLLIN, TIMESPEC_NSEC, TIMESPEC_SEC, TIMESPEC_SIZE } from "../platform/linux/libc.ts";
import type { MsgVec } from "../platform/linux/mmsg.ts";
import { loadLibcrypto } from "../platform/linux/libcrypto.ts";
import { CTL_ERRNO, CTL_STATE, CTL_STOP, TAG_WG_DATAGRAM, type WorkerStart } from "./layout.ts";
import { RingWriter } from "./ring.ts";
import { RxEngine } from "./rx-engine.ts";
import { TxEngine } from "./tx-engine.ts";
import { TxGsoEngine } from "./tx-gso.ts";
import { TableView } from "./view.ts";
import { WgKeys } from "./wg-keys.ts";

/** Idle poll timeout: a safety net; STOP arrives through the wake eventfd. */
export const POLL_MS = 1000;
/** A turn that received this many datagrams (and not a full batch) is followed by a linger. */
export const LINGER_AFTER = 4;
/** The linger, in microseconds (measured: see bench/RESULTS.md, "Lingering"). */
export const LINGER_US = 100;
/** A turn that sent this many bytes of TCP GSO data is followed by a pause of the TUN side. */
export const PACE_AFTER_BYTES = 32768;
/** The pause, in microseconds (measured: 100 paid, 200 with 32 KiB turns capped the rate). */
export const PACE_US = 100;

/** What the loop needs of a tx engine (TxEngine, or TxGsoEngine with offloads). */
export interface TxSide {
  err: number;
  /** Bytes of TCP GSO data the last fill() read (TxGsoEngine; absent: never paced). */
  tsoBytes?: number;
  fill(): number;
  send(count: number): void;
}

/** A worker's engines: rx on the data socket, rx on WireGuard's own socket (or null), tx, and WireGuard's keys (or null). */
export interface Engines {
  rx: RxEngine;
  wgRx: RxEngine | null;
  tx: TxSide;
  keys: WgKeys | null;
}

/**
 * WireGuard's opener/sealer for this worker: the keypair table and one OpenSSL context, or
 * null (no table, or no libcrypto here: WireGuard sessions then stay on the main thread).
 */
export function wgKeys(start: WorkerStart, counters: Float64Array): WgKeys | null {
  if (start.wgTable === null) return null;
  const lc = loadLibcrypto();
  if (!lc.ok) return null;
  return new WgKeys(start.wgTable, lc.lib.context(new Uint8Array(32)), counters);
}

/** The engines of one worker, over the real fds. */
export function engines(start: WorkerStart, rxVec: MsgVec, txVec: MsgVec, wgRxVec: MsgVec | null): Engines {
  const view = new TableView(start.table);
  const counters = new Float64Array(start.counters);
  const txRing = new RingWriter(start.txRing);
  const rxRing = new RingWriter(start.rxRing);
  const keys = wgKeys(start, counters);
  const wg = keys === null ? null : { keys, fd: start.wgUdpFd };
  return {
    rx: new RxEngine(rxVec, view, counters, rxRing, start.udpFd, start.tunFd, start.vnet, start.coalesceUdp, keys),
    wgRx: wgRxVec === null || start.wgUdpFd < 0 ? null : new RxEngine(wgRxVec, view, counters, rxRing, start.wgUdpFd, start.tunFd, start.vnet, start.coalesceUdp, keys, TAG_WG_DATAGRAM),
    tx: start.tso
      ? new TxGsoEngine(txVec, view, counters, txRing, start.tunFd, start.udpFd, start.vnet, start.udpGso, start.pace, wg)
      : new TxEngine(txVec, view, counters, txRing, start.tunFd, start.udpFd, wg),
    keys,
  };
}

/** Runs until STOP or an fd error (errno stored in CTL_ERRNO). */
export function runLoop(start: WorkerStart, ctl: Int32Array, e: Engines, rxBatch: number): void {
  const { rx, wgRx, tx, keys } = e;
  const socks = wgRx === null ? [start.udpFd] : [start.udpFd, start.wgUdpFd];
  const p = pollFds([...socks, start.tunFd, start.wakeFd]);
  const receive = (): number => rxAll(rx, wgRx, keys);
  const pause = start.pace ? new Pause(pollFds([start.wakeFd, ...socks]), 1, receive) : null;
  const linger = start.linger ? new Pause(pollFds([start.wakeFd, start.tunFd]), 2, receive) : null;
  for (;;) {
    if (Atomics.load(ctl, CTL_STATE) === CTL_STOP) return;
    const n = rxAll(rx, wgRx, keys);
    if (n < 0) {
      ctl[CTL_ERRNO] = -n;
      return;
    }
    const count = tx.fill();
    if (count > 0) tx.send(count);
    if (tx.err !== 0 && tx.err !== ERRNO.EAGAIN && tx.err !== ERRNO.EINTR) {
      ctl[CTL_ERRNO] = tx.err;
      return;
    }
    if (pause !== null && (tx.tsoBytes ?? 0) >= PACE_AFTER_BYTES) {
      const err = pause.run(PACE_US);
      if (err !== 0) {
        ctl[CTL_ERRNO] = err;
        return;
      }
      continue; // the TUN side waited: read it again before sleeping in poll
    }
    if (tx.err !== ERRNO.EAGAIN) continue;
    if (linger !== null && lingers(n, rxBatch)) {
      const err = linger.run(LINGER_US);
      if (err !== 0) {
        ctl[CTL_ERRNO] = err;
        return;
      }
    } else if (n < rxBatch) libc.poll(p.ptr, p.n, POLL_MS);
  }
}

/** After a turn that received `n` datagrams on a socket with batches of `batch`: linger before receiving again (see the module comment). */
export function lingers(n: number, batch: number): boolean {
  return n >= LINGER_AFTER && n < batch;
}

/**
 * One rx batch on each socket (the data socket, WireGuard's own if any), after stamping the
 * turn's time: the larger of the two counts (so a full batch on either means "look again"),
 * or -errno of a socket failure.
 */
function rxAll(rx: RxEngine, wgRx: RxEngine | null, keys: WgKeys | null): number {
  if (keys !== null) keys.now = unixMs();
  const n = rxStep(rx);
  if (n < 0 || wgRx === null) return n;
  const m = rxStep(wgRx);
  return m < 0 ? m : Math.max(n, m);
}

/** One rx batch: received and forwarded. Returns how many datagrams (0 when none waited), or -errno of a socket failure. */
function rxStep(rx: RxEngine): number {
  const n = rx.receive();
  if (n > 0) rx.process(n);
  return n === -ERRNO.EAGAIN || n === -ERRNO.EINTR ? 0 : n;
}

/** A pollfd array for `fds`, each waiting for POLLIN, in native memory (the worker's lifetime). */
export interface PollFds {
  ptr: Pointer;
  n: number;
  /** The array itself, to read `revents`. */
  view: DataView;
}

export function pollFds(fds: readonly number[]): PollFds {
  const p = nativeBuffer(POLLFD_SIZE * fds.length);
  const view = new DataView(p.buf.buffer);
  fds.forEach((fd, i) => {
    view.setInt32(i * POLLFD_SIZE + POLLFD_FD, fd, HOST_LE);
    view.setInt16(i * POLLFD_SIZE + POLLFD_EVENTS, POLLIN, HOST_LE);
  });
  return { ptr: p.ptr, n: fds.length, view };
}

/**
 * A timed wait that STOP (the wake fd) ends early. The TUN side's pause after a bulk turn
 * watches the sockets too and receives what arrives meanwhile; the linger is also ended by
 * the TUN queue and does not watch the sockets (datagrams gather without waking the worker).
 */
export class Pause {
  readonly #fds: PollFds;
  readonly #stops: number;
  readonly #receive: () => number;
  /** struct timespec; each 64-bit field is written as two 32-bit halves (no BigInt per pause). */
  readonly #ts = nativeBuffer(TIMESPEC_SIZE);
  readonly #tsView = new DataView(this.#ts.buf.buffer);

  /**
   * `fds`: first the `stops` fds that end the wait when readable (the wake fd first), then
   * the sockets that `receive` (rxAll: a count, or -errno) drains when they are readable.
   */
  constructor(fds: PollFds, stops: number, receive: () => number) {
    this.#fds = fds;
    this.#stops = stops;
    this.#receive = receive;
  }

  /** Waits `us` microseconds, receiving what arrives; stops early when a `stops` fd is readable (STOP). Returns an errno or 0. */
  run(us: number): number {
    const until = performance.now() + us / 1000;
    for (;;) {
      const leftNs = Math.floor((until - performance.now()) * 1e6);
      if (leftNs <= 0) return 0;
      const sec = Math.floor(leftNs / 1e9);
      this.#tsView.setUint32(TIMESPEC_SEC, sec, HOST_LE);
      this.#tsView.setUint32(TIMESPEC_SEC + 4, 0, HOST_LE);
      this.#tsView.setUint32(TIMESPEC_NSEC, leftNs - sec * 1e9, HOST_LE);
      this.#tsView.setUint32(TIMESPEC_NSEC + 4, 0, HOST_LE);
      const r = libc.ppoll(this.#fds.ptr, this.#fds.n, this.#ts.ptr, null);
      if (r <= 0) continue; // timeout (loop ends) or EINTR
      for (let i = 0; i < this.#stops; i++) if ((this.#fds.view.getInt16(i * POLLFD_SIZE + POLLFD_REVENTS, HOST_LE) & POLLIN) !== 0) return 0;
      const n = this.#receive();
      if (n < 0) return -n;
    }
  }
}

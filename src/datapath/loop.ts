/**
 * @module datapath/loop
 * A worker's loop, moving both directions for the clients the kernel steers to it:
 *
 *   1. rx: receive a batch of datagrams from this worker's data socket, process it
 *   2. tx: read this worker's TUN queue until EAGAIN (or a full batch), send it
 *   3. both drained -> poll({socket, TUN queue, wake}, POLL_MS)
 * A reply the kernel produces while step 1 writes a request to the TUN (ping, a TCP
 * ACK) is already queued when step 2 reads (the TUN picks the queue of the flow's
 * writer), so it leaves in the same wakeup: no thread hop on a request/response path.
 * Leaves when CTL_STATE is CTL_STOP (the main thread also writes the wake eventfd).
 */

import { ERRNO } from "../lib/errno.ts";
import { HOST_LE, libc, nativeBuffer, POLLFD_EVENTS, POLLFD_FD, POLLFD_SIZE, POLLIN } from "../platform/linux/libc.ts";
import type { MsgVec } from "../platform/linux/mmsg.ts";
import { CTL_ERRNO, CTL_STATE, CTL_STOP, type WorkerStart } from "./layout.ts";
import { RingWriter } from "./ring.ts";
import { RxEngine } from "./rx-engine.ts";
import { TxEngine } from "./tx-engine.ts";
import { TxGsoEngine } from "./tx-gso.ts";
import { TableView } from "./view.ts";

/** Idle poll timeout: a safety net; STOP arrives through the wake eventfd. */
export const POLL_MS = 1000;

/** What the loop needs of a tx engine (TxEngine, or TxGsoEngine with offloads). */
export interface TxSide {
  err: number;
  fill(): number;
  send(count: number): void;
}

/** The engines of one worker, over the real fds. */
export function engines(start: WorkerStart, rxVec: MsgVec, txVec: MsgVec): { rx: RxEngine; tx: TxSide } {
  const view = new TableView(start.table);
  const counters = new Float64Array(start.counters);
  const txRing = new RingWriter(start.txRing);
  return {
    rx: new RxEngine(rxVec, view, counters, new RingWriter(start.rxRing), start.udpFd, start.tunFd, start.vnet, start.coalesceUdp),
    tx: start.tso
      ? new TxGsoEngine(txVec, view, counters, txRing, start.tunFd, start.udpFd, start.vnet, start.udpGso)
      : new TxEngine(txVec, view, counters, txRing, start.tunFd, start.udpFd),
  };
}

/** Runs until STOP or an fd error (errno stored in CTL_ERRNO). */
export function runLoop(start: WorkerStart, ctl: Int32Array, rx: RxEngine, tx: TxSide, rxBatch: number): void {
  const p = nativeBuffer(POLLFD_SIZE * 3);
  const dv = new DataView(p.buf.buffer);
  const fds = [start.udpFd, start.tunFd, start.wakeFd];
  for (let i = 0; i < 3; i++) {
    dv.setInt32(i * POLLFD_SIZE + POLLFD_FD, fds[i] as number, HOST_LE);
    dv.setInt16(i * POLLFD_SIZE + POLLFD_EVENTS, POLLIN, HOST_LE);
  }
  for (;;) {
    if (Atomics.load(ctl, CTL_STATE) === CTL_STOP) return;
    const n = rx.receive();
    if (n > 0) rx.process(n);
    else if (n !== -ERRNO.EAGAIN && n !== 0 && n !== -ERRNO.EINTR) {
      ctl[CTL_ERRNO] = -n;
      return;
    }
    const count = tx.fill();
    if (count > 0) tx.send(count);
    if (tx.err !== 0 && tx.err !== ERRNO.EAGAIN && tx.err !== ERRNO.EINTR) {
      ctl[CTL_ERRNO] = tx.err;
      return;
    }
    if (n < rxBatch && tx.err === ERRNO.EAGAIN) libc.poll(p.ptr, 3, POLL_MS);
  }
}

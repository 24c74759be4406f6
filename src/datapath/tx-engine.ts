/**
 * @module datapath/tx-engine
 * The TUN -> client half of a worker's turn, over given fds, table, counters and ring:
 *
 *   fill: read() the O_NONBLOCK TUN queue into message buffer i until EAGAIN or the batch
 *         is full; per packet decideTx (view.ts) -> a slot: its sockaddr becomes message
 *         i's name; SLOW -> copy into the ring for the main thread's router; NO_SESSION -> count
 *         A WireGuard session's packet is sealed in place (wg-keys.ts: the buffer keeps
 *         WG_HEAD bytes before the packet and room for padding and tag after it); a keypair
 *         that cannot send hands the packet to the main thread, which decides (a handshake).
 *   send: sendmmsg the batch on the (blocking) data socket: a full send buffer makes the
 *         thread wait, so the TUN queue, not warren, absorbs a burst, as with the
 *         reference. A message the kernel refuses is counted as a "send" drop on its slot.
 */

import type { Pointer } from "bun:ffi";
import { ERRNO } from "../lib/errno.ts";
import { errno, libc } from "../platform/linux/libc.ts";
import type { MsgVec } from "../platform/linux/mmsg.ts";
import { G_TX_HANDOFF_DROPS, G_TX_HANDOFFS, G_TX_NO_SESSION, TAG_TUN } from "./layout.ts";
import { NAME_STRIDE_WORDS } from "./rx-engine.ts";
import { TxBatch } from "./send.ts";
import type { RingWriter } from "./ring.ts";
import { NO_SESSION, type TableView } from "./view.ts";
import { WG_HEAD, WG_TAG, type WgKeys } from "./wg-keys.ts";

/** What a tx engine needs to send WireGuard sessions' packets itself. */
export interface WgSend {
  keys: WgKeys;
  /** The WireGuard socket when it is not the data socket, else -1. */
  fd: number;
}

/** Bytes a tx buffer keeps after a packet for WireGuard's padding and tag. */
export const WG_TAIL = 2 * WG_TAG;

/** One batch of the tx path. */
export class TxEngine {
  /** errno that ended the last fill() (EAGAIN: the TUN queue is drained), 0 = the batch filled up. */
  err = 0;
  readonly #vec: MsgVec;
  readonly #view: TableView;
  readonly #ring: RingWriter;
  readonly #c: Float64Array;
  readonly #batch: TxBatch;
  readonly #tunFd: number;
  readonly #udpFd: number;
  readonly #wg: WgSend | null;

  /** With `wg` the vector's headroom must include WG_HEAD and its stride WG_TAIL more bytes. */
  constructor(vec: MsgVec, view: TableView, counters: Float64Array, ring: RingWriter, tunFd: number, udpFd: number, wg: WgSend | null = null) {
    this.#vec = vec;
    this.#wg = wg;
    this.#view = view;
    this.#c = counters;
    this.#ring = ring;
    this.#batch = new TxBatch(vec, counters);
    this.#tunFd = tunFd;
    this.#udpFd = udpFd;
  }

  /** Reads packets until EAGAIN or a full batch; returns how many go out with send(). */
  fill(): number {
    const vec = this.#vec;
    const view = this.#view;
    const c = this.#c;
    const stride = vec.stride;
    const data = vec.data;
    const names = vec.names;
    let count = 0;
    let handed = 0;
    this.err = 0;
    const wg = this.#wg;
    const lead = wg === null ? 0 : WG_HEAD; // the packet's buffer starts after room for a header
    const room = stride - lead - (wg === null ? 0 : WG_TAIL);
    while (count < vec.count) {
      const off = count * stride;
      const n = libc.read(this.#tunFd, (vec.dataPtr + off + lead) as Pointer, room);
      if (n <= 0) {
        this.err = n < 0 ? errno() : ERRNO.EAGAIN;
        break;
      }
      const h = vec.headroom; // lead, then the virtio_net_hdr (offloads off: all zero), not sent
      const len = n - (h - lead);
      const slot = view.decideTx(data, off + h, len, names, count * NAME_STRIDE_WORDS);
      if (slot >= 0 && view.wgKp < 0) {
        this.#batch.set(count++, slot, vec.dataPtr + off + h, len, view.nameLen, 0, 1);
      } else if (slot >= 0 && wg !== null && this.#batch.seal(count, slot, wg.keys, view, data, vec.dataPtr, off + h, len)) {
        count++;
      } else if (slot === NO_SESSION) {
        c[G_TX_NO_SESSION] = (c[G_TX_NO_SESSION] as number) + 1;
      } else if (this.#ring.push(data, off + h, len, TAG_TUN, null, 0)) {
        handed++;
      } else {
        c[G_TX_HANDOFF_DROPS] = (c[G_TX_HANDOFF_DROPS] as number) + 1;
      }
    }
    if (handed > 0) {
      c[G_TX_HANDOFFS] = (c[G_TX_HANDOFFS] as number) + handed;
      this.#ring.wake();
    }
    return count;
  }

  /** sendmmsg until all `count` messages went out or were refused (counted on their slots). */
  send(count: number): void {
    this.#batch.send(count, this.#udpFd, this.#wg?.fd ?? -1);
  }
}

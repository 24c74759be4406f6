/**
 * @module datapath/send
 * The last step of a worker's TUN -> client half, shared by the plain and the GSO
 * senders: the turn's messages (TxBatch: where each one's bytes are, its session's slot,
 * how many packets it carries, whether it is WireGuard's), then sendmmsg until every one
 * went out or was refused, counting each on its session's slot (packets and bytes sent, or
 * a send drop). A WireGuard message counts the bytes of the packets it carries, as the main
 * thread does, and goes out on WireGuard's own socket when it has one.
 */

import type { Pointer } from "bun:ffi";
import { ERRNO } from "../lib/errno.ts";
import { errno, libc } from "../platform/linux/libc.ts";
import { MMSG_SIZE, type MsgVec } from "../platform/linux/mmsg.ts";
import { C_DROP_SEND, C_TX_BYTES, C_TX_PACKETS, C_WG_TX_AT, C_WG_TX_WIRE, counterIndex } from "./layout.ts";
import type { TableView } from "./view.ts";
import { WG_HEAD, type WgKeys } from "./wg-keys.ts";

/** The messages of one turn; see the module comment. */
export class TxBatch {
  readonly vec: MsgVec;
  readonly #c: Float64Array;
  readonly #slots: Int32Array;
  readonly #packets: Int32Array;
  /** Plaintext bytes of a WireGuard message (0: count the message's own bytes). */
  readonly #plain: Int32Array;
  /** 1: the message goes out on WireGuard's socket. */
  readonly #onWg: Uint8Array;

  constructor(vec: MsgVec, counters: Float64Array) {
    this.vec = vec;
    this.#c = counters;
    this.#slots = new Int32Array(vec.count);
    this.#packets = new Int32Array(vec.count);
    this.#plain = new Int32Array(vec.count);
    this.#onWg = new Uint8Array(vec.count);
  }

  /**
   * Message i sends `len` bytes at `ptr` for `slot` to the sockaddr already in its name area
   * (`nameLen` bytes): `packets` packets, cut by the kernel into `segment`-byte datagrams (0: one).
   */
  set(i: number, slot: number, ptr: number, len: number, nameLen: number, segment: number, packets: number): void {
    const vec = this.vec;
    vec.setBase(i, ptr);
    vec.setLen(i, len);
    vec.setNameLen(i, nameLen);
    vec.setSegment(i, segment);
    this.#slots[i] = slot;
    this.#packets[i] = packets;
    this.#plain[i] = 0;
    this.#onWg[i] = 0;
  }

  /** Message i (just set) holds `wire` bytes of WireGuard messages sealed from `plain` bytes of packets at Unix ms `now`. */
  sealed(i: number, slot: number, plain: number, wire: number, now: number): void {
    this.#plain[i] = plain;
    this.#onWg[i] = 1;
    const c = this.#c;
    c[counterIndex(slot, C_WG_TX_AT)] = now;
    const w = counterIndex(slot, C_WG_TX_WIRE);
    c[w] = (c[w] as number) + wire;
  }

  /**
   * Seals the packet b[p, p+len) in place (`ptr`: b's native address; WG_HEAD bytes free
   * before it) with the keypair decideTx named, as message i for `slot`. False: that keypair
   * cannot send now (the packet goes to the main thread).
   */
  seal(i: number, slot: number, keys: WgKeys, view: TableView, b: Uint8Array, ptr: number, p: number, len: number): boolean {
    const m = keys.seal(view.wgKp, view.wgIndex, b, p, len);
    if (m < 0) return false;
    this.set(i, slot, ptr + p - WG_HEAD, m, view.nameLen, 0, 1);
    this.sealed(i, slot, len, m, keys.now);
    return true;
  }

  /** Sends messages 0..count on `fd`, WireGuard's on `wgFd` when that is >= 0, in runs of one socket each. */
  send(count: number, fd: number, wgFd: number): void {
    if (wgFd < 0) return this.#run(fd, 0, count);
    const onWg = this.#onWg;
    let k = 0;
    while (k < count) {
      const o = onWg[k];
      let j = k + 1;
      while (j < count && onWg[j] === o) j++;
      this.#run(o === 1 ? wgFd : fd, k, j);
      k = j;
    }
  }

  /** sendmmsg of messages `from..to` on `fd` until each went out or was refused. */
  #run(fd: number, from: number, to: number): void {
    const vec = this.vec;
    const c = this.#c;
    let k = from;
    while (k < to) {
      const r = libc.sendmmsg(fd, (vec.vecPtr + k * MMSG_SIZE) as Pointer, to - k, 0);
      if (r > 0) {
        for (let i = k; i < k + r; i++) {
          const j = counterIndex(this.#slots[i] as number, C_TX_PACKETS);
          c[j] = (c[j] as number) + (this.#packets[i] as number);
          const p = this.#plain[i] as number;
          c[j + C_TX_BYTES - C_TX_PACKETS] = (c[j + C_TX_BYTES - C_TX_PACKETS] as number) + (p > 0 ? p : vec.msgLen(i));
        }
        k += r;
        continue;
      }
      if (r < 0 && errno() === ERRNO.EINTR) continue;
      const j = counterIndex(this.#slots[k] as number, C_DROP_SEND);
      c[j] = (c[j] as number) + (this.#packets[k] as number);
      k++;
    }
  }
}

/**
 * @module datapath/send
 * The last step of a worker's TUN -> client half, shared by the plain and the GSO
 * senders: sendmmsg until every prepared message went out or was refused, counting
 * each on its session's slot (packets and bytes sent, or a send drop).
 */

import type { Pointer } from "bun:ffi";
import { ERRNO } from "../lib/errno.ts";
import { errno, libc } from "../platform/linux/libc.ts";
import { MMSG_SIZE, type MsgVec } from "../platform/linux/mmsg.ts";
import { C_DROP_SEND, C_TX_BYTES, C_TX_PACKETS, counterIndex } from "./layout.ts";

/**
 * Sends messages `0..count` of `vec` on `fd`. Message i belongs to slot `slots[i]` and
 * carries `packets[i]` IP packets (one each when `packets` is null); `c` is the worker's
 * counter slab. Sent bytes are the message's, or `plain[i]` when that is > 0 (a WireGuard
 * message counts the packets it carries, as the main thread does). With `other` (WireGuard on
 * a port of its own), messages whose `onOther` flag is set go out on that socket instead, in
 * runs of one socket each.
 */
export function sendAll(
  fd: number, vec: MsgVec, count: number, slots: Int32Array, packets: Int32Array | null, c: Float64Array,
  plain: Int32Array | null = null, other = -1, onOther: Uint8Array | null = null,
): void {
  if (other < 0 || onOther === null) return sendRun(fd, vec, 0, count, slots, packets, c, plain);
  let k = 0;
  while (k < count) {
    const o = onOther[k];
    let j = k + 1;
    while (j < count && onOther[j] === o) j++;
    sendRun(o === 1 ? other : fd, vec, k, j, slots, packets, c, plain);
    k = j;
  }
}

/** sendmmsg of messages `from..to` on `fd` until each went out or was refused. */
function sendRun(fd: number, vec: MsgVec, from: number, to: number, slots: Int32Array, packets: Int32Array | null, c: Float64Array, plain: Int32Array | null): void {
  let k = from;
  while (k < to) {
    const r = libc.sendmmsg(fd, (vec.vecPtr + k * MMSG_SIZE) as Pointer, to - k, 0);
    if (r > 0) {
      for (let i = k; i < k + r; i++) {
        const j = counterIndex(slots[i] as number, C_TX_PACKETS);
        c[j] = (c[j] as number) + (packets === null ? 1 : (packets[i] as number));
        const p = plain === null ? 0 : (plain[i] as number);
        c[j + C_TX_BYTES - C_TX_PACKETS] = (c[j + C_TX_BYTES - C_TX_PACKETS] as number) + (p > 0 ? p : vec.msgLen(i));
      }
      k += r;
      continue;
    }
    if (r < 0 && errno() === ERRNO.EINTR) continue;
    const j = counterIndex(slots[k] as number, C_DROP_SEND);
    c[j] = (c[j] as number) + (packets === null ? 1 : (packets[k] as number));
    k++;
  }
}

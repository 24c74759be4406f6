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
 * counter slab.
 */
export function sendAll(fd: number, vec: MsgVec, count: number, slots: Int32Array, packets: Int32Array | null, c: Float64Array): void {
  let k = 0;
  while (k < count) {
    const r = libc.sendmmsg(fd, (vec.vecPtr + k * MMSG_SIZE) as Pointer, count - k, 0);
    if (r > 0) {
      for (let i = k; i < k + r; i++) {
        const j = counterIndex(slots[i] as number, C_TX_PACKETS);
        c[j] = (c[j] as number) + (packets === null ? 1 : (packets[i] as number));
        c[j + C_TX_BYTES - C_TX_PACKETS] = (c[j + C_TX_BYTES - C_TX_PACKETS] as number) + vec.msgLen(i);
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

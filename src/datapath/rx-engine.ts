/**
 * @module datapath/rx-engine
 * The client -> TUN half of a worker's turn, over given fds, table, counters and ring:
 *
 *   receive: recvmmsg(data socket, batch, MSG_DONTWAIT)
 *   process: per datagram: truncated -> count (junk); decideRx (view.ts) -> a slot:
 *            write the packet to the TUN, count rx packets/bytes (or a tun-write drop) on
 *            the slot; SLOW -> copy it with its sender address into the ring for the main
 *            thread (the socket's sink: the door, as if Bun's socket had received it); after
 *            the batch wake the main thread if the ring got records
 * With a virtio_net_hdr on the TUN (`vnet` > 0) consecutive TCP segments of one flow are
 * written as one packet (coalesce.ts); every other packet gets a zero header in the
 * buffer's headroom and is written as it came.
 * WireGuard transport data (type 4, when the workers have the keypair table): opened in place
 * (wg-keys.ts); a packet of a confirmed keypair from its session's endpoint that decideRx
 * passes for that session is written as above; anything else the main thread must see (a
 * keypair to confirm, roaming, hub traffic, a spoofed source) is handed over opened
 * (TAG_WG_OPENED, the receiver index beside the address); what wg-keys cannot open is handed
 * over as it came.
 * Only IPv4/IPv6-looking datagrams and WireGuard transport data arrive here: the kernel steers
 * everything else (ToyVpn control, handshakes, junk) to Bun's socket (platform/linux/steer.ts).
 * An engine is a class, not a closure, so that warmup.ts runs the very same compiled code on a
 * scratch table first.
 */

import type { Pointer } from "bun:ffi";
import { ERRNO } from "../lib/errno.ts";
import { errno, HOST_LE, libc } from "../platform/linux/libc.ts";
import { MSG_DONTWAIT, MSG_TRUNC, type MsgVec } from "../platform/linux/mmsg.ts";
import { TYPE_TRANSPORT } from "../protocol/wireguard/constants.ts";
import { readU32 } from "../protocol/wireguard/messages.ts";
import { Coalescer } from "./coalesce.ts";
import {
  C_DROP_TUN_WRITE, C_RX_BYTES, C_RX_PACKETS, C_WG_RX_AT, C_WG_RX_DATA_AT, C_WG_RX_WIRE, counterIndex, G_RX_HANDOFF_DROPS, G_RX_HANDOFFS, G_RX_TRUNCATED,
  TAG_DATAGRAM, TAG_WG_OPENED,
} from "./layout.ts";
import type { RingWriter } from "./ring.ts";
import type { TableView } from "./view.ts";
import { WG_DROP, WG_HAND, WG_HEAD, type WgKeys } from "./wg-keys.ts";

/** Int32 words per name area in MsgVec.names. */
export const NAME_STRIDE_WORDS = 8;
/** Bytes the coalescer needs after a vector's buffers: the largest IP packet plus its header. */
export const COALESCE_ROOM = 65536 + 64;

/** One batch of the rx path. */
export class RxEngine {
  readonly #vec: MsgVec;
  readonly #view: TableView;
  readonly #ring: RingWriter;
  readonly #c: Float64Array;
  readonly #udpFd: number;
  readonly #tunFd: number;
  /** Messages whose name length must be reset before the next recvmmsg. */
  #armed: number;
  /** virtio_net_hdr bytes before each TUN write (0 = none). */
  readonly #vnet: number;
  readonly #co: Coalescer | null;
  readonly #coPtr: number;
  /** Slot of the coalescer's open group. */
  #coSlot = -1;
  /** WireGuard's opener, or null (type 4 goes to Bun's socket then). */
  readonly #wg: WgKeys | null;
  /** Tag of datagrams handed over as they came (which socket's sink gets them). */
  readonly #tag: number;
  #handed = 0;

  constructor(vec: MsgVec, view: TableView, counters: Float64Array, ring: RingWriter, udpFd: number, tunFd: number, vnet = 0, coalesceUdp = true, wg: WgKeys | null = null, tag = TAG_DATAGRAM) {
    this.#vec = vec;
    this.#wg = wg;
    this.#tag = tag;
    this.#vnet = vnet;
    // The coalescer builds in the vector's spare tail (same buffer: copies are copyWithin).
    this.#co = vnet > 0 && vec.spare >= COALESCE_ROOM ? new Coalescer(vec.data, vec.count * vec.stride, COALESCE_ROOM, vnet, coalesceUdp) : null;
    this.#coPtr = this.#co === null ? 0 : vec.dataPtr + this.#co.base;
    this.#view = view;
    this.#c = counters;
    this.#ring = ring;
    this.#udpFd = udpFd;
    this.#tunFd = tunFd;
    this.#armed = vec.count;
  }

  /** recvmmsg without blocking: datagrams received, or -errno. */
  receive(): number {
    const vec = this.#vec;
    vec.armReceive(this.#armed);
    const n = libc.recvmmsg(this.#udpFd, vec.vecPtr, vec.count, MSG_DONTWAIT, null);
    if (n < 0) {
      this.#armed = 0;
      return -errno();
    }
    this.#armed = n;
    return n;
  }

  /** Forwards or hands over the `n` datagrams received. */
  process(n: number): void {
    const vec = this.#vec;
    const view = this.#view;
    const c = this.#c;
    const data = vec.data;
    const names = vec.names;
    const stride = vec.stride;
    const wg = this.#wg;
    this.#handed = 0;
    for (let i = 0; i < n; i++) {
      const len = vec.msgLen(i);
      if ((vec.flags(i) & MSG_TRUNC) !== 0 || len === 0) {
        c[G_RX_TRUNCATED] = (c[G_RX_TRUNCATED] as number) + 1;
        continue;
      }
      const off = i * stride + vec.headroom;
      if (wg !== null && readU32(data, off) === TYPE_TRANSPORT) { // the type byte and three zero bytes
        this.#wgRx(wg, off, len, i * NAME_STRIDE_WORDS);
        continue;
      }
      const slot = view.decideRx(data, off, len, names, i * NAME_STRIDE_WORDS);
      if (slot >= 0) {
        this.#forward(slot, off, view.len);
      } else {
        this.#hand(off, len, this.#tag, i * NAME_STRIDE_WORDS, 0);
      }
    }
    if (this.#co !== null && this.#co.count > 0) this.#flushGroup();
    if (this.#handed > 0) {
      c[G_RX_HANDOFFS] = (c[G_RX_HANDOFFS] as number) + this.#handed;
      this.#ring.wake();
    }
  }

  /** A WireGuard transport message at data[off, off+len): opened and written, handed over, or dropped (see the module comment). */
  #wgRx(wg: WgKeys, off: number, len: number, nameOff: number): void {
    const n = wg.open(this.#vec.data, off, len);
    if (n === WG_DROP) return;
    if (n === WG_HAND) return this.#hand(off, len, this.#tag, nameOff, 0);
    const slot = wg.slot;
    const c = this.#c;
    const known = slot >= 0 && slot < this.#view.capacity;
    if (known) c[counterIndex(slot, C_WG_RX_AT)] = wg.now;
    if (known && wg.confirmed) {
      const wire = counterIndex(slot, C_WG_RX_WIRE);
      if (n === 0 && this.#view.sameEndpoint(slot, this.#vec.names, nameOff)) {
        c[wire] = (c[wire] as number) + len; // a keepalive
        return;
      }
      const pt = off + WG_HEAD;
      if (n > 0 && this.#view.decideRx(this.#vec.data, pt, n, this.#vec.names, nameOff, true) === slot) {
        c[wire] = (c[wire] as number) + len;
        c[counterIndex(slot, C_WG_RX_DATA_AT)] = wg.now;
        this.#forward(slot, pt, this.#view.len);
        return;
      }
    }
    this.#hand(off, len, TAG_WG_OPENED, nameOff, wg.index);
  }

  #hand(off: number, len: number, tag: number, nameOff: number, extra: number): void {
    if (this.#ring.push(this.#vec.data, off, len, tag, this.#vec.names, nameOff, extra)) this.#handed++;
    else this.#c[G_RX_HANDOFF_DROPS] = (this.#c[G_RX_HANDOFF_DROPS] as number) + 1;
  }

  /** Writes the packet at data[off, off+len) alone (behind a zero header in the headroom). */
  #write(slot: number, off: number, len: number): void {
    const v = this.#vnet;
    if (v > 0) this.#vec.data.fill(0, off - v, off);
    this.#count(slot, libc.write(this.#tunFd, (this.#vec.dataPtr + off - v) as Pointer, len + v) === len + v, 1, len);
  }

  /** Forwards the packet at data[off, off+len) for `slot`: written alone, or fed to the coalescer (appended, or the open group is written and this one starts the next). */
  #forward(slot: number, off: number, len: number): void {
    const co = this.#co;
    if (co === null) return this.#write(slot, off, len);
    const data = this.#vec.data;
    if (slot === this.#coSlot && co.append(data, off, len)) return;
    if (co.count > 0) this.#flushGroup();
    if (co.start(data, off, len)) this.#coSlot = slot;
    else this.#write(slot, off, len);
  }

  #flushGroup(): void {
    const co = this.#co as Coalescer;
    const slot = this.#coSlot;
    this.#coSlot = -1;
    if (co.count === 1) {
      const off = co.firstOff;
      const len = co.firstLen;
      co.reset();
      return this.#write(slot, off, len);
    }
    const n = co.count;
    const bytes = co.bytes;
    const udp = co.udp;
    const total = co.finish(HOST_LE);
    const ok = libc.write(this.#tunFd, this.#coPtr as Pointer, total) === total;
    // A kernel without this GSO type for TUN writes says EINVAL: stop coalescing that kind
    // (this group's packets are lost and counted; the next ones go one by one).
    if (!ok && errno() === ERRNO.EINVAL) co.disable(udp);
    this.#count(slot, ok, n, bytes);
  }

  #count(slot: number, ok: boolean, packets: number, bytes: number): void {
    const c = this.#c;
    if (ok) {
      const k = counterIndex(slot, C_RX_PACKETS);
      c[k] = (c[k] as number) + packets;
      c[k + C_RX_BYTES - C_RX_PACKETS] = (c[k + C_RX_BYTES - C_RX_PACKETS] as number) + bytes;
    } else {
      const k = counterIndex(slot, C_DROP_TUN_WRITE);
      c[k] = (c[k] as number) + packets;
    }
  }
}

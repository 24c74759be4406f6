/**
 * @module datapath/tx-gso
 * The TUN -> client half of a worker's turn when the TUN hands over offloaded packets
 * (IFF_VNET_HDR + TUNSETOFFLOAD CSUM | TSO4 | TSO6): a read returns a virtio_net_hdr and
 * a packet of up to 64 KiB.
 *
 *   fill: read() into read slot r (each holds a 64 KiB packet) until EAGAIN, the slots or
 *         the messages run out, or the segment arena has no room for one more packet;
 *         per packet, by its header's gso_type:
 *           NONE   complete a partial checksum if flagged; decideTx; a message pointing
 *                  at the read slot (zero copy)
 *           TCPV4/6 decideTx on the headers; cut into segments in the arena (tso.ts);
 *                  one UDP_SEGMENT message per run of segments (the kernel cuts the
 *                  datagrams: one trip through the UDP/IP stack for up to 45 segments)
 *           other  (never asked for) dropped, counted
 *         SLOW packets go to the ring whole (NONE) or segment by segment.
 *   send: sendmmsg as TxEngine.send; counters count the segments each message carried.
 */

import type { Pointer } from "bun:ffi";
import { ERRNO } from "../lib/errno.ts";
import { errno, libc, nativeBuffer } from "../platform/linux/libc.ts";
import type { MsgVec } from "../platform/linux/mmsg.ts";
import {
  C_DROP_SEND, counterIndex, G_TX_HANDOFF_DROPS, G_TX_HANDOFFS, G_TX_NO_SESSION, G_TX_OFFLOAD_DROPS, TAG_TUN,
} from "./layout.ts";
import type { RingWriter } from "./ring.ts";
import { NAME_STRIDE_WORDS } from "./rx-engine.ts";
import { sendAll } from "./send.ts";
import {
  completeChecksum, GSO_NONE, GSO_TCPV4, GSO_TCPV6, TcpSegmenter, VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_SIZE,
  VNET_GSO_TYPE,
} from "./tso.ts";
import { NO_SESSION, type TableView } from "./view.ts";

/** Read slots: packets read per turn. */
export const READ_SLOTS = 16;
/** Bytes per read slot: the largest packet, its header, slack. */
const READ_STRIDE = 65536 + 128;
/**
 * With pacing, a turn stops reading the TUN once it holds this many bytes of TCP GSO
 * packets (one 64 KiB super-packet): the kernel hands over up to 64 KiB per read, and
 * a turn of 16 of them went out as ~700 back-to-back datagrams, more than a client's
 * default 208 KiB socket buffer takes (bench/RESULTS.md, "Pacing").
 */
export const TSO_TURN_BYTES = 65536;

/** Bytes of the segment arena. */
const ARENA = 512 * 1024;
/** The arena must have this much room before a read (a 64 KiB packet plus its segments' headers). */
const ARENA_NEED = 65536 + 64 * 128;
/** Most payload bytes in one UDP_SEGMENT message (the UDP length field, with margin). */
const GSO_MAX_BYTES = 64000;
/** Most segments in one UDP_SEGMENT message (the kernel's UDP_MAX_SEGMENTS is 64 or more). */
const GSO_MAX_SEGS = 64;

/** One turn of the offloaded tx path. */
export class TxGsoEngine {
  /** errno that ended the last fill() (EAGAIN: the TUN queue is drained), 0 = stopped for room. */
  err = 0;
  /** Bytes of TCP GSO packets the last fill() read (the loop paces after a bulk turn). */
  tsoBytes = 0;
  readonly #vec: MsgVec;
  readonly #view: TableView;
  readonly #ring: RingWriter;
  readonly #c: Float64Array;
  readonly #tunFd: number;
  readonly #udpFd: number;
  readonly #vnet: number;
  readonly #b: Uint8Array;
  readonly #w: Uint32Array;
  readonly #ptr: number;
  readonly #slots: Int32Array;
  readonly #pkts: Int32Array;
  readonly #seg = new TcpSegmenter();
  /** Send runs of segments with UDP_SEGMENT (else one message per segment). */
  readonly #udpGso: boolean;
  /** Read at most TSO_TURN_BYTES of GSO packets a turn. */
  readonly #pace: boolean;

  constructor(vec: MsgVec, view: TableView, counters: Float64Array, ring: RingWriter, tunFd: number, udpFd: number, vnet: number, udpGso = true, pace = false) {
    this.#vec = vec;
    this.#view = view;
    this.#c = counters;
    this.#ring = ring;
    this.#tunFd = tunFd;
    this.#udpFd = udpFd;
    this.#vnet = vnet;
    this.#udpGso = udpGso;
    this.#pace = pace;
    const mem = nativeBuffer(READ_SLOTS * READ_STRIDE + ARENA);
    this.#b = mem.buf;
    this.#w = new Uint32Array(mem.buf.buffer);
    this.#ptr = mem.ptr;
    this.#slots = new Int32Array(vec.count);
    this.#pkts = new Int32Array(vec.count);
  }

  #bump(i: number, n = 1): void {
    this.#c[i] = (this.#c[i] as number) + n;
  }

  /** Reads and prepares a turn's packets; returns the messages for send(). */
  fill(): number {
    const vec = this.#vec;
    const b = this.#b;
    const v = this.#vnet;
    let count = 0;
    let r = 0;
    let pos = READ_SLOTS * READ_STRIDE;
    const arenaEnd = pos + ARENA;
    let handed = 0;
    this.err = 0;
    this.tsoBytes = 0;
    const tsoLimit = this.#pace ? TSO_TURN_BYTES : Infinity;
    while (count < vec.count - 1 && r < READ_SLOTS && arenaEnd - pos >= ARENA_NEED && this.tsoBytes < tsoLimit) {
      const roff = r * READ_STRIDE;
      const n = libc.read(this.#tunFd, (this.#ptr + roff) as Pointer, READ_STRIDE);
      if (n <= 0) {
        this.err = n < 0 ? errno() : ERRNO.EAGAIN;
        break;
      }
      const pkt = roff + v;
      const len = n - v;
      const gso = b[roff + VNET_GSO_TYPE] as number;
      if (gso === GSO_NONE) {
        if (((b[roff + VNET_FLAGS] as number) & VNET_F_NEEDS_CSUM) !== 0) {
          const start = (b[roff + VNET_CSUM_START] as number) | ((b[roff + VNET_CSUM_START + 1] as number) << 8);
          const offset = (b[roff + VNET_CSUM_OFFSET] as number) | ((b[roff + VNET_CSUM_OFFSET + 1] as number) << 8);
          if (start + offset + 2 <= len) completeChecksum(b, this.#w, pkt + start, offset, pkt + len);
        }
        const slot = this.#view.decideTx(b, pkt, len, vec.names, count * NAME_STRIDE_WORDS);
        if (slot >= 0) {
          this.#message(count++, slot, pkt, len, 0, 1);
          r++; // the message sends straight from this read slot
        } else if (slot === NO_SESSION) this.#bump(G_TX_NO_SESSION);
        else if (this.#ring.push(b, pkt, len, TAG_TUN, null, 0)) handed++;
        else this.#bump(G_TX_HANDOFF_DROPS);
        continue;
      }
      if ((gso & 0x7f) !== GSO_TCPV4 && (gso & 0x7f) !== GSO_TCPV6) {
        this.#bump(G_TX_OFFLOAD_DROPS);
        continue;
      }
      this.tsoBytes += len;
      const mss = (b[roff + VNET_GSO_SIZE] as number) | ((b[roff + VNET_GSO_SIZE + 1] as number) << 8);
      const slot = this.#view.decideTx(b, pkt, len, vec.names, count * NAME_STRIDE_WORDS);
      if (slot === NO_SESSION || !this.#seg.segment(b, this.#w, pkt, len, mss, pos, arenaEnd)) {
        this.#bump(slot === NO_SESSION ? G_TX_NO_SESSION : G_TX_OFFLOAD_DROPS);
        continue;
      }
      if (slot >= 0) count = this.#runs(count, slot, pos);
      else handed += this.#handSegments(pos);
      pos += (this.#seg.total + 7) & ~7;
    }
    if (handed > 0) {
      this.#bump(G_TX_HANDOFFS, handed);
      this.#ring.wake();
    }
    return count;
  }

  /** Messages for the segments just cut at b[pos..]; the first message's name is already set. */
  #runs(count: number, slot: number, pos: number): number {
    const seg = this.#seg;
    const vec = this.#vec;
    const per = this.#udpGso ? Math.max(1, Math.min(GSO_MAX_SEGS, Math.floor(GSO_MAX_BYTES / seg.segLen))) : 1;
    const nameLen = this.#view.nameLen;
    const first = count * NAME_STRIDE_WORDS;
    let p = pos;
    let left = seg.count;
    let k = count;
    while (left > 0 && k < vec.count) {
      const segs = Math.min(per, left);
      const bytes = segs === left ? seg.total - (p - pos) : segs * seg.segLen;
      if (k !== count) for (let j = 0; j < 7; j++) vec.names[k * NAME_STRIDE_WORDS + j] = vec.names[first + j] as number;
      this.#view.nameLen = nameLen;
      this.#message(k++, slot, p, bytes, segs > 1 ? seg.segLen : 0, segs);
      p += bytes;
      left -= segs;
    }
    if (left > 0) this.#bump(counterIndex(slot, C_DROP_SEND), left); // out of messages (not with the default sizes)
    return k;
  }

  #handSegments(pos: number): number {
    const seg = this.#seg;
    let handed = 0;
    for (let i = 0, p = pos; i < seg.count; i++) {
      const len = i < seg.count - 1 ? seg.segLen : seg.total - (p - pos);
      if (this.#ring.push(this.#b, p, len, TAG_TUN, null, 0)) handed++;
      else this.#bump(G_TX_HANDOFF_DROPS);
      p += len;
    }
    return handed;
  }

  #message(i: number, slot: number, off: number, len: number, segment: number, packets: number): void {
    const vec = this.#vec;
    vec.setBase(i, this.#ptr + off);
    vec.setLen(i, len);
    vec.setNameLen(i, this.#view.nameLen);
    vec.setSegment(i, segment);
    this.#slots[i] = slot;
    this.#pkts[i] = packets;
  }

  /** sendmmsg until all `count` messages went out or were refused (counted on their slots). */
  send(count: number): void {
    sendAll(this.#udpFd, this.#vec, count, this.#slots, this.#pkts, this.#c);
  }

}

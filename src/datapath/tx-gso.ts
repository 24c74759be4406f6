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
 *         A WireGuard session's packet is sealed in place (NONE: in its read slot, which keeps
 *         WG_HEAD bytes before it; TCP: each segment is cut at a pitch that leaves room for
 *         its header, padding and tag, then sealed, so a run of them is still one
 *         UDP_SEGMENT message of equal datagrams).
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
import { TxBatch } from "./send.ts";
import {
  completeChecksum, GSO_NONE, GSO_TCPV4, GSO_TCPV6, TcpSegmenter, VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_SIZE,
  VNET_GSO_TYPE,
} from "./tso.ts";
import { WG_TAIL, type WgSend } from "./tx-engine.ts";
import { NO_SESSION, SLOW, type TableView } from "./view.ts";
import { WG_HEAD } from "./wg-keys.ts";

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
  readonly #batch: TxBatch;
  readonly #seg = new TcpSegmenter();
  /** Send runs of segments with UDP_SEGMENT (else one message per segment). */
  readonly #udpGso: boolean;
  /** Read at most TSO_TURN_BYTES of GSO packets a turn. */
  readonly #pace: boolean;
  readonly #wg: WgSend | null;
  readonly #pitch: ((segLen: number) => number) | null;
  /** During fill(): messages made, packets handed over, the arena's next free byte. */
  #count = 0;
  #handed = 0;
  #pos = 0;

  constructor(vec: MsgVec, view: TableView, counters: Float64Array, ring: RingWriter, tunFd: number, udpFd: number, vnet: number, udpGso = true, pace = false, wg: WgSend | null = null) {
    this.#vec = vec;
    this.#wg = wg;
    this.#pitch = wg === null ? null : (segLen) => wg.keys.sealedLength(segLen);
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
    this.#batch = new TxBatch(vec, counters);
  }

  #bump(i: number, n = 1): void {
    this.#c[i] = (this.#c[i] as number) + n;
  }

  /** Reads and prepares a turn's packets; returns the messages for send(). */
  fill(): number {
    const vec = this.#vec;
    const v = this.#vnet;
    this.#count = 0;
    this.#handed = 0;
    this.#pos = READ_SLOTS * READ_STRIDE;
    let r = 0;
    const arenaEnd = this.#pos + ARENA;
    this.err = 0;
    this.tsoBytes = 0;
    const tsoLimit = this.#pace ? TSO_TURN_BYTES : Infinity;
    const lead = this.#wg === null ? 0 : WG_HEAD;
    const room = READ_STRIDE - lead - (this.#wg === null ? 0 : WG_TAIL);
    while (this.#count < vec.count - 1 && r < READ_SLOTS && arenaEnd - this.#pos >= ARENA_NEED && this.tsoBytes < tsoLimit) {
      const roff = r * READ_STRIDE + lead;
      const n = libc.read(this.#tunFd, (this.#ptr + roff) as Pointer, room);
      if (n <= 0) {
        this.err = n < 0 ? errno() : ERRNO.EAGAIN;
        break;
      }
      const gso = this.#b[roff + VNET_GSO_TYPE] as number;
      if (gso === GSO_NONE) {
        if (this.#whole(roff, roff + v, n - v)) r++; // the message sends straight from this read slot
      } else if ((gso & 0x7f) !== GSO_TCPV4 && (gso & 0x7f) !== GSO_TCPV6) {
        this.#bump(G_TX_OFFLOAD_DROPS);
      } else {
        this.tsoBytes += n - v;
        this.#tso(roff, roff + v, n - v, arenaEnd);
      }
    }
    if (this.#handed > 0) {
      this.#bump(G_TX_HANDOFFS, this.#handed);
      this.#ring.wake();
    }
    return this.#count;
  }

  /** A packet without GSO at b[pkt, pkt+len) (its header at roff): true when a message sends it from its read slot. */
  #whole(roff: number, pkt: number, len: number): boolean {
    const b = this.#b;
    if (((b[roff + VNET_FLAGS] as number) & VNET_F_NEEDS_CSUM) !== 0) {
      const start = (b[roff + VNET_CSUM_START] as number) | ((b[roff + VNET_CSUM_START + 1] as number) << 8);
      const offset = (b[roff + VNET_CSUM_OFFSET] as number) | ((b[roff + VNET_CSUM_OFFSET + 1] as number) << 8);
      if (start + offset + 2 <= len) completeChecksum(b, this.#w, pkt + start, offset, pkt + len);
    }
    const wg = this.#wg;
    const slot = this.#view.decideTx(b, pkt, len, this.#vec.names, this.#count * NAME_STRIDE_WORDS);
    if (slot >= 0 && this.#view.wgKp < 0) {
      this.#message(this.#count++, slot, pkt, len, 0, 1);
      return true;
    }
    if (slot >= 0 && wg !== null && this.#batch.seal(this.#count, slot, wg.keys, this.#view, b, this.#ptr, pkt, len)) {
      this.#count++;
      return true;
    }
    if (slot === NO_SESSION) this.#bump(G_TX_NO_SESSION);
    else if (this.#ring.push(b, pkt, len, TAG_TUN, null, 0)) this.#handed++;
    else this.#bump(G_TX_HANDOFF_DROPS);
    return false;
  }

  /** A TCP GSO packet at b[pkt, pkt+len): cut into the arena at #pos, then sent, sealed and sent, or handed over. */
  #tso(roff: number, pkt: number, len: number, arenaEnd: number): void {
    const b = this.#b;
    const view = this.#view;
    const wg = this.#wg;
    const mss = (b[roff + VNET_GSO_SIZE] as number) | ((b[roff + VNET_GSO_SIZE + 1] as number) << 8);
    let slot = view.decideTx(b, pkt, len, this.#vec.names, this.#count * NAME_STRIDE_WORDS);
    const sealing = slot >= 0 && view.wgKp >= 0 && wg !== null && wg.keys.usable(view.wgKp, view.wgIndex);
    if (slot >= 0 && view.wgKp >= 0 && !sealing) slot = SLOW; // the main thread decides (a handshake)
    const pos = this.#pos;
    const seg = this.#seg;
    const cut = slot !== NO_SESSION && (sealing ? seg.segment(b, this.#w, pkt, len, mss, pos, arenaEnd, WG_HEAD, this.#pitch) : seg.segment(b, this.#w, pkt, len, mss, pos, arenaEnd));
    if (!cut) return this.#bump(slot === NO_SESSION ? G_TX_NO_SESSION : G_TX_OFFLOAD_DROPS);
    if (sealing) this.#count = this.#sealRuns(wg as WgSend, this.#count, slot, pos);
    else if (slot >= 0) this.#count = this.#runs(this.#count, slot, pos);
    else this.#handed += this.#handSegments(pos);
    this.#pos += sealing ? seg.count * seg.pitch : (seg.total + 7) & ~7;
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

  /**
   * Seals the segments just cut at a pitch at b[pos..] and makes messages of them: runs of
   * equal datagrams (the last of a packet may be shorter) as UDP_SEGMENT messages. A segment
   * the keypair refuses to seal (it expired meanwhile) and those after it are counted as send drops.
   */
  #sealRuns(wg: WgSend, count: number, slot: number, pos: number): number {
    const seg = this.#seg;
    const vec = this.#vec;
    const keys = wg.keys;
    const pitch = seg.pitch;
    const kp = this.#view.wgKp;
    const index = this.#view.wgIndex;
    let sealed = 0;
    let lastSealed = pitch;
    for (; sealed < seg.count; sealed++) {
      const len = sealed < seg.count - 1 ? seg.segLen : seg.lastLen;
      const m = keys.seal(kp, index, this.#b, pos + WG_HEAD + sealed * pitch, len);
      if (m < 0) break;
      lastSealed = m;
    }
    if (sealed < seg.count) this.#bump(counterIndex(slot, C_DROP_SEND), seg.count - sealed);
    const per = this.#udpGso ? Math.max(1, Math.min(GSO_MAX_SEGS, Math.floor(GSO_MAX_BYTES / pitch))) : 1;
    const nameLen = this.#view.nameLen;
    const first = count * NAME_STRIDE_WORDS;
    let k = count;
    let done = 0;
    while (done < sealed && k < vec.count) {
      const segs = Math.min(per, sealed - done);
      const ends = done + segs === seg.count; // this run holds the packet's last (maybe short) segment
      const bytes = (segs - 1) * pitch + (ends ? lastSealed : pitch);
      const plain = (segs - 1) * seg.segLen + (ends ? seg.lastLen : seg.segLen);
      if (k !== count) for (let j = 0; j < 7; j++) vec.names[k * NAME_STRIDE_WORDS + j] = vec.names[first + j] as number;
      this.#view.nameLen = nameLen;
      this.#message(k, slot, pos + done * pitch, bytes, segs > 1 ? pitch : 0, segs);
      this.#batch.sealed(k++, slot, plain, bytes, keys.now);
      done += segs;
    }
    if (done < sealed) this.#bump(counterIndex(slot, C_DROP_SEND), sealed - done); // out of messages
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
    this.#batch.set(i, slot, this.#ptr + off, len, this.#view.nameLen, segment, packets);
  }

  /** sendmmsg until all `count` messages went out or were refused (counted on their slots). */
  send(count: number): void {
    this.#batch.send(count, this.#udpFd, this.#wg?.fd ?? -1);
  }
}

/**
 * @module datapath/coalesce
 * Segment coalescing for TUN writes with IFF_VNET_HDR (what the kernel's GRO does on a
 * NIC): consecutive packets of one TCP or UDP flow received in one batch become one
 * packet of up to 64 KiB with a virtio_net_hdr saying "TCP GSO (or UDP_L4 GSO), segment
 * size S, checksum partial". The kernel's stack then handles one packet instead of
 * dozens: TCP takes it whole, UDP cuts it at the socket; if it is forwarded, the kernel
 * segments it again. Pure: bytes in, bytes out.
 *
 * A packet joins the open group when all hold (the kernel's own GRO rules):
 *   IPv4 without options or fragments / IPv6 without extension headers; a payload; same
 *   addresses, ports, TOS/TTL (traffic class, flow label, hop limit) as the first;
 *   payload <= the first's (the segment size); and for TCP: ACK and at most PSH set,
 *   same ACK number, window and options, sequence number where the group ends.
 * A shorter (or TCP PSH) packet closes the group. Anything else is written as it came,
 * with a zero header (no offload: the kernel verifies its checksums as usual).
 */

/** virtio_net_hdr flag: the checksum at csum_start + csum_offset is partial. */
const VNET_F_NEEDS_CSUM = 1;
/** virtio_net_hdr gso_type values. */
const VNET_GSO_TCPV4 = 1;
const VNET_GSO_TCPV6 = 4;
const VNET_GSO_UDP_L4 = 5;
/** coalescable(): this bit on the result marks UDP. */
export const KIND_UDP = 0x100;
const UDP_HEADER = 8;
/** TCP flags. */
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
/** Longest IP packet (the IPv4 total length / IPv6 payload length field). */
const MAX_IP = 65535;

/** One's complement sum of 16-bit big-endian words of b[from, to) added to `sum` (unfolded). */
export function sum16(b: Uint8Array, from: number, to: number, sum: number): number {
  let s = sum;
  let i = from;
  for (; i + 1 < to; i += 2) s += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < to) s += (b[i] as number) << 8;
  return s;
}

/** Folds a sum to 16 bits. */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * For a coalescable packet at b[off, off+len): its IP header length (20 or 40), plus
 * KIND_UDP for UDP; 0 when it is not one. A TCP header's length is then
 * `(b[off + hl + 12] >>> 4) * 4`.
 */
export function coalescable(b: Uint8Array, off: number, len: number, udp = true): number {
  const v = (b[off] as number) >>> 4;
  let hl: number;
  let proto: number;
  if (v === 4) {
    if (b[off] !== 0x45 || ((b[off + 6] as number) & 0x3f) !== 0 || b[off + 7] !== 0) return 0;
    hl = 20;
    proto = b[off + 9] as number;
  } else if (v === 6) {
    hl = 40;
    proto = b[off + 6] as number;
  } else return 0;
  const t = off + hl;
  if (proto === 17 && udp) {
    const ulen = ((b[t + 4] as number) << 8) | (b[t + 5] as number);
    return len > hl + UDP_HEADER && ulen === len - hl ? hl | KIND_UDP : 0;
  }
  if (proto !== 6 || len < hl + 20) return 0;
  const thl = ((b[t + 12] as number) >>> 4) * 4;
  const flags = b[t + 13] as number;
  if (thl < 20 || len <= hl + thl || (flags & ~TCP_PSH) !== TCP_ACK) return 0;
  return hl;
}

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

/**
 * Groups consecutive segments; see the module comment. Input segments and the output
 * area live in the same buffer (`buf`, output at `buf[base..base + 64 KiB + vnet)`), so
 * copying is `copyWithin` and allocates nothing.
 */
export class Coalescer {
  /** Segments in the open group (0 = none). */
  count = 0;
  /** Sum of the group's original IP packet lengths (for the rx byte counters). */
  bytes = 0;
  /** Where the group's single packet sits while count === 1. */
  firstOff = 0;
  firstLen = 0;
  readonly #out: Uint8Array;
  readonly #base: number;
  readonly #room: number;
  readonly #hdr: DataView;
  readonly #vnet: number;
  #hl = 0;
  #thl = 0;
  #udp = false;
  /** Coalesce UDP (UDP_L4 GSO writes) / TCP; turned off when the kernel refuses such writes. */
  #withUdp: boolean;
  #withTcp = true;
  #gso = 0;
  #nextSeq = 0;
  #end = 0;
  #closed = false;
  #psh = false;
  /** Where the first segment's bytes are (in `buf`), for comparing the next ones. */
  #srcOff = 0;

  /** `buf[base, base + room)` is the output area (room >= 64 KiB + vnet). */
  constructor(buf: Uint8Array, base: number, room: number, vnet: number, withUdp = true) {
    this.#withUdp = withUdp;
    this.#out = buf;
    this.#base = base;
    this.#room = room;
    this.#hdr = new DataView(buf.buffer, buf.byteOffset + base, Math.max(vnet, 1));
    this.#vnet = vnet;
  }

  /** Offset in `buf` of what finish() built. */
  get base(): number {
    return this.#base;
  }

  /** Opens a group with the segment at b[off, off+len). False: it cannot be coalesced (write it alone). */
  start(b: Uint8Array, off: number, len: number): boolean {
    const kind = coalescable(b, off, len, this.#withUdp);
    if (kind === 0 || (!this.#withTcp && (kind & KIND_UDP) === 0)) return false;
    const hl = kind & 0xff;
    const t = off + hl;
    this.#hl = hl;
    this.#udp = (kind & KIND_UDP) !== 0;
    this.#thl = this.#udp ? UDP_HEADER : ((b[t + 12] as number) >>> 4) * 4;
    this.#gso = len - hl - this.#thl;
    this.#nextSeq = this.#udp ? 0 : (u32(b, t + 4) + this.#gso) >>> 0;
    this.#psh = !this.#udp && ((b[t + 13] as number) & TCP_PSH) !== 0;
    this.#closed = this.#psh;
    this.#srcOff = off;
    this.count = 1;
    this.bytes = len;
    this.firstOff = off;
    this.firstLen = len;
    return true;
  }

  /** Appends the segment at b[off, off+len) to the open group if it continues it. */
  append(b: Uint8Array, off: number, len: number): boolean {
    if (this.count === 0 || this.#closed) return false;
    const hl = this.#hl;
    const thl = this.#thl;
    const payload = len - hl - thl;
    if (payload <= 0 || payload > this.#gso || !this.#sameHeader(b, off, len)) return false;
    const t = off + hl;
    if (!this.#udp && u32(b, t + 4) !== this.#nextSeq) return false;
    const cur = this.count === 1 ? hl + thl + this.#gso : this.#end - this.#base - this.#vnet;
    if (cur + payload > MAX_IP + (hl === 40 ? 40 : 0) || this.#vnet + cur + payload > this.#room) return false;
    const o = this.#out;
    if (this.count === 1) {
      o.copyWithin(this.#base + this.#vnet, this.#srcOff, this.#srcOff + this.firstLen);
      this.#end = this.#base + this.#vnet + this.firstLen;
      this.#srcOff = this.#base + this.#vnet;
    }
    o.copyWithin(this.#end, t + thl, t + thl + payload);
    this.#end += payload;
    this.#nextSeq = (this.#nextSeq + payload) >>> 0;
    this.count++;
    this.bytes += len;
    if (!this.#udp && ((b[t + 13] as number) & TCP_PSH) !== 0) this.#psh = true;
    if (payload < this.#gso || this.#psh) this.#closed = true;
    return true;
  }

  #sameHeader(b: Uint8Array, off: number, len: number): boolean {
    const s = this.#out;
    const so = this.#srcOff;
    const hl = this.#hl;
    if (coalescable(b, off, len) !== (this.#udp ? hl | KIND_UDP : hl)) return false;
    if (!this.#udp && b[off + hl + 12] !== s[so + hl + 12]) return false;
    if (hl === 20) {
      if (b[off + 1] !== s[so + 1] || b[off + 6] !== s[so + 6] || b[off + 8] !== s[so + 8]) return false;
      for (let i = 12; i < 20; i++) if (b[off + i] !== s[so + i]) return false;
    } else {
      for (let i = 0; i < 4; i++) if (b[off + i] !== s[so + i]) return false;
      if (b[off + 7] !== s[so + 7]) return false;
      for (let i = 8; i < 40; i++) if (b[off + i] !== s[so + i]) return false;
    }
    const t = off + hl;
    const st = so + hl;
    for (let i = 0; i < 4; i++) if (b[t + i] !== s[st + i]) return false; // ports
    if (this.#udp) return true;
    for (let i = 8; i < 13; i++) if (b[t + i] !== s[st + i]) return false; // ack, data offset
    if (((b[t + 13] as number) & ~TCP_PSH) !== ((s[st + 13] as number) & ~TCP_PSH)) return false;
    for (let i = 14; i < 16; i++) if (b[t + i] !== s[st + i]) return false; // window
    for (let i = 20; i < this.#thl; i++) if (b[t + i] !== s[st + i]) return false; // options
    return true;
  }

  /**
   * Finishes a group of two or more in the output area: lengths, IPv4 header checksum,
   * PSH, the partial TCP checksum (pseudo header) and the virtio_net_hdr. Returns the
   * bytes to write from `buf[base]`. Resets the coalescer.
   */
  finish(hostLE: boolean): number {
    const o = this.#out;
    const v = this.#base + this.#vnet;
    const hl = this.#hl;
    const t = v + hl;
    const ipLen = this.#end - v;
    const vh = this.#vnet;
    const tcpLen = ipLen - hl;
    const proto = this.#udp ? 17 : 6;
    let pseudo: number;
    if (hl === 20) {
      o[v + 2] = ipLen >>> 8;
      o[v + 3] = ipLen & 255;
      o[v + 10] = 0;
      o[v + 11] = 0;
      const c = ~fold(sum16(o, v, v + 20, 0)) & 0xffff;
      o[v + 10] = c >>> 8;
      o[v + 11] = c & 255;
      pseudo = sum16(o, v + 12, v + 20, proto + tcpLen);
    } else {
      o[v + 4] = tcpLen >>> 8;
      o[v + 5] = tcpLen & 255;
      pseudo = sum16(o, v + 8, v + 40, proto + tcpLen);
    }
    const p = fold(pseudo);
    const csumOff = this.#udp ? 6 : 16;
    if (this.#udp) {
      o[t + 4] = tcpLen >>> 8; // UDP length
      o[t + 5] = tcpLen & 255;
    } else if (this.#psh) o[t + 13] = (o[t + 13] as number) | TCP_PSH;
    o[t + csumOff] = p >>> 8;
    o[t + csumOff + 1] = p & 255;
    if (vh >= 10) {
      const dv = this.#hdr;
      dv.setUint8(0, VNET_F_NEEDS_CSUM);
      dv.setUint8(1, this.#udp ? VNET_GSO_UDP_L4 : hl === 20 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6);
      dv.setUint16(2, hl + this.#thl, hostLE);
      dv.setUint16(4, this.#gso, hostLE);
      dv.setUint16(6, hl, hostLE);
      dv.setUint16(8, csumOff, hostLE);
    }
    const n = this.#end - this.#base;
    this.reset();
    return n;
  }

  /** True when the open group is UDP. */
  get udp(): boolean {
    return this.#udp;
  }

  /** Stops coalescing UDP (`udp`) or TCP: the kernel refused such a GSO write (EINVAL). */
  disable(udp: boolean): void {
    if (udp) this.#withUdp = false;
    else this.#withTcp = false;
  }

  /** Forgets the open group. */
  reset(): void {
    this.count = 0;
    this.bytes = 0;
    this.#end = 0;
    this.#closed = false;
    this.#psh = false;
  }
}

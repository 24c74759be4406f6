/**
 * @module datapath/tso
 * What a NIC does for a TUN reader that asked for offloads (TUNSETOFFLOAD CSUM | TSO4 |
 * TSO6): the kernel hands over packets whose TCP/UDP checksum is only partial, and TCP
 * packets of up to 64 KiB that must be cut into segments of `gso_size` payload bytes.
 * Pure: bytes in, bytes out, checksums computed here. Source and destination are one
 * buffer (copyWithin), so nothing is allocated per packet.
 *
 * Segment i of a TCP GSO packet: the IP and TCP headers of the packet with
 *   IPv4 total length / IPv6 payload length of the segment, IPv4 id + i, IPv4 header checksum,
 *   TCP sequence number + i * gso_size, FIN and PSH only on the last segment, CWR only on
 *   the first, and the full TCP checksum (pseudo header, header, payload),
 * then its slice of the payload: every segment but the last has the same length, which
 * lets the caller send them as one UDP_SEGMENT (GSO) message.
 */

/** virtio_net_hdr offset of `flags` (u8). */
export const VNET_FLAGS = 0;
/** virtio_net_hdr offset of `gso_type` (u8). */
export const VNET_GSO_TYPE = 1;
/** virtio_net_hdr offset of `gso_size` (u16, host order). */
export const VNET_GSO_SIZE = 4;
/** virtio_net_hdr offset of `csum_start` (u16, host order). */
export const VNET_CSUM_START = 6;
/** virtio_net_hdr offset of `csum_offset` (u16, host order). */
export const VNET_CSUM_OFFSET = 8;
/** flags bit: the checksum at csum_start + csum_offset is partial. */
export const VNET_F_NEEDS_CSUM = 1;
/** gso_type: a plain packet. */
export const GSO_NONE = 0;
/** gso_type: IPv4 TCP segmentation. */
export const GSO_TCPV4 = 1;
/** gso_type: IPv6 TCP segmentation. */
export const GSO_TCPV6 = 4;

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** Folds a one's complement sum (any size up to 2^53) to 16 bits. */
function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/**
 * One's complement sum of b[from, to) as big-endian 16-bit words (`from` even relative
 * to the checksummed header), folded to 16 bits. `w` is a Uint32Array over the same
 * buffer from offset 0: 4-aligned stretches are summed a word at a time.
 */
export function checksum16(b: Uint8Array, w: Uint32Array, from: number, to: number): number {
  let s = 0;
  let i = from;
  while (((b.byteOffset + i) & 3) !== 0 && i + 1 < to) {
    s += ((b[i] as number) << 8) | (b[i + 1] as number);
    i += 2;
  }
  let le = 0;
  const words = (to - i) >>> 2;
  const w0 = (b.byteOffset + i) >>> 2;
  if (((b.byteOffset + i) & 3) === 0) {
    for (let k = 0; k < words; k++) le += w[w0 + k] as number;
    i += words * 4;
    const f = fold(le);
    s += ((f & 0xff) << 8) | (f >>> 8); // host little-endian words -> big-endian sum
  }
  for (; i + 1 < to; i += 2) s += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < to) s += (b[i] as number) << 8;
  return fold(s);
}

/** Completes a partial checksum: the field at `start + offset` holds the pseudo-header sum. */
export function completeChecksum(b: Uint8Array, w: Uint32Array, start: number, offset: number, end: number): void {
  const c = ~checksum16(b, w, start, end) & 0xffff;
  b[start + offset] = c >>> 8;
  b[start + offset + 1] = c & 255;
}

/** Results of the last `segment()` call. */
export class TcpSegmenter {
  /** Segments written. */
  count = 0;
  /** Bytes of every segment but the last. */
  segLen = 0;
  /** Total bytes written. */
  total = 0;
  /** With a pitch (WireGuard): bytes from one segment's message to the next, and the last segment's length. */
  pitch = 0;
  lastLen = 0;

  /**
   * Cuts the TCP GSO packet b[off, off+len) into segments of `mss` payload bytes at
   * b[at, end) (w: Uint32Array over b's buffer; the areas must not overlap). Returns
   * false (nothing usable written) when the headers do not add up or it does not fit.
   * With a `pitch` function (WireGuard) segment i is written at at + lead + i * pitch(segLen)
   * instead of back to back: room for each one's header before it and padding and tag after.
   */
  segment(b: Uint8Array, w: Uint32Array, off: number, len: number, mss: number, at: number, end: number, lead = 0, pitch: ((segLen: number) => number) | null = null): boolean {
    const src = b;
    const v = (src[off] as number) >>> 4;
    const hl = v === 4 ? ((src[off] as number) & 15) * 4 : 40;
    if ((v !== 4 && v !== 6) || hl < 20 || len < hl + 20 || mss <= 0) return false;
    const thl = ((src[off + hl + 12] as number) >>> 4) * 4;
    const hdr = hl + thl;
    const payload = len - hdr;
    if (thl < 20 || payload <= 0) return false;
    const n = Math.ceil(payload / mss);
    const step = pitch === null ? 0 : pitch(hdr + mss);
    if (at + (step > 0 ? n * step : n * hdr + payload) > end) return false;
    const seq0 = (((src[off + hl + 4] as number) << 24) | ((src[off + hl + 5] as number) << 16) | ((src[off + hl + 6] as number) << 8) | (src[off + hl + 7] as number)) >>> 0;
    const id0 = v === 4 ? ((src[off + 4] as number) << 8) | (src[off + 5] as number) : 0;
    const flags = src[off + hl + 13] as number;
    let p = at + lead;
    let chunk = 0;
    for (let i = 0; i < n; i++) {
      chunk = i < n - 1 ? mss : payload - mss * (n - 1);
      if (step > 0) p = at + lead + i * step;
      b.copyWithin(p, off, off + hdr);
      b.copyWithin(p + hdr, off + hdr + i * mss, off + hdr + i * mss + chunk);
      this.#fix(b, w, p, hl, thl, chunk, (seq0 + i * mss) >>> 0, (id0 + i) & 0xffff, i === 0, i === n - 1, flags);
      p += hdr + chunk;
    }
    this.count = n;
    this.segLen = hdr + mss;
    this.total = p - at;
    this.pitch = step;
    this.lastLen = hdr + chunk;
    return true;
  }

  #fix(b: Uint8Array, w: Uint32Array, p: number, hl: number, thl: number, chunk: number, seq: number, id: number, first: boolean, last: boolean, flags: number): void {
    const t = p + hl;
    const tcpLen = thl + chunk;
    let pseudo: number;
    if (hl === 40) {
      b[p + 4] = tcpLen >>> 8;
      b[p + 5] = tcpLen & 255;
      pseudo = checksum16(b, w, p + 8, p + 40) + 6 + tcpLen;
    } else {
      const tot = hl + tcpLen;
      b[p + 2] = tot >>> 8;
      b[p + 3] = tot & 255;
      b[p + 4] = id >>> 8;
      b[p + 5] = id & 255;
      b[p + 10] = 0;
      b[p + 11] = 0;
      const c = ~checksum16(b, w, p, p + hl) & 0xffff;
      b[p + 10] = c >>> 8;
      b[p + 11] = c & 255;
      pseudo = checksum16(b, w, p + 12, p + 20) + 6 + tcpLen;
    }
    b[t + 4] = seq >>> 24;
    b[t + 5] = (seq >>> 16) & 255;
    b[t + 6] = (seq >>> 8) & 255;
    b[t + 7] = seq & 255;
    let f = flags;
    if (!last) f &= ~(TCP_FIN | TCP_PSH);
    if (!first) f &= ~TCP_CWR;
    b[t + 13] = f;
    b[t + 16] = 0;
    b[t + 17] = 0;
    const c = ~fold(pseudo + checksum16(b, w, t, t + tcpLen)) & 0xffff;
    b[t + 16] = c >>> 8;
    b[t + 17] = c & 255;
  }
}

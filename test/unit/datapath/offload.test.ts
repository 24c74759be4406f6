/**
 * TCP segmentation (tso.ts) and coalescing (coalesce.ts): checksums against an
 * independent byte-wise implementation, and the round trip GSO packet -> segments ->
 * GSO packet.
 */
import { describe, expect, test } from "bun:test";
import { Coalescer, coalescable } from "../../../src/datapath/coalesce.ts";
import { checksum16, completeChecksum, TcpSegmenter } from "../../../src/datapath/tso.ts";

/** RFC 1071 checksum, byte by byte (the reference). */
function refSum(b: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let i = from; i < to; i += 2) s += ((b[i] as number) << 8) | (i + 1 < to ? (b[i + 1] as number) : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** True when the packet's IPv4 header (if v4) and TCP checksums verify. */
function checksumsOk(b: Uint8Array, off: number, len: number): boolean {
  const v6 = (b[off] as number) >>> 4 === 6;
  const hl = v6 ? 40 : 20;
  if (!v6 && refSum(b, off, off + 20) !== 0xffff) return false;
  const tcpLen = len - hl;
  const pseudo = v6 ? refSum(b, off + 8, off + 40, 6 + tcpLen) : refSum(b, off + 12, off + 20, 6 + tcpLen);
  return refSum(b, off + hl, off + len, pseudo) === 0xffff;
}

/** A TCP packet (v4 or v6) with timestamps option, `payload` bytes of pattern, valid checksums. */
function tcpPacket(v6: boolean, payload: number, seq: number, flags = 0x10, fill = 7): Uint8Array {
  const hl = v6 ? 40 : 20;
  const thl = 32;
  const p = new Uint8Array(hl + thl + payload);
  const dv = new DataView(p.buffer);
  if (v6) {
    p[0] = 0x60;
    dv.setUint16(4, thl + payload);
    p[6] = 6;
    p[7] = 64;
    p.set([0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 8);
    p.set([0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 24);
  } else {
    p[0] = 0x45;
    dv.setUint16(2, hl + thl + payload);
    dv.setUint16(4, 0x1234);
    p[6] = 0x40;
    p[8] = 64;
    p[9] = 6;
    p.set([10, 8, 0, 2, 10, 8, 0, 1], 12);
  }
  const t = hl;
  dv.setUint16(t, 40000);
  dv.setUint16(t + 2, 5201);
  dv.setUint32(t + 4, seq >>> 0);
  dv.setUint32(t + 8, 777);
  p[t + 12] = (thl / 4) << 4;
  p[t + 13] = flags;
  dv.setUint16(t + 14, 512);
  p.set([1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 9], t + 20);
  for (let i = 0; i < payload; i++) p[hl + thl + i] = (i * 31 + fill + (seq & 0xff)) & 255;
  if (!v6) dv.setUint16(10, ~refSum(p, 0, 20) & 0xffff);
  const pseudo = v6 ? refSum(p, 8, 40, 6 + thl + payload) : refSum(p, 12, 20, 6 + thl + payload);
  dv.setUint16(t + 16, ~refSum(p, t, p.length, pseudo) & 0xffff);
  return p;
}

describe("checksums", () => {
  test("checksum16 equals RFC 1071 for every alignment and odd lengths", () => {
    const buf = new Uint8Array(4096);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + 17) & 255;
    const w = new Uint32Array(buf.buffer);
    for (const from of [0, 1, 2, 3, 6, 100]) for (const len of [0, 1, 2, 3, 5, 64, 1399, 1400]) {
      expect(checksum16(buf, w, from, from + len)).toBe(refSum(buf, from, from + len));
    }
  });

  test("completeChecksum turns a partial (pseudo-header) checksum into a valid one", () => {
    const p = tcpPacket(false, 100, 1);
    const pseudo = refSum(p, 12, 20, 6 + 32 + 100);
    p[36] = pseudo >>> 8;
    p[37] = pseudo & 255;
    const b = new Uint8Array(new ArrayBuffer(256));
    b.set(p, 8);
    completeChecksum(b, new Uint32Array(b.buffer), 8 + 20, 16, 8 + p.length);
    expect(checksumsOk(b, 8, p.length)).toBe(true);
  });
});

describe("segment, then coalesce", () => {
  for (const v6 of [false, true]) {
    test(`${v6 ? "IPv6" : "IPv4"}: 64 KiB GSO packet -> segments with valid checksums -> the same packet`, () => {
      const mss = 1348;
      const hdr = (v6 ? 40 : 20) + 32;
      const big = tcpPacket(v6, 48 * mss + 500, 1000, 0x18);
      const b = new Uint8Array(new ArrayBuffer(1 << 20));
      const w = new Uint32Array(b.buffer);
      b.set(big, 16);
      const seg = new TcpSegmenter();
      expect(seg.segment(b, w, 16, big.length, mss, 100_000, b.length)).toBe(true);
      expect(seg.count).toBe(49);
      expect(seg.segLen).toBe(hdr + mss);
      let p = 100_000;
      const payload: number[] = [];
      for (let i = 0; i < seg.count; i++) {
        const len = i < seg.count - 1 ? seg.segLen : seg.total - (p - 100_000);
        expect(checksumsOk(b, p, len)).toBe(true);
        const flags = b[p + hdr - 32 + 13] as number;
        expect(flags).toBe(i === seg.count - 1 ? 0x18 : 0x10); // PSH only on the last
        for (let k = p + hdr; k < p + len; k++) payload.push(b[k] as number);
        p += len;
      }
      expect(payload).toEqual([...big.subarray(hdr)]);

      // coalesce the segments back (output area after them, 10-byte virtio header)
      const co = new Coalescer(b, 400_000, 65536 + 64, 10);
      p = 100_000;
      for (let i = 0; i < seg.count; i++) {
        const len = i < seg.count - 1 ? seg.segLen : seg.total - (p - 100_000);
        expect(coalescable(b, p, len)).toBe(v6 ? 40 : 20);
        const took = i === 0 ? co.start(b, p, len) : co.append(b, p, len);
        expect(took).toBe(true);
        p += len;
      }
      expect(co.count).toBe(49);
      const n = co.finish(true);
      const out = b.subarray(400_000, 400_000 + n);
      const dv = new DataView(out.buffer, out.byteOffset);
      expect([out[0], out[1], dv.getUint16(2, true), dv.getUint16(4, true), dv.getUint16(6, true), dv.getUint16(8, true)]).toEqual([1, v6 ? 4 : 1, hdr, mss, v6 ? 40 : 20, 16]);
      const pkt = out.subarray(10);
      expect(pkt.length).toBe(big.length);
      expect([...pkt.subarray(hdr)]).toEqual([...big.subarray(hdr)]); // payload
      expect(pkt[hdr - 32 + 13]).toBe(0x18);
      if (!v6) expect(refSum(pkt, 0, 20)).toBe(0xffff);
    });
  }

  test("UDP: datagrams of one flow become one UDP_L4 GSO packet; the segments' payloads and sizes survive", () => {
    const b = new Uint8Array(new ArrayBuffer(300_000));
    const co = new Coalescer(b, 200_000, 65536 + 64, 10);
    const udp = (payload: number, fill: number) => {
      const p = new Uint8Array(28 + payload);
      const dv = new DataView(p.buffer);
      p[0] = 0x45;
      dv.setUint16(2, p.length);
      p[8] = 64;
      p[9] = 17;
      p.set([10, 8, 0, 2, 10, 8, 0, 1], 12);
      dv.setUint16(20, 5000);
      dv.setUint16(22, 5201);
      dv.setUint16(24, 8 + payload);
      p.fill(fill, 28);
      return p;
    };
    const sizes = [1300, 1300, 1300, 700];
    let at = 0;
    sizes.forEach((n, i) => {
      const p = udp(n, i + 1);
      b.set(p, at);
      expect(i === 0 ? co.start(b, at, p.length) : co.append(b, at, p.length)).toBe(true);
      at += p.length;
    });
    expect(co.append(b, 0, 1328)).toBe(false); // closed by the short one
    const n = co.finish(true);
    const out = b.subarray(200_000, 200_000 + n);
    const dv = new DataView(out.buffer, out.byteOffset);
    expect([out[1], dv.getUint16(2, true), dv.getUint16(4, true), dv.getUint16(6, true), dv.getUint16(8, true)]).toEqual([5, 28, 1300, 20, 6]);
    expect(dv.getUint16(10 + 2)).toBe(28 + 4600); // IPv4 total length
    expect(dv.getUint16(10 + 24)).toBe(8 + 4600); // UDP length
    expect(refSum(out, 10, 30)).toBe(0xffff);
    expect(out[10 + 28 + 1300]).toBe(2);
    expect(out[n - 1]).toBe(4);
  });

  test("a gap in sequence numbers, another flow or a SYN is not coalesced", () => {
    const b = new Uint8Array(new ArrayBuffer(300_000));
    const co = new Coalescer(b, 200_000, 65536 + 64, 10);
    const a = tcpPacket(false, 1000, 1);
    const gap = tcpPacket(false, 1000, 5001);
    const syn = tcpPacket(false, 0, 1001, 0x02);
    b.set(a, 0);
    b.set(gap, 2000);
    b.set(syn, 4000);
    expect(co.start(b, 0, a.length)).toBe(true);
    expect(co.append(b, 2000, gap.length)).toBe(false);
    expect(coalescable(b, 4000, syn.length)).toBe(0);
    const other = tcpPacket(false, 1000, 1001);
    other[20] = 0x99; // another source port
    b.set(other, 6000);
    expect(co.append(b, 6000, other.length)).toBe(false);
  });
});

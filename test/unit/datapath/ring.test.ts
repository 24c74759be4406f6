/** The hand-over ring (datapath/ring.ts): order, wrap-around, full, names, the sleep handshake. */
import { describe, expect, test } from "bun:test";
import { R_SIGNAL, R_SLEEPING, TAG_DATAGRAM, TAG_TUN } from "../../../src/datapath/layout.ts";
import { newRing, RingReader, RingWriter } from "../../../src/datapath/ring.ts";

function collect(r: RingReader, max = 1000): { tag: number; bytes: number[]; name: number[] }[] {
  const out: { tag: number; bytes: number[]; name: number[] }[] = [];
  r.drain({ record: (tag, payload, name, off) => out.push({ tag, bytes: [...payload], name: [...name.subarray(off, off + 7)] }) }, max);
  return out;
}

describe("RingWriter / RingReader", () => {
  test("records come out in order with their tags, and the datagram's sender words", () => {
    const sab = newRing(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const src = Uint8Array.from({ length: 100 }, (_, i) => i);
    const names = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(w.push(src, 10, 5, TAG_TUN, null, 0)).toBe(true);
    expect(w.push(src, 50, 3, TAG_DATAGRAM, names, 8)).toBe(true);
    expect(collect(r)).toEqual([
      { tag: TAG_TUN, bytes: [10, 11, 12, 13, 14], name: expect.any(Array) },
      { tag: TAG_DATAGRAM, bytes: [50, 51, 52], name: [1, 2, 3, 4, 5, 6, 7] },
    ]);
    expect(r.empty()).toBe(true);
  });

  test("full: push refuses instead of overwriting; draining makes room; wrap-around keeps order", () => {
    const sab = newRing(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const pkt = new Uint8Array(1000);
    let pushed = 0;
    while (w.push(pkt.fill(pushed & 255), 0, 1000, TAG_TUN, null, 0)) pushed++;
    expect(pushed).toBe(4); // 4 x 1008 bytes fit in 4096, a fifth does not
    expect(collect(r, 3).map((x) => x.bytes[0])).toEqual([0, 1, 2]);
    for (let i = 0; i < 2; i++) expect(w.push(pkt.fill(10 + i), 0, 1000, TAG_TUN, null, 0)).toBe(true); // wraps
    expect(w.push(pkt, 0, 1000, TAG_TUN, null, 0)).toBe(false); // would meet the reader
    expect(collect(r).map((x) => x.bytes[0])).toEqual([3, 10, 11]);
    for (let round = 0; round < 50; round++) {
      expect(w.push(pkt.fill(round), 0, 700 + round, TAG_TUN, null, 0)).toBe(true);
      const got = collect(r);
      expect(got.length).toBe(1);
      expect(got[0]?.bytes.length).toBe(700 + round);
      expect(got[0]?.bytes[699]).toBe(round);
    }
  });

  test("sleep: refused while a record waits; a sleeping reader is woken (signal reset, notify)", () => {
    const sab = newRing(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    expect(r.sleep()).toBe(true);
    expect(Atomics.load(r.signal, R_SIGNAL)).toBe(R_SLEEPING);
    w.push(new Uint8Array(4), 0, 4, TAG_TUN, null, 0);
    w.wake();
    expect(Atomics.load(r.signal, R_SIGNAL)).not.toBe(R_SLEEPING);
    expect(r.sleep()).toBe(false); // a record is there: stay awake
    expect(collect(r).length).toBe(1);
  });

  test("flush is called once per non-empty drain, before the space is given back", () => {
    const sab = newRing(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    let flushes = 0;
    const sink = { record: () => {}, flush: () => flushes++ };
    r.drain(sink, 10);
    w.push(new Uint8Array(8), 0, 8, TAG_TUN, null, 0);
    r.drain(sink, 10);
    expect(flushes).toBe(1);
  });
});

/** protocol/pcap: file and record headers byte for byte, round trip, bad input. */
import { describe, expect, test } from "bun:test";
import {
  CAPTURE_SNAPLEN, fileHeader, LINKTYPE_RAW, PCAP_FILE_HEADER_SIZE, PCAP_RECORD_HEADER_SIZE, readPcap, recordSize, writeRecord,
} from "../../../src/protocol/pcap.ts";
import { fromHex, toHex } from "../../fakes/packets.ts";

describe("pcap", () => {
  test("file header: LE magic a1b2c3d4, v2.4, zone 0, sigfigs 0, snaplen 65535, LINKTYPE_RAW", () => {
    expect(toHex(fileHeader())).toBe("d4c3b2a1" + "0200" + "0400" + "00000000" + "00000000" + "ffff0000" + "65000000");
    expect(LINKTYPE_RAW).toBe(101);
    expect(PCAP_FILE_HEADER_SIZE).toBe(24);
  });

  test("record: ts_sec, ts_usec, incl_len, orig_len then the bytes", () => {
    const buf = new Uint8Array(64);
    const pkt = fromHex("4500001c");
    const n = writeRecord(buf, new DataView(buf.buffer), 8, pkt, 1_700_000_000_123_456);
    expect(n).toBe(PCAP_RECORD_HEADER_SIZE + 4);
    expect(toHex(buf.subarray(8, 8 + n))).toBe("00f15365" + "40e20100" + "04000000" + "04000000" + "4500001c");
  });

  test("snaplen truncates incl_len but keeps orig_len", () => {
    const buf = new Uint8Array(64);
    const pkt = new Uint8Array(40).fill(7);
    const n = writeRecord(buf, new DataView(buf.buffer), 0, pkt, 0, 10);
    expect(n).toBe(26);
    expect(recordSize(40, 10)).toBe(26);
    expect(recordSize(70000)).toBe(16 + CAPTURE_SNAPLEN);
    const v = new DataView(buf.buffer);
    expect([v.getUint32(8, true), v.getUint32(12, true)]).toEqual([10, 40]);
  });

  test("round trip through readPcap", () => {
    const pkts = [new Uint8Array(20).fill(1), new Uint8Array(60).fill(2)];
    const file = new Uint8Array(24 + pkts.reduce((a, p) => a + 16 + p.length, 0));
    file.set(fileHeader(), 0);
    const view = new DataView(file.buffer);
    let off = 24;
    pkts.forEach((p, i) => (off += writeRecord(file, view, off, p, 5_000_000 + i)));
    const r = readPcap(file);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.linktype).toBe(LINKTYPE_RAW);
    expect(r.records.map((x) => [x.timeUs, x.origLen, x.data.length, x.data[0]])).toEqual([[5_000_000, 20, 20, 1], [5_000_001, 60, 60, 2]]);
  });

  test("bad input is a reason, never a throw", () => {
    expect(readPcap(new Uint8Array(3))).toMatchObject({ ok: false, reason: "short-header" });
    expect(readPcap(new Uint8Array(24))).toMatchObject({ ok: false, reason: "bad-magic" });
    const f = new Uint8Array(24 + 16 + 2);
    f.set(fileHeader());
    new DataView(f.buffer).setUint32(24 + 8, 100, true);
    expect(readPcap(f)).toMatchObject({ ok: false, reason: "truncated-record", records: [] });
  });
});

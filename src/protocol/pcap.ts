/**
 * @module protocol/pcap
 * The classic libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.txt),
 * written little-endian with microsecond timestamps: a 24-byte file header, then one
 * 16-byte record header per packet followed by the packet bytes. warren captures raw
 * IP packets (no link layer), so the link type is LINKTYPE_RAW.
 *
 * Pure: the encoders write into the caller's buffer at an offset (no allocation, so a
 * capture can fill a preallocated chunk); `readPcap` parses a whole file into records
 * and never throws on bad input.
 */

// --- specification ---
/** Magic number for microsecond-resolution files, in the writer's byte order. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
/** File format version 2.4. */
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
/** Raw IP: the packet starts with an IPv4 or IPv6 header. */
export const LINKTYPE_RAW = 101;
/** File header: magic, version (2+2), thiszone, sigfigs, snaplen, linktype. */
export const PCAP_FILE_HEADER_SIZE = 24;
/** Record header: ts_sec, ts_usec, incl_len, orig_len. */
export const PCAP_RECORD_HEADER_SIZE = 16;

const FH_MAGIC = 0;
const FH_MAJOR = 4;
const FH_MINOR = 6;
const FH_THISZONE = 8;
const FH_SIGFIGS = 12;
const FH_SNAPLEN = 16;
const FH_LINKTYPE = 20;
const RH_TS_SEC = 0;
const RH_TS_USEC = 4;
const RH_INCL_LEN = 8;
const RH_ORIG_LEN = 12;

// --- implementation ---
/** Largest packet warren records (ToyVpn packets are at most 32767 bytes). */
export const CAPTURE_SNAPLEN = 65535;

/** Writes the file header at `off`; returns the bytes written (24). */
export function writeFileHeader(buf: Uint8Array, off: number, snaplen = CAPTURE_SNAPLEN, linktype = LINKTYPE_RAW): number {
  const v = new DataView(buf.buffer, buf.byteOffset + off, PCAP_FILE_HEADER_SIZE);
  v.setUint32(FH_MAGIC, PCAP_MAGIC_USEC, true);
  v.setUint16(FH_MAJOR, PCAP_VERSION_MAJOR, true);
  v.setUint16(FH_MINOR, PCAP_VERSION_MINOR, true);
  v.setInt32(FH_THISZONE, 0, true);
  v.setUint32(FH_SIGFIGS, 0, true);
  v.setUint32(FH_SNAPLEN, snaplen, true);
  v.setUint32(FH_LINKTYPE, linktype, true);
  return PCAP_FILE_HEADER_SIZE;
}

/** A fresh 24-byte file header. */
export function fileHeader(snaplen = CAPTURE_SNAPLEN, linktype = LINKTYPE_RAW): Uint8Array {
  const b = new Uint8Array(PCAP_FILE_HEADER_SIZE);
  writeFileHeader(b, 0, snaplen, linktype);
  return b;
}

/**
 * Writes one record (header + the first `snaplen` bytes of `pkt`) at `off` using `view`
 * (a DataView over all of `buf`, kept by the caller so nothing is allocated per packet).
 * The caller checks that `PCAP_RECORD_HEADER_SIZE + recordDataLength(pkt)` bytes fit.
 * `timeUs` is the capture time in microseconds since the Unix epoch. Returns bytes written.
 */
export function writeRecord(buf: Uint8Array, view: DataView, off: number, pkt: Uint8Array, timeUs: number, snaplen = CAPTURE_SNAPLEN): number {
  const incl = Math.min(pkt.length, snaplen);
  const sec = Math.floor(timeUs / 1e6);
  view.setUint32(off + RH_TS_SEC, sec >>> 0, true);
  view.setUint32(off + RH_TS_USEC, Math.floor(timeUs - sec * 1e6), true);
  view.setUint32(off + RH_INCL_LEN, incl, true);
  view.setUint32(off + RH_ORIG_LEN, pkt.length, true);
  buf.set(incl === pkt.length ? pkt : pkt.subarray(0, incl), off + PCAP_RECORD_HEADER_SIZE);
  return PCAP_RECORD_HEADER_SIZE + incl;
}

/** Bytes one packet takes in the file, header included. */
export function recordSize(pktLength: number, snaplen = CAPTURE_SNAPLEN): number {
  return PCAP_RECORD_HEADER_SIZE + Math.min(pktLength, snaplen);
}

/** One record read back. */
export interface PcapRecord {
  timeUs: number;
  origLen: number;
  data: Uint8Array;
}

/** Result of reading a file: the records, or why it is not a (complete) pcap file. */
export type PcapRead =
  | { ok: true; snaplen: number; linktype: number; records: PcapRecord[] }
  | { ok: false; reason: "short-header" | "bad-magic" | "truncated-record"; records: PcapRecord[] };

/** Parses a little-endian microsecond pcap file (the kind warren writes). */
export function readPcap(file: Uint8Array): PcapRead {
  if (file.length < PCAP_FILE_HEADER_SIZE) return { ok: false, reason: "short-header", records: [] };
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (v.getUint32(FH_MAGIC, true) !== PCAP_MAGIC_USEC) return { ok: false, reason: "bad-magic", records: [] };
  const snaplen = v.getUint32(FH_SNAPLEN, true);
  const linktype = v.getUint32(FH_LINKTYPE, true);
  const records: PcapRecord[] = [];
  let off = PCAP_FILE_HEADER_SIZE;
  while (off < file.length) {
    if (off + PCAP_RECORD_HEADER_SIZE > file.length) return { ok: false, reason: "truncated-record", records };
    const incl = v.getUint32(off + RH_INCL_LEN, true);
    const start = off + PCAP_RECORD_HEADER_SIZE;
    if (start + incl > file.length) return { ok: false, reason: "truncated-record", records };
    records.push({
      timeUs: v.getUint32(off + RH_TS_SEC, true) * 1e6 + v.getUint32(off + RH_TS_USEC, true),
      origLen: v.getUint32(off + RH_ORIG_LEN, true),
      data: file.subarray(start, start + incl),
    });
    off = start + incl;
  }
  return { ok: true, snaplen, linktype, records };
}

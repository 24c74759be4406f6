/**
 * @module protocol/wireguard/tai64n
 * TAI64N timestamps as WireGuard's initiation carries them (paper 5.1, 5.4.2): 8 bytes of
 * big-endian seconds since 1970 plus 2^62 + 10, then 4 bytes of big-endian nanoseconds. The
 * nanoseconds are rounded down to a multiple of 2^24 (about 16.8 ms), as wireguard-go and
 * Linux do, so the timestamp leaks no fine timing. A responder accepts an initiation only
 * when its timestamp is greater than the last one from that peer. The wall clock is a
 * parameter (milliseconds since the Unix epoch); nothing here reads a clock.
 */

import { TIMESTAMP_LEN } from "./constants.ts";

/** High 32 bits of the TAI64 label of 1970-01-01 (2^62 + 10 seconds). */
const TAI_HIGH = 0x4000_0000;
/** The 10 seconds of TAI64's offset that fall in the low word. */
const TAI_LOW_OFFSET = 10;
/** Nanoseconds are rounded down to a multiple of this (2^24). */
const WHITENER = 0x100_0000;
const TWO_32 = 0x1_0000_0000;

/**
 * Writes the TAI64N label of `wallMs` (milliseconds since the Unix epoch, >= 0) into
 * `out` (12 bytes, allocated when omitted) and returns it.
 */
export function tai64n(wallMs: number, out: Uint8Array = new Uint8Array(TIMESTAMP_LEN)): Uint8Array {
  const ms = Math.max(0, Math.floor(wallMs));
  const secs = Math.floor(ms / 1000) + TAI_LOW_OFFSET;
  const nanos = (ms % 1000) * 1_000_000;
  const whitened = nanos - (nanos % WHITENER);
  const view = new DataView(out.buffer, out.byteOffset, TIMESTAMP_LEN);
  view.setUint32(0, TAI_HIGH + Math.floor(secs / TWO_32));
  view.setUint32(4, secs % TWO_32);
  view.setUint32(8, whitened);
  return out;
}

/** Compares two 12-byte timestamps: negative, 0 or positive as `a` is before, equal to or after `b`. */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < TIMESTAMP_LEN; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Milliseconds since the Unix epoch of a timestamp (for display); whitening makes it approximate. */
export function tai64nToMs(t: Uint8Array): number {
  if (t.length < TIMESTAMP_LEN) return 0;
  const view = new DataView(t.buffer, t.byteOffset, TIMESTAMP_LEN);
  const secs = (view.getUint32(0) - TAI_HIGH) * TWO_32 + view.getUint32(4) - TAI_LOW_OFFSET;
  return secs * 1000 + Math.floor(view.getUint32(8) / 1_000_000);
}

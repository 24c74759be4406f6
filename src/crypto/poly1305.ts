/**
 * @module crypto/poly1305
 * Poly1305 (RFC 8439 §2.5) in plain TypeScript. The 130-bit accumulator and `r` are held as six
 * 22-bit limbs in doubles: limbs stay below 2^23 before a multiplication, every partial product
 * is below 2^49.4 and each sum of six below 2^52, so all arithmetic is exact without BigInt. Limbs past 2^132 fold back times 20, because
 * 2^132 = 4 * 2^130 ≡ 4 * 5 (mod 2^130 - 5).
 *
 * One MAC is computed at a time in a module-level state: {@link polyInit}, then any number of
 * {@link polyBlocks} / {@link polyPadded} / {@link polyLengths}, then {@link polyFinish}. Calls are
 * synchronous and never interleave. Nothing but {@link poly1305} allocates.
 */

/** Bytes of a Poly1305 block and tag. */
export const POLY_BLOCK = 16;
const LIMB = 4194304; // 2^22
const INV_LIMB = 1 / LIMB;
const MASK22 = 0x3fffff;
/** The 2^128 bit of a full block, in limb 5 (bits 110-131). */
const HIBIT = 1 << 18;

const h = new Float64Array(6);
const r = new Float64Array(6);
const pad = new Uint32Array(4);
const tail = new Uint8Array(POLY_BLOCK);
const lens = new Uint8Array(POLY_BLOCK);

/** Starts a MAC with the one-time key: words 0-3 are r (clamped here), 4-7 are s. */
export function polyInit(key: Uint32Array): void {
  const w0 = key[0]! & 0x0fffffff, w1 = key[1]! & 0x0ffffffc;
  const w2 = key[2]! & 0x0ffffffc, w3 = key[3]! & 0x0ffffffc;
  r[0] = w0 & MASK22;
  r[1] = (w0 >>> 22) | ((w1 & 0xfff) << 10);
  r[2] = (w1 >>> 12) | ((w2 & 0x3) << 20);
  r[3] = (w2 >>> 2) & MASK22;
  r[4] = (w2 >>> 24) | ((w3 & 0x3fff) << 8);
  r[5] = w3 >>> 14;
  h.fill(0);
  for (let i = 0; i < 4; i++) pad[i] = key[4 + i]!;
}

/** Absorbs `len` bytes (a multiple of 16) of `data` from `off`; `hibit` is 1 for full message blocks. */
export function polyBlocks(data: Uint8Array, off: number, len: number, hibit = 1): void {
  const r0 = r[0]!, r1 = r[1]!, r2 = r[2]!, r3 = r[3]!, r4 = r[4]!, r5 = r[5]!;
  const s1 = r1 * 20, s2 = r2 * 20, s3 = r3 * 20, s4 = r4 * 20, s5 = r5 * 20;
  let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!;
  const top = hibit ? HIBIT : 0;
  for (let o = off, end = off + len; o < end; o += POLY_BLOCK) {
    const w0 = data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24);
    const w1 = data[o + 4]! | (data[o + 5]! << 8) | (data[o + 6]! << 16) | (data[o + 7]! << 24);
    const w2 = data[o + 8]! | (data[o + 9]! << 8) | (data[o + 10]! << 16) | (data[o + 11]! << 24);
    const w3 = data[o + 12]! | (data[o + 13]! << 8) | (data[o + 14]! << 16) | (data[o + 15]! << 24);
    h0 += w0 & MASK22;
    h1 += (w0 >>> 22) | ((w1 & 0xfff) << 10);
    h2 += (w1 >>> 12) | ((w2 & 0x3) << 20);
    h3 += (w2 >>> 2) & MASK22;
    h4 += (w2 >>> 24) | ((w3 & 0x3fff) << 8);
    h5 += (w3 >>> 14) | top;
    let d0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
    let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;
    // Two carry rounds, each over all limbs at once (short dependency chains). Every d < 2^52,
    // so d / 2^22 < 2^30 truncates exactly with `| 0`; afterwards each limb < 2^22 + 2^13.
    let c0 = (d0 * INV_LIMB) | 0, c1 = (d1 * INV_LIMB) | 0, c2 = (d2 * INV_LIMB) | 0;
    let c3 = (d3 * INV_LIMB) | 0, c4 = (d4 * INV_LIMB) | 0, c5 = (d5 * INV_LIMB) | 0;
    d0 = d0 - c0 * LIMB + c5 * 20; d1 = d1 - c1 * LIMB + c0; d2 = d2 - c2 * LIMB + c1;
    d3 = d3 - c3 * LIMB + c2; d4 = d4 - c4 * LIMB + c3; d5 = d5 - c5 * LIMB + c4;
    c0 = (d0 * INV_LIMB) | 0; c1 = (d1 * INV_LIMB) | 0; c2 = (d2 * INV_LIMB) | 0;
    c3 = (d3 * INV_LIMB) | 0; c4 = (d4 * INV_LIMB) | 0; c5 = (d5 * INV_LIMB) | 0;
    d0 = d0 - c0 * LIMB + c5 * 20; d1 = d1 - c1 * LIMB + c0; d2 = d2 - c2 * LIMB + c1;
    d3 = d3 - c3 * LIMB + c2; d4 = d4 - c4 * LIMB + c3; d5 = d5 - c5 * LIMB + c4;
    h0 = d0; h1 = d1; h2 = d2; h3 = d3; h4 = d4; h5 = d5;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5;
}

/** Absorbs `len` bytes of `data` from `off`, zero-padded to a multiple of 16 (the AEAD layout). */
export function polyPadded(data: Uint8Array, off: number, len: number): void {
  const full = len & ~(POLY_BLOCK - 1);
  if (full > 0) polyBlocks(data, off, full);
  const rest = len - full;
  if (rest === 0) return;
  tail.fill(0);
  for (let i = 0; i < rest; i++) tail[i] = data[off + full + i]!;
  polyBlocks(tail, 0, POLY_BLOCK);
}

/** Absorbs the AEAD length block: len(AD) and len(ciphertext) as 64-bit little-endian numbers. */
export function polyLengths(adLen: number, ctLen: number): void {
  writeLe64(lens, 0, adLen);
  writeLe64(lens, 8, ctLen);
  polyBlocks(lens, 0, POLY_BLOCK);
}

function writeLe64(out: Uint8Array, off: number, value: number): void {
  let lo = value >>> 0;
  let hi = Math.floor(value / 0x100000000) >>> 0;
  for (let i = 0; i < 4; i++, lo >>>= 8, hi >>>= 8) {
    out[off + i] = lo & 0xff;
    out[off + 4 + i] = hi & 0xff;
  }
}

/** Finishes the MAC: reduces mod 2^130 - 5 in constant time, adds s, writes the 16-byte tag at `out[off]`. */
export function polyFinish(out: Uint8Array, off: number): void {
  let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!;
  // Full carry, fold the bits above 2^130 back (times 5), carry again: then h < 2^130 + 2^110 < 2p.
  let c = h0 >>> 22; h0 &= MASK22; h1 += c;
  c = h1 >>> 22; h1 &= MASK22; h2 += c;
  c = h2 >>> 22; h2 &= MASK22; h3 += c;
  c = h3 >>> 22; h3 &= MASK22; h4 += c;
  c = h4 >>> 22; h4 &= MASK22; h5 += c;
  c = h5 >>> 20; h5 &= 0xfffff; h0 += c * 5;
  c = h0 >>> 22; h0 &= MASK22; h1 += c;
  c = h1 >>> 22; h1 &= MASK22; h2 += c;
  c = h2 >>> 22; h2 &= MASK22; h3 += c;
  c = h3 >>> 22; h3 &= MASK22; h4 += c;
  c = h4 >>> 22; h4 &= MASK22; h5 += c;
  // g = h + 5 - 2^130 is the reduced value exactly when h + 5 reaches 2^130.
  let g0 = h0 + 5;
  c = g0 >>> 22; g0 &= MASK22;
  let g1 = h1 + c; c = g1 >>> 22; g1 &= MASK22;
  let g2 = h2 + c; c = g2 >>> 22; g2 &= MASK22;
  let g3 = h3 + c; c = g3 >>> 22; g3 &= MASK22;
  let g4 = h4 + c; c = g4 >>> 22; g4 &= MASK22;
  const g5 = h5 + c;
  const useG = -(g5 >>> 20) | 0; // all ones when h >= p
  const keep = ~useG;
  h0 = (h0 & keep) | (g0 & useG); h1 = (h1 & keep) | (g1 & useG); h2 = (h2 & keep) | (g2 & useG);
  h3 = (h3 & keep) | (g3 & useG); h4 = (h4 & keep) | (g4 & useG); h5 = (h5 & keep) | (g5 & useG & 0xfffff);
  // Pack into four 32-bit words (mod 2^128) and add s.
  let t = ((h0 | (h1 << 22)) >>> 0) + pad[0]!;
  writeWord(out, off, t);
  t = (((h1 >>> 10) | (h2 << 12)) >>> 0) + pad[1]! + carryOf(t);
  writeWord(out, off + 4, t);
  t = (((h2 >>> 20) | (h3 << 2) | (h4 << 24)) >>> 0) + pad[2]! + carryOf(t);
  writeWord(out, off + 8, t);
  t = (((h4 >>> 8) | (h5 << 14)) >>> 0) + pad[3]! + carryOf(t);
  writeWord(out, off + 12, t);
}

/** The carry out of a sum of two 32-bit words (0 or 1), without a branch. */
function carryOf(sum: number): number {
  return (sum - (sum >>> 0)) * (1 / 0x100000000);
}

function writeWord(out: Uint8Array, off: number, value: number): void {
  const v = value >>> 0;
  out[off] = v & 0xff; out[off + 1] = (v >>> 8) & 0xff; out[off + 2] = (v >>> 16) & 0xff; out[off + 3] = v >>> 24;
}

const oneTimeKey = new Uint32Array(8);

/** One-shot Poly1305 of `msg` under a 32-byte one-time key (RFC 8439 §2.5); returns the 16-byte tag. */
export function poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError(`Poly1305 key must be 32 bytes, got ${key.length}`);
  for (let i = 0, o = 0; i < 8; i++, o += 4) {
    oneTimeKey[i] = key[o]! | (key[o + 1]! << 8) | (key[o + 2]! << 16) | (key[o + 3]! << 24);
  }
  polyInit(oneTimeKey);
  const full = msg.length & ~(POLY_BLOCK - 1);
  polyBlocks(msg, 0, full);
  if (full < msg.length) {
    tail.fill(0);
    tail.set(msg.subarray(full));
    tail[msg.length - full] = 1;
    polyBlocks(tail, 0, POLY_BLOCK, 0);
  }
  const tag = new Uint8Array(POLY_BLOCK);
  polyFinish(tag, 0);
  return tag;
}

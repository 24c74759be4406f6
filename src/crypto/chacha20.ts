/**
 * @module crypto/chacha20
 * The ChaCha20 stream cipher (RFC 8439 §2.3-2.4) and HChaCha20 (draft-irtf-cfrg-xchacha §2.2)
 * in plain TypeScript. The caller owns a 16-word input state (constants, key, block counter,
 * nonce: {@link setupState}); {@link chachaXor} advances its block counter as it goes.
 * Nothing here allocates. Indices into the fixed 16-word arrays are in range by construction,
 * which is the only place `!` is used.
 */

/** "expand 32-byte k" as four little-endian words. */
const SIGMA0 = 0x61707865;
const SIGMA1 = 0x3320646e;
const SIGMA2 = 0x79622d32;
const SIGMA3 = 0x6b206574;
/** Bytes of one ChaCha20 block. */
export const CHACHA_BLOCK = 64;

/** True on little-endian hosts, where a Uint32Array's bytes are the keystream bytes in order. */
const HOST_LE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Fills a 16-word input state: constants, the 8 key words, block counter, then three nonce
 * words (for WireGuard: 0, counter low, counter high).
 */
export function setupState(
  state: Uint32Array, key: Uint32Array, blockCounter: number, n0: number, n1: number, n2: number,
): void {
  state[0] = SIGMA0; state[1] = SIGMA1; state[2] = SIGMA2; state[3] = SIGMA3;
  for (let i = 0; i < 8; i++) state[4 + i] = key[i]!;
  state[12] = blockCounter; state[13] = n0; state[14] = n1; state[15] = n2;
}

/** Reads `count` little-endian 32-bit words from `bytes` at `off` into `out`. */
export function loadWords(bytes: Uint8Array, off: number, out: Uint32Array, count: number): void {
  for (let i = 0, o = off; i < count; i++, o += 4) {
    out[i] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
  }
}

/**
 * The 20 rounds over `input`. With `feedForward` it writes the ChaCha20 block (rounds + input,
 * 16 words) to `out`; without, it writes HChaCha20's output (words 0-3 and 12-15, 8 words).
 */
export function chachaCore(input: Uint32Array, out: Uint32Array, feedForward: boolean): void {
  let x0 = input[0]! | 0, x1 = input[1]! | 0, x2 = input[2]! | 0, x3 = input[3]! | 0;
  let x4 = input[4]! | 0, x5 = input[5]! | 0, x6 = input[6]! | 0, x7 = input[7]! | 0;
  let x8 = input[8]! | 0, x9 = input[9]! | 0, x10 = input[10]! | 0, x11 = input[11]! | 0;
  let x12 = input[12]! | 0, x13 = input[13]! | 0, x14 = input[14]! | 0, x15 = input[15]! | 0;
  for (let i = 0; i < 10; i++) {
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
  }
  if (!feedForward) {
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3; out[4] = x12; out[5] = x13; out[6] = x14; out[7] = x15;
    return;
  }
  out[0] = x0 + input[0]!; out[1] = x1 + input[1]!; out[2] = x2 + input[2]!; out[3] = x3 + input[3]!;
  out[4] = x4 + input[4]!; out[5] = x5 + input[5]!; out[6] = x6 + input[6]!; out[7] = x7 + input[7]!;
  out[8] = x8 + input[8]!; out[9] = x9 + input[9]!; out[10] = x10 + input[10]!; out[11] = x11 + input[11]!;
  out[12] = x12 + input[12]!; out[13] = x13 + input[13]!; out[14] = x14 + input[14]!; out[15] = x15 + input[15]!;
}

const ks = new Uint32Array(16);
const ks8 = new Uint8Array(ks.buffer);

/**
 * XORs `len` bytes of keystream into `dst[dstOff..]` from `src[srcOff..]` (the two may be the same
 * memory at the same offset), starting at the block counter in `state[12]` and advancing it.
 */
export function chachaXor(
  state: Uint32Array, src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number,
): void {
  for (let done = 0; done < len; done += CHACHA_BLOCK) {
    chachaCore(state, ks, true);
    state[12] = state[12]! + 1;
    const n = Math.min(CHACHA_BLOCK, len - done);
    const s = srcOff + done;
    const d = dstOff + done;
    if (HOST_LE) {
      for (let j = 0; j < n; j++) dst[d + j] = src[s + j]! ^ ks8[j]!;
    } else {
      for (let j = 0; j < n; j++) dst[d + j] = src[s + j]! ^ (ks[j >>> 2]! >>> ((j & 3) << 3));
    }
  }
}

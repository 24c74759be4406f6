/**
 * @module crypto/blake2s
 * BLAKE2s (RFC 7693) in plain TypeScript, with a key and any output length 1-32, plus the
 * WireGuard helpers built on it: HASH, MAC (keyed, 16 bytes), HMAC-BLAKE2s and KDF1-3 as the
 * WireGuard paper defines them. Bun only has the unkeyed 32-byte hash natively
 * (`Bun.CryptoHasher("blake2s256")`), which {@link hash} uses because it is faster.
 *
 * One module-level state is reused by every call (no allocation but the result); calls are
 * synchronous, so they never interleave. Indices into the fixed internal arrays are in range
 * by construction, which is the only place `!` is used.
 */

/** BLAKE2s block size in bytes (also the HMAC block size). */
export const BLAKE2S_BLOCK = 64;
/** Largest BLAKE2s output and key, and WireGuard's HASH / HMAC / KDF output length. */
export const BLAKE2S_MAX_OUT = 32;
/** WireGuard's MAC output length (mac1, mac2, cookies). */
export const MAC_LEN = 16;

const IV = Uint32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);
// prettier-ignore
const S = Uint8Array.of(
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
);

const h = new Uint32Array(8);
const m = new Uint32Array(16);
const block = new Uint8Array(BLAKE2S_BLOCK);
let blockLen = 0;
let counter = 0;

/** The compression function F over `block`, `counter` bytes so far, final-block flag `last`. */
function compress(last: boolean): void {
  for (let i = 0, o = 0; i < 16; i++, o += 4) {
    m[i] = block[o]! | (block[o + 1]! << 8) | (block[o + 2]! << 16) | (block[o + 3]! << 24);
  }
  let v0 = h[0]! | 0, v1 = h[1]! | 0, v2 = h[2]! | 0, v3 = h[3]! | 0;
  let v4 = h[4]! | 0, v5 = h[5]! | 0, v6 = h[6]! | 0, v7 = h[7]! | 0;
  let v8 = IV[0]! | 0, v9 = IV[1]! | 0, v10 = IV[2]! | 0, v11 = IV[3]! | 0;
  let v12 = (IV[4]! ^ counter) | 0;
  let v13 = (IV[5]! ^ Math.floor(counter / 0x100000000)) | 0;
  let v14 = (last ? ~IV[6]! : IV[6]!) | 0;
  let v15 = IV[7]! | 0;
  for (let s = 0; s < 160; s += 16) {
    v0 = (v0 + v4 + m[S[s + 0]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m[S[s + 1]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25);
    v1 = (v1 + v5 + m[S[s + 2]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m[S[s + 3]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25);
    v2 = (v2 + v6 + m[S[s + 4]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m[S[s + 5]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25);
    v3 = (v3 + v7 + m[S[s + 6]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m[S[s + 7]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25);
    v0 = (v0 + v5 + m[S[s + 8]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m[S[s + 9]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25);
    v1 = (v1 + v6 + m[S[s + 10]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m[S[s + 11]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25);
    v2 = (v2 + v7 + m[S[s + 12]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m[S[s + 13]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25);
    v3 = (v3 + v4 + m[S[s + 14]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m[S[s + 15]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25);
  }
  h[0] = h[0]! ^ v0 ^ v8; h[1] = h[1]! ^ v1 ^ v9; h[2] = h[2]! ^ v2 ^ v10; h[3] = h[3]! ^ v3 ^ v11;
  h[4] = h[4]! ^ v4 ^ v12; h[5] = h[5]! ^ v5 ^ v13; h[6] = h[6]! ^ v6 ^ v14; h[7] = h[7]! ^ v7 ^ v15;
}

function init(outLen: number, key: Uint8Array | null): void {
  const keyLen = key === null ? 0 : key.length;
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > BLAKE2S_MAX_OUT) {
    throw new RangeError(`BLAKE2s output length must be 1-32, got ${outLen}`);
  }
  if (keyLen > BLAKE2S_MAX_OUT) throw new RangeError(`BLAKE2s key must be at most 32 bytes, got ${keyLen}`);
  h.set(IV);
  h[0] = h[0]! ^ 0x01010000 ^ (keyLen << 8) ^ outLen;
  counter = 0;
  blockLen = 0;
  if (key !== null && keyLen > 0) {
    block.fill(0);
    block.set(key);
    blockLen = BLAKE2S_BLOCK;
  }
}

function update(data: Uint8Array): void {
  const n = data.length;
  for (let i = 0; i < n; ) {
    if (blockLen === BLAKE2S_BLOCK) {
      counter += BLAKE2S_BLOCK;
      compress(false);
      blockLen = 0;
    }
    const take = Math.min(BLAKE2S_BLOCK - blockLen, n - i);
    for (let j = 0; j < take; j++) block[blockLen + j] = data[i + j]!;
    blockLen += take;
    i += take;
  }
}

function finish(out: Uint8Array, outLen: number): void {
  counter += blockLen;
  block.fill(0, blockLen);
  compress(true);
  for (let i = 0; i < outLen; i++) out[i] = h[i >>> 2]! >>> (8 * (i & 3));
}

/**
 * BLAKE2s of the concatenated `parts` with an optional key (0-32 bytes; null or empty = unkeyed)
 * and an output of `outLen` bytes (1-32). Throws RangeError on a bad length.
 */
export function blake2s(outLen: number, key: Uint8Array | null, ...parts: Uint8Array[]): Uint8Array {
  init(outLen, key);
  for (const p of parts) update(p);
  const out = new Uint8Array(outLen);
  finish(out, outLen);
  return out;
}

/** Concatenation scratch for the native one-shot hasher; longer inputs take the streaming path. */
const scratch = new Uint8Array(512);
const HASHER = "blake2s256";

/** Copies `parts` into {@link scratch} from `offset`; returns the end, or -1 when they do not fit. */
function gather(offset: number, parts: Uint8Array[]): number {
  let o = offset;
  for (const p of parts) {
    if (o + p.length > scratch.length) return -1;
    scratch.set(p, o);
    o += p.length;
  }
  return o;
}

/** WireGuard HASH(parts): unkeyed BLAKE2s-256 (Bun's native one-shot hasher up to 512 bytes). */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(BLAKE2S_MAX_OUT);
  const end = gather(0, parts);
  if (end >= 0) {
    Bun.CryptoHasher.hash(HASHER, scratch.subarray(0, end), out);
    return out;
  }
  init(BLAKE2S_MAX_OUT, null);
  for (const p of parts) update(p);
  finish(out, BLAKE2S_MAX_OUT);
  return out;
}

/** WireGuard MAC(key, parts): keyed BLAKE2s with a 16-byte output (mac1, mac2, cookie). */
export function mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  init(MAC_LEN, key);
  for (const p of parts) update(p);
  const out = new Uint8Array(MAC_LEN);
  finish(out, MAC_LEN);
  return out;
}

const innerDigest = new Uint8Array(BLAKE2S_MAX_OUT);

/** Writes key XOR `byte` (zero-padded to one block) into scratch[0..64). */
function fillPad(key: Uint8Array, byte: number): void {
  scratch.fill(byte, 0, BLAKE2S_BLOCK);
  for (let i = 0; i < key.length; i++) scratch[i] = scratch[i]! ^ key[i]!;
}

/** HMAC-BLAKE2s-256 (RFC 2104 over BLAKE2s-256, block 64), as WireGuard's KDF uses it. */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const k = key.length > BLAKE2S_BLOCK ? hash(key) : key;
  fillPad(k, 0x36);
  const end = gather(BLAKE2S_BLOCK, parts);
  if (end >= 0) {
    Bun.CryptoHasher.hash(HASHER, scratch.subarray(0, end), innerDigest);
  } else {
    init(BLAKE2S_MAX_OUT, null);
    update(scratch.subarray(0, BLAKE2S_BLOCK));
    for (const p of parts) update(p);
    finish(innerDigest, BLAKE2S_MAX_OUT);
  }
  fillPad(k, 0x5c);
  scratch.set(innerDigest, BLAKE2S_BLOCK);
  const out = new Uint8Array(BLAKE2S_MAX_OUT);
  Bun.CryptoHasher.hash(HASHER, scratch.subarray(0, BLAKE2S_BLOCK + BLAKE2S_MAX_OUT), out);
  return out;
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** WireGuard KDF1(C, input) = τ1, where τ0 = HMAC(C, input) and τ1 = HMAC(τ0, 0x1). */
export function kdf1(chainingKey: Uint8Array, input: Uint8Array): [Uint8Array] {
  const t0 = hmac(chainingKey, input);
  return [hmac(t0, ONE)];
}

/** WireGuard KDF2(C, input) = (τ1, τ2), τ2 = HMAC(τ0, τ1 || 0x2). */
export function kdf2(chainingKey: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array] {
  const t0 = hmac(chainingKey, input);
  const t1 = hmac(t0, ONE);
  return [t1, hmac(t0, t1, TWO)];
}

/** WireGuard KDF3(C, input) = (τ1, τ2, τ3), τ3 = HMAC(τ0, τ2 || 0x3). */
export function kdf3(chainingKey: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const t0 = hmac(chainingKey, input);
  const t1 = hmac(t0, ONE);
  const t2 = hmac(t0, t1, TWO);
  return [t1, t2, hmac(t0, t2, THREE)];
}

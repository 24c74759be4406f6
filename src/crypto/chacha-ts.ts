/**
 * @module crypto/chacha-ts
 * ChaCha20-Poly1305 (RFC 8439 §2.8) in plain TypeScript: the "pure-ts" {@link AeadBackend}, used
 * when OpenSSL's libcrypto cannot be loaded, plus allocating one-shot helpers for handshakes.
 * Several times slower than OpenSSL (bench/crypto.ts), but needs nothing from the host.
 *
 * Seal: keystream block 0 gives the Poly1305 key; blocks 1.. encrypt; the tag covers
 * AD || pad16 || ciphertext || pad16 || len(AD) || len(ciphertext). Open checks the tag in
 * constant time before it writes a single byte of plaintext, so `dst` may alias `src`.
 */

import {
  AEAD_NONCE_LEN, AEAD_TAG_LEN, checkAeadKey, inBounds, validCounter,
  type RawNonceAeadBackend, type RawNonceAeadKey,
} from "./aead.ts";
import { chachaCore, chachaXor, loadWords, setupState } from "./chacha20.ts";
import { polyFinish, polyInit, polyLengths, polyPadded } from "./poly1305.ts";

const state = new Uint32Array(16);
const block0 = new Uint32Array(16);
const nonceWords = new Uint32Array(3);
const tag = new Uint8Array(AEAD_TAG_LEN);

/** Absorbs AD and the ciphertext ct[off, off + n) into the Poly1305 state started by `begin`, then the lengths. */
function authenticate(ad: Uint8Array | null, ct: Uint8Array, off: number, n: number): void {
  const adLen = ad === null ? 0 : ad.length;
  if (ad !== null) polyPadded(ad, 0, adLen);
  polyPadded(ct, off, n);
  polyLengths(adLen, n);
}

/** The pure-TS key: 8 key words; everything else is shared module scratch. */
class PureTsKey implements RawNonceAeadKey {
  #key: Uint32Array | null;

  constructor(key: Uint8Array) {
    checkAeadKey(key);
    this.#key = new Uint32Array(8);
    loadWords(key, 0, this.#key, 8);
  }

  /** Sets up the state for the nonce words, keys Poly1305 from block 0; block 1 comes next. */
  #begin(n0: number, n1: number, n2: number): boolean {
    const key = this.#key;
    if (key === null) return false;
    setupState(state, key, 0, n0, n1, n2);
    chachaCore(state, block0, true);
    polyInit(block0);
    state[12] = 1;
    return true;
  }

  /** Encrypts src[so, so + n) to dst[d, d + n) and writes the tag after it; dst holds room (checked by the caller). */
  #seal(n0: number, n1: number, n2: number, src: Uint8Array, so: number, n: number, ad: Uint8Array | null, dst: Uint8Array, d: number): number {
    if (!this.#begin(n0, n1, n2)) throw new Error("ChaCha20-Poly1305 key used after dispose");
    chachaXor(state, src, so, dst, d, n);
    authenticate(ad, dst, d, n);
    polyFinish(dst, d + n);
    return n + AEAD_TAG_LEN;
  }

  /** Checks the tag of src[so, so + n + 16), then decrypts src[so, so + n) to dst[d, d + n); -1 and nothing written when it fails. */
  #open(n0: number, n1: number, n2: number, src: Uint8Array, so: number, n: number, ad: Uint8Array | null, dst: Uint8Array, d: number): number {
    if (n < 0 || !this.#begin(n0, n1, n2)) return -1;
    authenticate(ad, src, so, n);
    polyFinish(tag, 0);
    let diff = 0;
    for (let i = 0; i < AEAD_TAG_LEN; i++) diff |= tag[i]! ^ src[so + n + i]!;
    if (diff !== 0) return -1;
    chachaXor(state, src, so, dst, d, n);
    return n;
  }

  #sealViews(n0: number, n1: number, n2: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    const n = src.length;
    if (dst.length < n + AEAD_TAG_LEN) throw new RangeError(`seal: dst holds ${dst.length} bytes, needs ${n + AEAD_TAG_LEN}`);
    return this.#seal(n0, n1, n2, src, 0, n, ad, dst, 0);
  }

  #openViews(n0: number, n1: number, n2: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    const n = src.length - AEAD_TAG_LEN;
    return dst.length < n ? -1 : this.#open(n0, n1, n2, src, 0, n, ad, dst, 0);
  }

  seal(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (!validCounter(counter)) throw new RangeError(`nonce counter out of range: ${counter}`);
    return this.#sealViews(0, counter >>> 0, Math.floor(counter / 0x100000000), src, ad, dst);
  }

  open(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (!validCounter(counter)) return -1;
    return this.#openViews(0, counter >>> 0, Math.floor(counter / 0x100000000), src, ad, dst);
  }

  sealWithNonce(nonce: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (nonce.length !== AEAD_NONCE_LEN) throw new RangeError(`nonce must be 12 bytes, got ${nonce.length}`);
    loadWords(nonce, 0, nonceWords, 3);
    return this.#sealViews(nonceWords[0]!, nonceWords[1]!, nonceWords[2]!, src, ad, dst);
  }

  openWithNonce(nonce: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (nonce.length !== AEAD_NONCE_LEN) return -1;
    loadWords(nonce, 0, nonceWords, 3);
    return this.#openViews(nonceWords[0]!, nonceWords[1]!, nonceWords[2]!, src, ad, dst);
  }

  sealInPlace(counter: number, buf: Uint8Array, off: number, len: number): number {
    if (!validCounter(counter)) throw new RangeError(`nonce counter out of range: ${counter}`);
    if (!inBounds(buf, off, len + AEAD_TAG_LEN)) throw new RangeError(`seal: [${off}, ${off + len}) + tag is outside a ${buf.length}-byte buffer`);
    return this.#seal(0, counter >>> 0, Math.floor(counter / 0x100000000), buf, off, len, null, buf, off);
  }

  openInPlace(counter: number, buf: Uint8Array, off: number, len: number): number {
    if (!validCounter(counter) || !inBounds(buf, off, len)) return -1;
    return this.#open(0, counter >>> 0, Math.floor(counter / 0x100000000), buf, off, len - AEAD_TAG_LEN, null, buf, off);
  }

  dispose(): void {
    this.#key?.fill(0);
    this.#key = null;
  }
}

/** ChaCha20-Poly1305 in TypeScript; always available. */
export const pureTsAead: RawNonceAeadBackend = {
  name: "pure-ts",
  key: (key: Uint8Array): RawNonceAeadKey => new PureTsKey(key),
};

/** One-shot seal with the WireGuard nonce (allocates; for handshakes): returns ciphertext || tag. */
export function chachaPolySeal(key: Uint8Array, counter: number, pt: Uint8Array, ad: Uint8Array | null): Uint8Array {
  const k = new PureTsKey(key);
  const out = new Uint8Array(pt.length + AEAD_TAG_LEN);
  k.seal(counter, pt, ad, out);
  k.dispose();
  return out;
}

/** One-shot open with the WireGuard nonce (allocates): the plaintext, or null if the tag fails. */
export function chachaPolyOpen(key: Uint8Array, counter: number, ct: Uint8Array, ad: Uint8Array | null): Uint8Array | null {
  if (ct.length < AEAD_TAG_LEN) return null;
  const k = new PureTsKey(key);
  const out = new Uint8Array(ct.length - AEAD_TAG_LEN);
  const n = k.open(counter, ct, ad, out);
  k.dispose();
  return n < 0 ? null : out;
}


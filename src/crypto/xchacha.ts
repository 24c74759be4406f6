/**
 * @module crypto/xchacha
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) for WireGuard's cookie reply: HChaCha20 turns
 * the key and the first 16 nonce bytes into a subkey, then ChaCha20-Poly1305 runs with the
 * 12-byte nonce 4 zero bytes || the last 8 nonce bytes. Rare messages, so these allocate.
 */

import { AEAD_NONCE_LEN, AEAD_TAG_LEN, checkAeadKey } from "./aead.ts";
import { chachaCore, loadWords, setupState } from "./chacha20.ts";
import { pureTsAead } from "./chacha-ts.ts";

/** Bytes of an XChaCha20 nonce. */
export const XCHACHA_NONCE_LEN = 24;

/** HChaCha20(key, nonce16): the 32-byte subkey (draft-irtf-cfrg-xchacha §2.2). */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  checkAeadKey(key);
  if (nonce16.length !== 16) throw new RangeError(`HChaCha20 nonce must be 16 bytes, got ${nonce16.length}`);
  const keyWords = new Uint32Array(8);
  const nonceWords = new Uint32Array(4);
  loadWords(key, 0, keyWords, 8);
  loadWords(nonce16, 0, nonceWords, 4);
  const state = new Uint32Array(16);
  setupState(state, keyWords, nonceWords[0] ?? 0, nonceWords[1] ?? 0, nonceWords[2] ?? 0, nonceWords[3] ?? 0);
  const out = new Uint32Array(8);
  chachaCore(state, out, false);
  const sub = new Uint8Array(32);
  for (let i = 0; i < 32; i++) sub[i] = ((out[i >>> 2] ?? 0) >>> ((i & 3) * 8)) & 0xff;
  return sub;
}

/** The subkey and the inner 12-byte nonce for a 24-byte XChaCha20 nonce. */
function derive(key: Uint8Array, nonce: Uint8Array): { sub: Uint8Array; inner: Uint8Array } {
  if (nonce.length !== XCHACHA_NONCE_LEN) throw new RangeError(`XChaCha20 nonce must be 24 bytes, got ${nonce.length}`);
  const inner = new Uint8Array(AEAD_NONCE_LEN);
  inner.set(nonce.subarray(16), 4);
  return { sub: hchacha20(key, nonce.subarray(0, 16)), inner };
}

/** XChaCha20-Poly1305 seal: returns ciphertext || 16-byte tag. Throws RangeError on bad key/nonce lengths. */
export function xchacha20poly1305Seal(
  key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, ad: Uint8Array | null,
): Uint8Array {
  const { sub, inner } = derive(key, nonce);
  const k = pureTsAead.key(sub);
  const out = new Uint8Array(pt.length + AEAD_TAG_LEN);
  k.sealWithNonce(inner, pt, ad, out);
  k.dispose();
  sub.fill(0);
  return out;
}

/** XChaCha20-Poly1305 open: the plaintext, or null if `ct` is short or the tag does not verify. */
export function xchacha20poly1305Open(
  key: Uint8Array, nonce: Uint8Array, ct: Uint8Array, ad: Uint8Array | null,
): Uint8Array | null {
  if (ct.length < AEAD_TAG_LEN) return null;
  const { sub, inner } = derive(key, nonce);
  const k = pureTsAead.key(sub);
  const out = new Uint8Array(ct.length - AEAD_TAG_LEN);
  const n = k.openWithNonce(inner, ct, ad, out);
  k.dispose();
  sub.fill(0);
  return n < 0 ? null : out;
}

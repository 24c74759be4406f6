/**
 * @module crypto/openssl
 * The "openssl" {@link AeadBackend}: ChaCha20-Poly1305 from the host's OpenSSL 3 libcrypto through
 * platform/linux/libcrypto (one EVP_CIPHER_CTX per key). About ten times the pure-TS speed.
 * A key whose owner forgets `dispose()` is freed by a FinalizationRegistry when it is collected.
 */

import { loadLibcrypto, LIBCRYPTO_SONAME, type EvpAeadContext, type Libcrypto } from "../platform/linux/libcrypto.ts";
import {
  AEAD_NONCE_LEN, AEAD_TAG_LEN, checkAeadKey, inBounds, validCounter, writeNonce,
  type RawNonceAeadBackend, type RawNonceAeadKey,
} from "./aead.ts";

const nonce = new Uint8Array(AEAD_NONCE_LEN);

/** Frees the native context of keys that were collected without dispose(). */
const leaked = new FinalizationRegistry<EvpAeadContext>((ctx) => ctx.free());

class OpenSslKey implements RawNonceAeadKey {
  #ctx: EvpAeadContext;

  constructor(lib: Libcrypto, key: Uint8Array) {
    checkAeadKey(key);
    this.#ctx = lib.context(key);
    leaked.register(this, this.#ctx, this);
  }

  /** Seals src[so, so + n) to dst[d, ...) + tag; the caller checked the ranges. */
  #seal(iv: Uint8Array, src: Uint8Array, so: number, n: number, ad: Uint8Array | null, dst: Uint8Array, d: number): number {
    if (!this.#ctx.seal(iv, src, so, n, ad, dst, d)) {
      throw new Error(this.#ctx.pointer === null ? "ChaCha20-Poly1305 key used after dispose" : "OpenSSL ChaCha20-Poly1305 seal failed");
    }
    return n + AEAD_TAG_LEN;
  }

  #sealViews(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    const n = src.length;
    if (dst.length < n + AEAD_TAG_LEN) throw new RangeError(`seal: dst holds ${dst.length} bytes, needs ${n + AEAD_TAG_LEN}`);
    return this.#seal(iv, src, 0, n, ad, dst, 0);
  }

  #openViews(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    const n = src.length - AEAD_TAG_LEN;
    if (n < 0 || dst.length < n) return -1;
    return this.#ctx.open(iv, src, 0, n, ad, dst, 0) ? n : -1;
  }

  seal(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (!validCounter(counter)) throw new RangeError(`nonce counter out of range: ${counter}`);
    writeNonce(nonce, counter);
    return this.#sealViews(nonce, src, ad, dst);
  }

  open(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (!validCounter(counter)) return -1;
    writeNonce(nonce, counter);
    return this.#openViews(nonce, src, ad, dst);
  }

  sealWithNonce(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (iv.length !== AEAD_NONCE_LEN) throw new RangeError(`nonce must be 12 bytes, got ${iv.length}`);
    return this.#sealViews(iv, src, ad, dst);
  }

  openWithNonce(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (iv.length !== AEAD_NONCE_LEN) return -1;
    return this.#openViews(iv, src, ad, dst);
  }

  sealInPlace(counter: number, buf: Uint8Array, off: number, len: number): number {
    if (!validCounter(counter)) throw new RangeError(`nonce counter out of range: ${counter}`);
    if (!inBounds(buf, off, len + AEAD_TAG_LEN)) throw new RangeError(`seal: [${off}, ${off + len}) + tag is outside a ${buf.length}-byte buffer`);
    writeNonce(nonce, counter);
    return this.#seal(nonce, buf, off, len, null, buf, off);
  }

  openInPlace(counter: number, buf: Uint8Array, off: number, len: number): number {
    const n = len - AEAD_TAG_LEN;
    if (!validCounter(counter) || n < 0 || !inBounds(buf, off, len)) return -1;
    writeNonce(nonce, counter);
    return this.#ctx.open(nonce, buf, off, n, null, buf, off) ? n : -1;
  }

  dispose(): void {
    leaked.unregister(this);
    this.#ctx.free();
  }
}

/** The result of {@link loadOpenSslAead}. */
export type OpenSslAeadLoad = { ok: true; backend: RawNonceAeadBackend } | { ok: false; reason: string };

/** The OpenSSL backend, or why it is unavailable (missing library, symbol or cipher). Never throws. */
export function loadOpenSslAead(): OpenSslAeadLoad {
  const loaded = loadLibcrypto();
  if (!loaded.ok) return loaded;
  const lib = loaded.lib;
  return {
    ok: true,
    backend: {
      name: `openssl (${LIBCRYPTO_SONAME}, ${lib.version})`,
      key: (key: Uint8Array): RawNonceAeadKey => new OpenSslKey(lib, key),
    },
  };
}

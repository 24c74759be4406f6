/**
 * @module crypto/openssl
 * The "openssl" {@link AeadBackend}: ChaCha20-Poly1305 from the host's OpenSSL 3 libcrypto through
 * platform/linux/libcrypto (one EVP_CIPHER_CTX per key). About ten times the pure-TS speed.
 * A key whose owner forgets `dispose()` is freed by a FinalizationRegistry when it is collected.
 */

import { loadLibcrypto, LIBCRYPTO_SONAME, type EvpAeadContext, type Libcrypto } from "../platform/linux/libcrypto.ts";
import {
  AEAD_MAX_COUNTER, AEAD_NONCE_LEN, AEAD_TAG_LEN, checkAeadKey, writeNonce,
  type RawNonceAeadBackend, type RawNonceAeadKey,
} from "./aead.ts";

const nonce = new Uint8Array(AEAD_NONCE_LEN);

/** Frees the native context of keys that were collected without dispose(). */
const leaked = new FinalizationRegistry<EvpAeadContext>((ctx) => ctx.free());

function validCounter(counter: number): boolean {
  return Number.isInteger(counter) && counter >= 0 && counter <= AEAD_MAX_COUNTER;
}

class OpenSslKey implements RawNonceAeadKey {
  #ctx: EvpAeadContext;

  constructor(lib: Libcrypto, key: Uint8Array) {
    checkAeadKey(key);
    this.#ctx = lib.context(key);
    leaked.register(this, this.#ctx, this);
  }

  #seal(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    const n = src.length;
    if (dst.length < n + AEAD_TAG_LEN) throw new RangeError(`seal: dst holds ${dst.length} bytes, needs ${n + AEAD_TAG_LEN}`);
    if (!this.#ctx.seal(iv, src, n, ad, dst)) {
      throw new Error(this.#ctx.pointer === null ? "ChaCha20-Poly1305 key used after dispose" : "OpenSSL ChaCha20-Poly1305 seal failed");
    }
    return n + AEAD_TAG_LEN;
  }

  #open(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    const n = src.length - AEAD_TAG_LEN;
    if (n < 0 || dst.length < n) return -1;
    return this.#ctx.open(iv, src, n, ad, dst) ? n : -1;
  }

  seal(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (!validCounter(counter)) throw new RangeError(`nonce counter out of range: ${counter}`);
    writeNonce(nonce, counter);
    return this.#seal(nonce, src, ad, dst);
  }

  open(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (!validCounter(counter)) return -1;
    writeNonce(nonce, counter);
    return this.#open(nonce, src, ad, dst);
  }

  sealWithNonce(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (iv.length !== AEAD_NONCE_LEN) throw new RangeError(`nonce must be 12 bytes, got ${iv.length}`);
    return this.#seal(iv, src, ad, dst);
  }

  openWithNonce(iv: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number {
    if (iv.length !== AEAD_NONCE_LEN) return -1;
    return this.#open(iv, src, ad, dst);
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

/**
 * @module platform/linux/libcrypto
 * The one place warren loads OpenSSL 3's `libcrypto.so.3` (bun:ffi): ChaCha20-Poly1305 through the
 * EVP cipher API, one `EVP_CIPHER_CTX` per key. Loading is explicit ({@link loadLibcrypto}) and never
 * throws: a missing library or symbol comes back as a reason, and the caller falls back to pure TS.
 *
 * Per packet (measured, bench/crypto.ts): EVP_CipherInit_ex with only the IV (and the direction),
 * EVP_CipherUpdate for the AD when there is one, EVP_CipherUpdate for the data, then for sealing
 * EVP_CipherFinal_ex + EVP_CTRL_AEAD_GET_TAG, for opening EVP_CTRL_AEAD_SET_TAG + EVP_CipherFinal_ex.
 * One context serves both directions (re-init with enc = 1 or 0 costs the same as a second context).
 *
 * Buffers: every JS array is passed as a direct `ptr` argument (or, at an offset, as `ptr(buf, off)`
 * computed for that one call), so bun:ffi takes its address for the duration of that one call; no
 * pointer of a JS array is ever cached (BUN-NOTES §2). The tag and the
 * `int *outl` go through module-level scratch arrays, copied in JS.
 */

import { dlopen, ptr, type Pointer } from "bun:ffi";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The address of buf[off] for one call: the array itself at offset 0, else `ptr(buf, off)`
 * taken in the call's own argument list (never kept, BUN-NOTES §2), so no view is made.
 */
function at(buf: Uint8Array, off: number): Uint8Array | Pointer {
  return off === 0 ? buf : ptr(buf, off);
}

/** The library file name warren asks the dynamic loader for. */
export const LIBCRYPTO_SONAME = "libcrypto.so.3";

/**
 * Where distributions install it (Debian/Ubuntu multiarch, Fedora/RHEL lib64, Alpine/Arch lib),
 * tried as absolute paths before the bare name: when the loader's search fails, Bun 1.4.4's
 * dlopen retries the name relative to the working directory (measured), which must never pick up
 * a planted library.
 */
function candidatePaths(): string[] {
  const triple = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  const dirs = [`/usr/lib/${triple}`, `/lib/${triple}`, "/usr/lib64", "/lib64", "/usr/lib", "/lib"];
  return dirs.map((d) => `${d}/${LIBCRYPTO_SONAME}`);
}

/**
 * The first installed candidate, else the bare name for the loader's own search (LD_LIBRARY_PATH,
 * ld.so.conf), else null when only the working directory has a file of that name.
 */
export function libcryptoPath(exists: (path: string) => boolean = existsSync, cwd = process.cwd()): string | null {
  const found = candidatePaths().find((p) => exists(p));
  if (found !== undefined) return found;
  return exists(resolve(cwd, LIBCRYPTO_SONAME)) ? null : LIBCRYPTO_SONAME;
}

/** EVP_CIPHER_CTX_ctrl: read the AEAD tag after EVP_CipherFinal_ex (include/openssl/evp.h). */
const EVP_CTRL_AEAD_GET_TAG = 0x10;
/** EVP_CIPHER_CTX_ctrl: set the expected AEAD tag before EVP_CipherFinal_ex. */
const EVP_CTRL_AEAD_SET_TAG = 0x11;
/** EVP_CipherInit_ex `enc`: encrypt / decrypt. */
const ENCRYPT = 1;
const DECRYPT = 0;
/** Bytes of a Poly1305 tag and of the key. */
const TAG_LEN = 16;
const KEY_LEN = 32;

const SYMBOLS = {
  OpenSSL_version: { args: ["i32"], returns: "cstring" },
  EVP_CIPHER_fetch: { args: ["ptr", "ptr", "ptr"], returns: "ptr" },
  EVP_CIPHER_CTX_new: { args: [], returns: "ptr" },
  EVP_CIPHER_CTX_free: { args: ["ptr"], returns: "void" },
  EVP_CipherInit_ex: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32"], returns: "i32" },
  EVP_CipherUpdate: { args: ["ptr", "ptr", "ptr", "ptr", "i32"], returns: "i32" },
  EVP_CipherFinal_ex: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
  EVP_CIPHER_CTX_ctrl: { args: ["ptr", "i32", "i32", "ptr"], returns: "i32" },
} as const;

type Symbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

/** A loaded libcrypto with the ChaCha20-Poly1305 cipher fetched. */
export interface Libcrypto {
  /** `OpenSSL_version(OPENSSL_VERSION)`, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  readonly version: string;
  /** A context keyed with a 32-byte key (copied by OpenSSL). Throws when OpenSSL fails. */
  context(key: Uint8Array): EvpAeadContext;
}

/** The result of {@link loadLibcrypto}: the library, or why it cannot be used. */
export type LibcryptoLoad = { ok: true; lib: Libcrypto } | { ok: false; reason: string };

const outl = new Int32Array(1);
const tag = new Uint8Array(TAG_LEN);

/** One ChaCha20-Poly1305 EVP_CIPHER_CTX. Not thread-safe; callers are synchronous. */
export class EvpAeadContext {
  #sym: Symbols;
  #ctx: Pointer | null;

  /** @internal made by {@link Libcrypto.context}. */
  constructor(sym: Symbols, ctx: Pointer) {
    this.#sym = sym;
    this.#ctx = ctx;
  }

  /** The native pointer, for a FinalizationRegistry held by the owner. */
  get pointer(): Pointer | null {
    return this.#ctx;
  }

  /**
   * Encrypts src[so, so + len) into dst[d, d + len) (may be the same memory) and writes the tag at
   * dst[d + len, d + len + 16). `nonce` is 12 bytes; the caller checked the ranges. `key`
   * (32 bytes) rekeys the context for this and later calls (one context serving many keys: a
   * data-path worker's); null keeps its key. Returns false if any OpenSSL call fails.
   */
  seal(nonce: Uint8Array, src: Uint8Array, so: number, len: number, ad: Uint8Array | null, dst: Uint8Array, d: number, key: Uint8Array | null = null): boolean {
    const s = this.#sym;
    const ctx = this.#ctx;
    if (ctx === null || s.EVP_CipherInit_ex(ctx, null, null, key, nonce, ENCRYPT) !== 1) return false;
    if (ad !== null && ad.length > 0 && s.EVP_CipherUpdate(ctx, null, outl, ad, ad.length) !== 1) return false;
    if (len > 0 && (s.EVP_CipherUpdate(ctx, at(dst, d), outl, at(src, so), len) !== 1 || outl[0] !== len)) return false;
    if (s.EVP_CipherFinal_ex(ctx, tag, outl) !== 1) return false;
    if (s.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) !== 1) return false;
    for (let i = 0; i < TAG_LEN; i++) dst[d + len + i] = tag[i] ?? 0;
    return true;
  }

  /**
   * Decrypts src[so, so + len) into dst[d, d + len) (may be the same memory) and checks the tag at
   * src[so + len, so + len + 16). `key` as for `seal`. Returns false when the tag does not
   * verify (or OpenSSL fails); dst[d, d + len) is then zeroed.
   */
  open(nonce: Uint8Array, src: Uint8Array, so: number, len: number, ad: Uint8Array | null, dst: Uint8Array, d: number, key: Uint8Array | null = null): boolean {
    const s = this.#sym;
    const ctx = this.#ctx;
    if (ctx === null || s.EVP_CipherInit_ex(ctx, null, null, key, nonce, DECRYPT) !== 1) return false;
    for (let i = 0; i < TAG_LEN; i++) tag[i] = src[so + len + i] ?? 0;
    let ok = s.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) === 1;
    if (ok && ad !== null && ad.length > 0) ok = s.EVP_CipherUpdate(ctx, null, outl, ad, ad.length) === 1;
    if (ok && len > 0) ok = s.EVP_CipherUpdate(ctx, at(dst, d), outl, at(src, so), len) === 1 && outl[0] === len;
    if (ok) ok = s.EVP_CipherFinal_ex(ctx, tag, outl) === 1;
    if (!ok) dst.fill(0, d, d + len);
    return ok;
  }

  /** Frees the context; idempotent. */
  free(): void {
    if (this.#ctx === null) return;
    this.#sym.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
  }
}

/** bun:ffi types a returned pointer as number-or-bigint; x86_64/aarch64 addresses are numbers. */
function asPointer(p: Pointer | bigint | null): Pointer | null {
  return typeof p === "number" ? p : null;
}

function bind(sym: Symbols, cipher: Pointer, version: string): Libcrypto {
  return {
    version,
    context(key: Uint8Array): EvpAeadContext {
      if (key.length !== KEY_LEN) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`);
      const ctx = asPointer(sym.EVP_CIPHER_CTX_new());
      if (ctx === null) throw new Error("failed to create an EVP_CIPHER_CTX: EVP_CIPHER_CTX_new returned NULL");
      if (sym.EVP_CipherInit_ex(ctx, cipher, null, key, null, ENCRYPT) !== 1) {
        sym.EVP_CIPHER_CTX_free(ctx);
        throw new Error("failed to key ChaCha20-Poly1305: EVP_CipherInit_ex failed");
      }
      return new EvpAeadContext(sym, ctx);
    },
  };
}

let cached: LibcryptoLoad | null = null;

/**
 * Opens libcrypto.so.3 and fetches ChaCha20-Poly1305, once per thread. Never throws: a missing
 * library, symbol or cipher gives `{ ok: false, reason }`.
 */
export function loadLibcrypto(): LibcryptoLoad {
  if (cached !== null) return cached;
  const path = libcryptoPath();
  if (path === null) {
    cached = { ok: false, reason: `refusing to load ${LIBCRYPTO_SONAME}: not installed in a system directory, and a file of that name in the working directory could be loaded instead` };
    return cached;
  }
  try {
    const sym = dlopen(path, SYMBOLS).symbols;
    const version = String(sym.OpenSSL_version(0) ?? "OpenSSL, unknown version");
    const cipher = asPointer(sym.EVP_CIPHER_fetch(null, new TextEncoder().encode("ChaCha20-Poly1305\0"), null));
    cached = cipher === null
      ? { ok: false, reason: `${LIBCRYPTO_SONAME} (${version}) has no ChaCha20-Poly1305 cipher` }
      : { ok: true, lib: bind(sym, cipher, version) };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    cached = { ok: false, reason: `cannot load ${LIBCRYPTO_SONAME}: ${text.split("\n")[0] ?? text}` };
  }
  return cached;
}

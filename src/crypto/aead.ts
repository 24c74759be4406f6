/**
 * @module crypto/aead
 * The one interface every ChaCha20-Poly1305 implementation in warren offers (OpenSSL through
 * bun:ffi, pure TypeScript), shaped for WireGuard's transport data: a key object made once per
 * session direction, a 64-bit counter as the nonce, and caller-owned buffers so that sealing or
 * opening a packet allocates nothing.
 *
 * Counters are JS numbers and must be integers in [0, 2^53). WireGuard's own limit is 2^64 - 2^13 - 1
 * (REJECT_AFTER_MESSAGES), but a session lives at most 180 s (REJECT_AFTER_TIME), so it never gets
 * near 2^53. A counter outside that range is a programming error: seal throws RangeError, open
 * returns -1. So is a `dst` that is too small. Callers must never reuse a (key, counter) pair for two
 * different messages.
 */

/** Bytes of a ChaCha20-Poly1305 key. */
export const AEAD_KEY_LEN = 32;
/** Bytes of the Poly1305 tag appended to every ciphertext. */
export const AEAD_TAG_LEN = 16;
/** Bytes of the RFC 8439 nonce: 4 zero bytes then the 64-bit little-endian counter (WireGuard). */
export const AEAD_NONCE_LEN = 12;
/** Largest counter a JS number carries exactly (2^53 - 1). */
export const AEAD_MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** ChaCha20-Poly1305 (RFC 8439) keyed once; nonce = 4 zero bytes || 64-bit little-endian counter (WireGuard). */
export interface AeadKey {
  /** Encrypts src into dst (dst.length >= src.length + 16; dst may be exactly the same memory as src). Returns src.length + 16. */
  seal(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number;
  /** Verifies and decrypts src (ciphertext || 16-byte tag) into dst (may alias src exactly). Returns the plaintext length, or -1 if src is shorter than 16 or the tag does not verify. Never throws on bad input. */
  open(counter: number, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number;
  /**
   * Seals buf[off, off + len) in place, the tag following at buf[off + len, off + len + 16):
   * the transport path's form, no view made. Returns len + 16; throws RangeError (as `seal`)
   * for a bad counter or a range that does not fit in `buf`.
   */
  sealInPlace(counter: number, buf: Uint8Array, off: number, len: number): number;
  /**
   * Opens buf[off, off + len) (ciphertext || tag) in place. Returns the plaintext length
   * (len - 16), or -1 as `open` does (also for a range outside `buf`). Never throws on bad input.
   */
  openInPlace(counter: number, buf: Uint8Array, off: number, len: number): number;
  /** Releases native state; idempotent; the key must not be used afterwards. */
  dispose(): void;
}

/** A ChaCha20-Poly1305 implementation. */
export interface AeadBackend {
  /** For the startup summary, e.g. "openssl (libcrypto.so.3)" or "pure-ts". */
  readonly name: string;
  /** A key object for a 32-byte key (the bytes are copied). */
  key(key: Uint8Array): AeadKey;
}

/**
 * A key that also takes an arbitrary 96-bit RFC 8439 nonce. Both backends offer it; it serves the
 * known-answer self-test (RFC 8439's vector has a nonce no WireGuard counter can express) and
 * XChaCha20-Poly1305. Same buffer rules and results as {@link AeadKey}.
 */
export interface RawNonceAeadKey extends AeadKey {
  /** Like `seal`, with a 12-byte nonce. */
  sealWithNonce(nonce: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number;
  /** Like `open`, with a 12-byte nonce; -1 also for a nonce that is not 12 bytes. */
  openWithNonce(nonce: Uint8Array, src: Uint8Array, ad: Uint8Array | null, dst: Uint8Array): number;
}

/** A backend whose keys take raw nonces too (what the concrete backends export). */
export interface RawNonceAeadBackend extends AeadBackend {
  /** A key object for a 32-byte key (the bytes are copied). */
  key(key: Uint8Array): RawNonceAeadKey;
}

/** Writes the WireGuard nonce for `counter` into a 12-byte buffer (bytes 0-3 stay zero). */
export function writeNonce(nonce: Uint8Array, counter: number): void {
  let lo = counter >>> 0;
  let hi = Math.floor(counter / 0x100000000) >>> 0;
  for (let i = 4; i < 8; i++, lo >>>= 8) nonce[i] = lo & 0xff;
  for (let i = 8; i < 12; i++, hi >>>= 8) nonce[i] = hi & 0xff;
}

/** True for a counter the AEADs take: an integer in [0, 2^53). */
export function validCounter(counter: number): boolean {
  return Number.isInteger(counter) && counter >= 0 && counter <= AEAD_MAX_COUNTER;
}

/** True when buf[off, off + len) is a range of `buf` (integers, inside it). */
export function inBounds(buf: Uint8Array, off: number, len: number): boolean {
  return Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= 0 && off + len <= buf.length;
}

/** Throws RangeError unless `key` is 32 bytes (used by every backend's `key()`). */
export function checkAeadKey(key: Uint8Array): void {
  if (key.length !== AEAD_KEY_LEN) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`);
}

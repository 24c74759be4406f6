/**
 * One ChaCha20-Poly1305 suite for every {@link RawNonceAeadBackend}: RFC 8439 §2.8.2, the kernel /
 * WireGuard self-test vectors (8-byte counter nonces and 12-byte nonces, incl. one that must fail),
 * the counter-to-nonce mapping, in-place operation, rejection of bad input, and dispose.
 * Each backend's test file calls {@link runAeadSuite}.
 */
import { describe, expect, test } from "bun:test";
import type { RawNonceAeadBackend } from "../../../src/crypto/aead.ts";
import { fromHex, toHex } from "../../fakes/packets.ts";
import vectors from "../../vectors/crypto/chacha20poly1305.json";

/** A 12-byte nonce from a vector's nonce: 8 bytes are WireGuard's counter (4 zero bytes first). */
export function nonce12(hex: string): Uint8Array {
  const n = fromHex(hex);
  if (n.length === 12) return n;
  const out = new Uint8Array(12);
  out.set(n, 4);
  return out;
}

/** The 12-byte WireGuard nonce for a counter below 2^53. */
export function counterNonce(counter: number): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, BigInt(counter), true);
  return out;
}

/** Runs the shared AEAD suite against `backend`. */
export function runAeadSuite(backend: RawNonceAeadBackend): void {
  describe(`AEAD suite: ${backend.name}`, () => {
    test("kernel/WireGuard encryption vectors (0-2011 bytes, 8- and 12-byte nonces) and RFC 8439 §2.8.2", () => {
      expect(vectors.kernel_encrypt.some((v) => v.name === "enc_input013")).toBe(true); // the RFC vector
      for (const v of vectors.kernel_encrypt) {
        const pt = fromHex(v.input);
        const k = backend.key(fromHex(v.key));
        const out = new Uint8Array(pt.length + 16);
        expect(k.sealWithNonce(nonce12(v.nonce), pt, fromHex(v.ad), out)).toBe(pt.length + 16);
        expect(toHex(out)).toBe(v.output);
        const back = new Uint8Array(pt.length);
        expect(k.openWithNonce(nonce12(v.nonce), out, fromHex(v.ad), back)).toBe(pt.length);
        expect(toHex(back)).toBe(v.input);
        out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 1;
        expect(k.openWithNonce(nonce12(v.nonce), out, fromHex(v.ad), back)).toBe(-1);
        k.dispose();
      }
    });

    test("kernel/WireGuard decryption vectors, including the one that must fail", () => {
      let failures = 0;
      for (const v of vectors.kernel_decrypt) {
        const ct = fromHex(v.input);
        const k = backend.key(fromHex(v.key));
        const out = new Uint8Array(ct.length);
        const n = k.openWithNonce(nonce12(v.nonce), ct, fromHex(v.ad), out);
        if ("failure" in v && v.failure) {
          failures++;
          expect(n).toBe(-1);
        } else {
          expect(n).toBe(ct.length - 16);
          expect(toHex(out.subarray(0, n))).toBe(v.output);
        }
        k.dispose();
      }
      expect(failures).toBeGreaterThan(0);
    });

    test("seal(counter) is the 4-zero-byte || 64-bit little-endian counter nonce", () => {
      const k = backend.key(fromHex(vectors.kernel_encrypt[0]?.key ?? ""));
      const pt = fromHex("00112233445566778899aabbccddeeff0102");
      const ad = fromHex("a0a1a2");
      for (const counter of [0, 1, 255, 256, 0xffffffff, 0x100000000, 0x123456789abc, Number.MAX_SAFE_INTEGER]) {
        const a = new Uint8Array(pt.length + 16);
        const b = new Uint8Array(pt.length + 16);
        k.seal(counter, pt, ad, a);
        k.sealWithNonce(counterNonce(counter), pt, ad, b);
        expect(toHex(a)).toBe(toHex(b));
        const back = new Uint8Array(pt.length);
        expect(k.open(counter, a, ad, back)).toBe(pt.length);
        expect(toHex(back)).toBe(toHex(pt));
        expect(k.open(counter + (counter === Number.MAX_SAFE_INTEGER ? -1 : 1), a, ad, back)).toBe(-1);
      }
      k.dispose();
    });

    test("seal and open in place (dst is the same memory as src), at odd offsets", () => {
      const k = backend.key(new Uint8Array(32).fill(9));
      for (const [off, len] of [[0, 0], [16, 1400], [3, 61], [1, 1], [7, 4097]] as const) {
        const pt = Uint8Array.from({ length: len }, (_, i) => (i * 13 + off) & 0xff);
        const ref = new Uint8Array(len + 16);
        k.seal(42, pt, null, ref);
        const buf = new Uint8Array(off + len + 16 + 5);
        buf.set(pt, off);
        const n = k.seal(42, buf.subarray(off, off + len), null, buf.subarray(off, off + len + 16));
        expect(n).toBe(len + 16);
        expect(toHex(buf.subarray(off, off + n))).toBe(toHex(ref));
        const m = k.open(42, buf.subarray(off, off + n), null, buf.subarray(off));
        expect(m).toBe(len);
        expect(toHex(buf.subarray(off, off + m))).toBe(toHex(pt));
      }
      k.dispose();
    });

    test("sealInPlace / openInPlace at offsets: seal's bytes, neighbours untouched, a flipped bit or wrong counter refused", () => {
      const k = backend.key(new Uint8Array(32).fill(11));
      for (const [off, len] of [[0, 0], [16, 1400], [3, 61], [1, 1], [16, 65503]] as const) {
        const pt = Uint8Array.from({ length: len }, (_, i) => (i * 7 + off) & 0xff);
        const ref = new Uint8Array(len + 16);
        k.seal(0x1_0000_0007, pt, null, ref);
        const buf = new Uint8Array(off + len + 16 + 4).fill(0xee);
        buf.set(pt, off);
        expect(k.sealInPlace(0x1_0000_0007, buf, off, len)).toBe(len + 16);
        expect(toHex(buf.subarray(off, off + len + 16))).toBe(toHex(ref));
        expect([...buf.subarray(0, off), ...buf.subarray(off + len + 16)].every((b) => b === 0xee)).toBe(true);
        const copy = buf.slice();
        expect(k.openInPlace(0x1_0000_0008, copy, off, len + 16)).toBe(-1);
        copy.set(buf);
        const at = off + ((len * 5) % (len + 16));
        copy[at] = (copy[at] ?? 0) ^ 0x40;
        expect(k.openInPlace(0x1_0000_0007, copy, off, len + 16)).toBe(-1);
        expect(k.openInPlace(0x1_0000_0007, buf, off, len + 16)).toBe(len);
        expect(toHex(buf.subarray(off, off + len))).toBe(toHex(pt));
      }
      k.dispose();
    });

    test("the in-place calls check their range and counter: seal throws RangeError, open returns -1", () => {
      const k = backend.key(new Uint8Array(32).fill(12));
      const buf = new Uint8Array(64);
      expect(() => k.sealInPlace(0, buf, 40, 10)).toThrow(RangeError); // the tag would not fit
      expect(() => k.sealInPlace(0, buf, -1, 10)).toThrow(RangeError);
      expect(() => k.sealInPlace(0, buf, 1.5, 10)).toThrow(RangeError);
      expect(() => k.sealInPlace(-1, buf, 0, 10)).toThrow(RangeError);
      expect(() => k.sealInPlace(2 ** 53, buf, 0, 10)).toThrow(RangeError);
      expect(k.sealInPlace(3, buf, 0, 10)).toBe(26);
      expect(k.openInPlace(3, buf, 0, 15)).toBe(-1); // shorter than a tag
      expect(k.openInPlace(3, buf, 60, 26)).toBe(-1); // past the end
      expect(k.openInPlace(-3, buf, 0, 26)).toBe(-1);
      expect(k.openInPlace(3, buf, 0, 26)).toBe(10);
      k.dispose();
    });

    test("open returns -1 for short input, a wrong tag, AD or counter; null AD equals empty AD", () => {
      const k = backend.key(new Uint8Array(32).fill(1));
      const pt = new Uint8Array(100).fill(7);
      const ct = new Uint8Array(116);
      k.seal(5, pt, fromHex("0102"), ct);
      const out = new Uint8Array(116);
      for (let len = 0; len < 16; len++) expect(k.open(5, ct.subarray(0, len), null, out)).toBe(-1);
      expect(k.open(5, ct, fromHex("0103"), out)).toBe(-1);
      expect(k.open(5, ct, null, out)).toBe(-1);
      expect(k.open(6, ct, fromHex("0102"), out)).toBe(-1);
      for (const bit of [0, 8 * 50 + 3, 8 * 100, 8 * 115 + 7]) {
        const bad = ct.slice();
        bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(k.open(5, bad, fromHex("0102"), out)).toBe(-1);
      }
      expect(k.open(-1, ct, fromHex("0102"), out)).toBe(-1);
      expect(k.open(1.5, ct, fromHex("0102"), out)).toBe(-1);
      expect(k.open(5, ct, fromHex("0102"), new Uint8Array(99))).toBe(-1);
      expect(k.openWithNonce(new Uint8Array(8), ct, null, out)).toBe(-1);
      const a = new Uint8Array(116);
      const b = new Uint8Array(116);
      k.seal(9, pt, null, a);
      k.seal(9, pt, new Uint8Array(0), b);
      expect(toHex(a)).toBe(toHex(b));
      expect(k.open(9, a, new Uint8Array(0), out)).toBe(100);
      k.dispose();
    });

    test("seal throws RangeError for a bad counter or a dst that is too small", () => {
      const k = backend.key(new Uint8Array(32));
      const pt = new Uint8Array(10);
      expect(() => k.seal(-1, pt, null, new Uint8Array(26))).toThrow(RangeError);
      expect(() => k.seal(2 ** 53, pt, null, new Uint8Array(26))).toThrow(RangeError);
      expect(() => k.seal(Number.NaN, pt, null, new Uint8Array(26))).toThrow(RangeError);
      expect(() => k.seal(0, pt, null, new Uint8Array(25))).toThrow(RangeError);
      k.dispose();
    });

    test("key(): 32 bytes only, copied; dispose is idempotent and ends the key", () => {
      expect(() => backend.key(new Uint8Array(31))).toThrow(RangeError);
      const raw = new Uint8Array(32).fill(3);
      const k = backend.key(raw);
      const a = new Uint8Array(16);
      k.seal(0, new Uint8Array(0), null, a);
      raw.fill(4);
      const b = new Uint8Array(16);
      k.seal(0, new Uint8Array(0), null, b);
      expect(toHex(a)).toBe(toHex(b));
      k.dispose();
      k.dispose();
      expect(() => k.seal(0, new Uint8Array(0), null, b)).toThrow();
      expect(k.open(0, a, null, new Uint8Array(0))).toBe(-1);
    });
  });
}

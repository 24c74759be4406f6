/**
 * crypto/blake2s: RFC 7693 (Appendix B and the Appendix E keyed/unkeyed self-test), agreement with
 * the native unkeyed hash, WireGuard's constants and wireguard-go's KDF vectors, and HMAC/MAC values
 * computed with Python's hashlib (an independent implementation).
 */
import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import { blake2s, hash, hmac, kdf1, kdf2, kdf3, mac } from "../../../src/crypto/blake2s.ts";
import { fromHex, toHex } from "../../fakes/packets.ts";
import vectors from "../../vectors/crypto/wireguard.json";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const bytes = (n: number, f: (i: number) => number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => f(i));

/** RFC 7693 Appendix E `selftest_seq`: a Fibonacci-like byte sequence. */
function selftestSeq(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let a = Math.imul(0xdead4bad, seed) >>> 0;
  let b = 1;
  for (let i = 0; i < len; i++) {
    const t = (a + b) >>> 0;
    a = b;
    b = t;
    out[i] = t >>> 24;
  }
  return out;
}

describe("blake2s (RFC 7693)", () => {
  test("Appendix B: BLAKE2s-256('abc')", () => {
    const v = vectors.blake2s_rfc7693;
    expect(toHex(blake2s(32, null, text(v.input_ascii)))).toBe(v.blake2s256);
    expect(toHex(hash(text(v.input_ascii)))).toBe(v.blake2s256);
  });

  test("Appendix E self-test: grand hash over keyed and unkeyed digests of lengths 16-32", () => {
    const digests: Uint8Array[] = [];
    for (const outLen of [16, 20, 28, 32]) {
      for (const inLen of [0, 3, 64, 65, 255, 1024]) {
        const input = selftestSeq(inLen, inLen);
        digests.push(blake2s(outLen, null, input));
        digests.push(blake2s(outLen, selftestSeq(outLen, outLen), input));
      }
    }
    expect(toHex(blake2s(32, null, ...digests))).toBe("6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe");
  });

  test("pure-TS unkeyed digest equals node:crypto blake2s256 for lengths 0-300, however split", () => {
    for (let n = 0; n <= 300; n++) {
      const data = bytes(n, (i) => (i * 31 + n) & 0xff);
      const want = createHash("blake2s256").update(data).digest("hex");
      const cut = (n * 7) % (n + 1);
      expect(toHex(blake2s(32, null, data.subarray(0, cut), data.subarray(cut)))).toBe(want);
      expect(toHex(hash(data.subarray(0, cut), data.subarray(cut)))).toBe(want);
    }
  });

  test("hash of more than the one-shot scratch takes the streaming path", () => {
    const big = bytes(2000, (i) => i & 0xff);
    const want = createHash("blake2s256").update(big).digest("hex");
    expect(toHex(hash(big.subarray(0, 700), big.subarray(700)))).toBe(want);
  });

  test("rejects output lengths outside 1-32 and keys over 32 bytes", () => {
    expect(() => blake2s(0, null)).toThrow(RangeError);
    expect(() => blake2s(33, null)).toThrow(RangeError);
    expect(() => blake2s(32, new Uint8Array(33))).toThrow(RangeError);
    expect(blake2s(1, null).length).toBe(1);
  });
});

describe("WireGuard helpers", () => {
  test("initial chaining key and hash from the construction and identifier", () => {
    const c = vectors.wireguard_constants;
    const ck = hash(text("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"));
    expect(toHex(ck)).toBe(c.initial_chaining_key);
    expect(toHex(hash(ck, text("WireGuard v1 zx2c4 Jason@zx2c4.com")))).toBe(c.initial_hash);
  });

  test("wireguard-go KDF vectors (KDF1, KDF2, KDF3 prefixes agree)", () => {
    for (const v of vectors.wireguard_kdf.vectors) {
      const key = fromHex(v.key);
      const input = fromHex(v.input);
      expect(kdf3(key, input).map(toHex)).toEqual([v.t0, v.t1, v.t2]);
      expect(kdf2(key, input).map(toHex)).toEqual([v.t0, v.t1]);
      expect(kdf1(key, input).map(toHex)).toEqual([v.t0]);
    }
  });

  test("MAC: keyed 16-byte BLAKE2s of a 148-byte message (hashlib)", () => {
    const out = mac(bytes(32, (i) => 100 + i), bytes(148, (i) => i));
    expect(toHex(out)).toBe("540cc1e613e1484eeb058a70e588deeb");
  });

  test("HMAC-BLAKE2s: long key, 64-byte key, long data (hashlib hmac)", () => {
    expect(toHex(hmac(bytes(100, (i) => i), text("abc")))).toBe(
      "c1b751501db12b753069a918627b623179be55c8cc7ca5c4e14bdf32274ac656",
    );
    expect(toHex(hmac(bytes(64, (i) => i)))).toBe("4a4f8f181c931253202b2d7a77e2a612f65580f4b0d56108f7f275f22b63ae00");
    const data = bytes(600, (i) => i & 0xff);
    const want = "c61de084cc1478df4ef083cac5aa862dbda1718ab0dfb691e3f19bdafeb23523";
    expect(toHex(hmac(bytes(32, (i) => 100 + i), data))).toBe(want);
    expect(toHex(hmac(bytes(32, (i) => 100 + i), data.subarray(0, 10), data.subarray(10)))).toBe(want);
  });

  test("results are fresh arrays, not views of shared scratch", () => {
    const a = hmac(new Uint8Array(32), text("a"));
    const b = hmac(new Uint8Array(32), text("b"));
    expect(toHex(a)).not.toBe(toHex(b));
    expect(a.buffer).not.toBe(b.buffer);
    const h1 = hash(text("x"));
    hash(text("y"));
    expect(toHex(h1)).toBe(toHex(hash(text("x"))));
  });
});

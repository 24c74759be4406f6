/** crypto/select + crypto/selftest: backend choice, WARREN_CRYPTO, fallbacks with reasons, broken backends. */
import { describe, expect, test } from "bun:test";
import type { RawNonceAeadBackend, RawNonceAeadKey } from "../../../src/crypto/aead.ts";
import { pureTsAead } from "../../../src/crypto/chacha-ts.ts";
import { loadOpenSslAead } from "../../../src/crypto/openssl.ts";
import { selectAead } from "../../../src/crypto/select.ts";
import { aeadSelfTest } from "../../../src/crypto/selftest.ts";

const haveOpenSsl = loadOpenSslAead().ok;

/** A backend that wraps pure-TS and breaks one behaviour. */
function broken(how: "ciphertext" | "accepts-tamper" | "counter" | "in-place"): RawNonceAeadBackend {
  return {
    name: `broken-${how}`,
    key(raw: Uint8Array): RawNonceAeadKey {
      const k = pureTsAead.key(raw);
      return {
        seal: (c, src, ad, dst) => k.seal(how === "counter" ? c + 1 : c, src, ad, dst),
        open: (c, src, ad, dst) => k.open(c, src, ad, dst),
        sealWithNonce: (n, src, ad, dst) => {
          const len = k.sealWithNonce(n, src, ad, dst);
          if (how === "ciphertext") dst[0] = (dst[0] ?? 0) ^ 1;
          return len;
        },
        openWithNonce: (n, src, ad, dst) => {
          const len = k.openWithNonce(n, src, ad, dst);
          return how === "accepts-tamper" ? src.length - 16 : len;
        },
        sealInPlace: (c, buf, off, len) => k.sealInPlace(how === "in-place" ? c + 1 : c, buf, off, len),
        openInPlace: (c, buf, off, len) => k.openInPlace(c, buf, off, len),
        dispose: () => k.dispose(),
      };
    },
  };
}

describe("aeadSelfTest", () => {
  test("both real backends pass", () => {
    expect(aeadSelfTest(pureTsAead)).toBeNull();
    const o = loadOpenSslAead();
    if (o.ok) expect(aeadSelfTest(o.backend)).toBeNull();
  });

  test("catches a wrong ciphertext, a backend that accepts tampered tags, and a wrong counter layout", () => {
    expect(aeadSelfTest(broken("ciphertext"))).toBe("seal gave the wrong ciphertext");
    expect(aeadSelfTest(broken("accepts-tamper"))).toBe("open accepted a tampered tag");
    expect(aeadSelfTest(broken("counter"))).toBe("seal(counter) does not use the WireGuard nonce layout");
    expect(aeadSelfTest(broken("in-place"))).toBe("sealInPlace does not match seal(counter)");
  });
});

describe("selectAead", () => {
  test.skipIf(!haveOpenSsl)("auto picks OpenSSL after its self-test", () => {
    const s = selectAead({ env: {} });
    expect(s.backend.name).toMatch(/^openssl/);
    expect(s.note).toMatch(/^openssl .* passed its self-test$/);
    expect(s.native).toBe(true);
  });

  test("prefer pure-ts, or WARREN_CRYPTO=pure-ts with auto", () => {
    expect(selectAead({ prefer: "pure-ts", env: {} })).toEqual({ backend: pureTsAead, note: "pure-ts: chosen", native: false });
    const s = selectAead({ env: { WARREN_CRYPTO: "pure-ts" } });
    expect(s.backend).toBe(pureTsAead);
    expect(s.note).toBe("pure-ts: chosen (WARREN_CRYPTO=pure-ts)");
  });

  test.skipIf(!haveOpenSsl)("an explicit prefer wins over WARREN_CRYPTO; WARREN_CRYPTO=openssl works", () => {
    expect(selectAead({ prefer: "openssl", env: { WARREN_CRYPTO: "pure-ts" } }).backend.name).toMatch(/^openssl/);
    expect(selectAead({ env: { WARREN_CRYPTO: "openssl" } }).note).toContain("(WARREN_CRYPTO=openssl)");
  });

  test("an unknown WARREN_CRYPTO value is ignored and said so", () => {
    const s = selectAead({ env: { WARREN_CRYPTO: "fast" }, loadOpenSsl: () => ({ ok: false, reason: "test: none" }) });
    expect(s.backend).toBe(pureTsAead);
    expect(s.note).toContain('ignored WARREN_CRYPTO="fast"');
  });

  test("falls back to pure-ts with the loader's reason", () => {
    const s = selectAead({ env: {}, loadOpenSsl: () => ({ ok: false, reason: "cannot load libcrypto.so.3: not found" }) });
    expect(s.backend).toBe(pureTsAead);
    expect(s.note).toBe("pure-ts: OpenSSL unavailable: cannot load libcrypto.so.3: not found");
  });

  test("falls back when the OpenSSL backend fails its self-test", () => {
    const s = selectAead({ env: {}, loadOpenSsl: () => ({ ok: true, backend: broken("accepts-tamper") }) });
    expect(s.backend).toBe(pureTsAead);
    expect(s.note).toBe("pure-ts: broken-accepts-tamper failed its self-test: open accepted a tampered tag");
  });

  test("throws when pure-ts itself fails its self-test", () => {
    expect(() => selectAead({ prefer: "pure-ts", pureTs: broken("ciphertext") })).toThrow(/pure-TS ChaCha20-Poly1305 failed its self-test/);
  });
});

/**
 * crypto/openssl + platform/linux/libcrypto: the shared AEAD suite on OpenSSL's ChaCha20-Poly1305,
 * plus the loader's contract. Skipped (loudly) when the host has no libcrypto.so.3.
 */
import { describe, expect, test } from "bun:test";
import { loadOpenSslAead } from "../../../src/crypto/openssl.ts";
import { libcryptoPath, loadLibcrypto } from "../../../src/platform/linux/libcrypto.ts";
import { runAeadSuite } from "./aead-suite.ts";

const loaded = loadOpenSslAead();
if (!loaded.ok) console.warn(`crypto tests: OpenSSL backend SKIPPED: ${loaded.reason}`);

describe("libcrypto loader", () => {
  test("loads once and names the library and version, or gives a reason", () => {
    const a = loadLibcrypto();
    expect(loadLibcrypto()).toBe(a);
    if (a.ok) expect(a.lib.version).toMatch(/^OpenSSL 3\./);
    else expect(a.reason).toContain("libcrypto.so.3");
  });

  test("library path: a system directory first, then the bare name, never a copy in the working directory", () => {
    const sys = process.arch === "arm64" ? "/usr/lib/aarch64-linux-gnu/libcrypto.so.3" : "/usr/lib/x86_64-linux-gnu/libcrypto.so.3";
    expect(libcryptoPath((p) => p === sys || p === "/srv/libcrypto.so.3", "/srv")).toBe(sys);
    expect(libcryptoPath((p) => p === "/usr/lib64/libcrypto.so.3", "/srv")).toBe("/usr/lib64/libcrypto.so.3");
    expect(libcryptoPath(() => false, "/srv")).toBe("libcrypto.so.3");
    expect(libcryptoPath((p) => p === "/srv/libcrypto.so.3", "/srv")).toBeNull();
  });

  test.skipIf(!loaded.ok)("backend name says openssl and the library", () => {
    if (loaded.ok) expect(loaded.backend.name).toMatch(/^openssl \(libcrypto\.so\.3, OpenSSL 3\./);
  });

  test.skipIf(!loaded.ok)("a failed open zeroes the plaintext it wrote (no unauthenticated bytes left)", () => {
    if (!loaded.ok) return;
    const k = loaded.backend.key(new Uint8Array(32).fill(5));
    const ct = new Uint8Array(64 + 16);
    k.seal(3, new Uint8Array(64).fill(0xaa), null, ct);
    ct[70] = (ct[70] ?? 0) ^ 1;
    const out = new Uint8Array(64).fill(0x55);
    expect(k.open(3, ct, null, out)).toBe(-1);
    expect(out.every((b) => b === 0)).toBe(true);
    k.dispose();
  });
});

if (loaded.ok) runAeadSuite(loaded.backend);

/**
 * The AEAD backends the WireGuard protocol suites run on: pure TypeScript always, OpenSSL when
 * the host's libcrypto loads (a loud skip line otherwise).
 */
import { test } from "bun:test";
import type { AeadBackend } from "../../../../src/crypto/aead.ts";
import { pureTsAead } from "../../../../src/crypto/chacha-ts.ts";
import { loadOpenSslAead } from "../../../../src/crypto/openssl.ts";

/** Runs `suite` once per available backend. */
export function onEveryBackend(suite: (aead: AeadBackend) => void): void {
  suite(pureTsAead);
  const openssl = loadOpenSslAead();
  if (openssl.ok) suite(openssl.backend);
  else test.skip(`OpenSSL backend unavailable: ${openssl.reason}`, () => {});
}

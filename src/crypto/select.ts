/**
 * @module crypto/select
 * Picks the ChaCha20-Poly1305 backend at start: OpenSSL's libcrypto when it loads and passes the
 * known-answer test, else pure TypeScript, and says which and why in one line for the startup
 * summary. The environment variable WARREN_CRYPTO=openssl|pure-ts forces a choice when the caller
 * asks for "auto" (tests use it to run the door on each backend).
 */

import type { AeadBackend, RawNonceAeadBackend } from "./aead.ts";
import { pureTsAead } from "./chacha-ts.ts";
import { loadOpenSslAead } from "./openssl.ts";
import { aeadSelfTest } from "./selftest.ts";

/** Which backend the caller wants. */
export type AeadPreference = "auto" | "openssl" | "pure-ts";

/** The environment variable that overrides "auto". */
export const CRYPTO_ENV = "WARREN_CRYPTO";

/** The chosen backend and a one-line note on why (for the startup summary and logs). */
export interface AeadSelection {
  /** The backend to key every session with. */
  backend: AeadBackend;
  /** E.g. "openssl (libcrypto.so.3, OpenSSL 3.0.19 ...) passed its self-test". */
  note: string;
  /** OpenSSL's, which the fast data path's workers can load too (they then seal and open WireGuard data). */
  native: boolean;
}

/** Options for {@link selectAead}. */
export interface SelectOptions {
  /** Default "auto": OpenSSL if it works, else pure TS; WARREN_CRYPTO may override "auto". */
  prefer?: AeadPreference;
  /** The environment to read WARREN_CRYPTO from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** @internal for tests: the OpenSSL loader. */
  loadOpenSsl?: typeof loadOpenSslAead;
  /** @internal for tests: the pure-TS backend to fall back to. */
  pureTs?: RawNonceAeadBackend;
}

function preference(opts: SelectOptions): { prefer: AeadPreference; why: string } {
  const asked = opts.prefer ?? "auto";
  if (asked !== "auto") return { prefer: asked, why: "" };
  const raw = (opts.env ?? process.env)[CRYPTO_ENV];
  if (raw === undefined || raw === "" || raw === "auto") return { prefer: "auto", why: "" };
  if (raw === "openssl" || raw === "pure-ts") return { prefer: raw, why: ` (${CRYPTO_ENV}=${raw})` };
  return { prefer: "auto", why: ` (ignored ${CRYPTO_ENV}=${JSON.stringify(raw)}: use openssl or pure-ts)` };
}

function fallback(pureTs: RawNonceAeadBackend, because: string): AeadSelection {
  const failed = aeadSelfTest(pureTs);
  if (failed !== null) throw new Error(`pure-TS ChaCha20-Poly1305 failed its self-test: ${failed}`);
  return { backend: pureTs, note: `${pureTs.name}: ${because}`, native: false };
}

/**
 * Chooses and self-tests the AEAD backend. Falls back to pure TS with the reason in `note`;
 * throws only when the pure-TS backend itself fails its known-answer test.
 */
export function selectAead(opts: SelectOptions = {}): AeadSelection {
  const { prefer, why } = preference(opts);
  const pureTs = opts.pureTs ?? pureTsAead;
  if (prefer === "pure-ts") return fallback(pureTs, `chosen${why}`);
  const loaded = (opts.loadOpenSsl ?? loadOpenSslAead)();
  if (!loaded.ok) return fallback(pureTs, `OpenSSL unavailable: ${loaded.reason}${why}`);
  const failed = aeadSelfTest(loaded.backend);
  if (failed !== null) return fallback(pureTs, `${loaded.backend.name} failed its self-test: ${failed}${why}`);
  return { backend: loaded.backend, note: `${loaded.backend.name} passed its self-test${why}`, native: true };
}

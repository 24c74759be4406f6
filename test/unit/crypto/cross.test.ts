/**
 * Randomized cross-check of the two ChaCha20-Poly1305 backends: 2,000 seeded (key, counter, AD,
 * plaintext) cases sealed by one and opened by the other, both ways; ciphertexts must be
 * byte-identical and one flipped bit must fail on both. Skipped when OpenSSL is unavailable.
 */
import { expect, test } from "bun:test";
import type { RawNonceAeadBackend } from "../../../src/crypto/aead.ts";
import { pureTsAead } from "../../../src/crypto/chacha-ts.ts";
import { loadOpenSslAead } from "../../../src/crypto/openssl.ts";

const SEED = 0x5eed_c0de;
const CASES = 2000;

/** mulberry32: a small seeded generator, so a failure reproduces from the case index. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(next: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

/** Lengths weighted toward the edges that matter: empty, block boundaries, MTU-sized. */
function length(next: () => number): number {
  const edges = [0, 1, 15, 16, 17, 63, 64, 65, 1420, 1440];
  return next() < 0.3 ? (edges[Math.floor(next() * edges.length)] ?? 0) : Math.floor(next() * 1600);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const openssl = loadOpenSslAead();

test.skipIf(!openssl.ok)(`${CASES} random cases: OpenSSL and pure-TS agree byte for byte, tampering fails on both`, () => {
  if (!openssl.ok) return;
  const next = rng(SEED);
  const pair: [RawNonceAeadBackend, RawNonceAeadBackend][] = [[openssl.backend, pureTsAead], [pureTsAead, openssl.backend]];
  let mismatches = 0;
  for (let i = 0; i < CASES; i++) {
    const [sealer, opener] = pair[i & 1] ?? pair[0]!;
    const key = bytes(next, 32);
    const counter = next() < 0.1 ? Math.floor(next() * 4) : Math.floor(next() * Number.MAX_SAFE_INTEGER);
    const ad = next() < 0.3 ? null : bytes(next, Math.floor(next() * 40));
    const pt = bytes(next, length(next));
    const ks = sealer.key(key);
    const ko = opener.key(key);
    const a = new Uint8Array(pt.length + 16);
    const b = new Uint8Array(pt.length + 16);
    ks.seal(counter, pt, ad, a);
    ko.seal(counter, pt, ad, b);
    const back = new Uint8Array(pt.length);
    const opened = ko.open(counter, a, ad, back);
    const bit = Math.floor(next() * a.length * 8);
    a[bit >> 3] = (a[bit >> 3] ?? 0) ^ (1 << (bit & 7));
    const ok = opened === pt.length && same(back, pt)
      && ko.open(counter, a, ad, back) === -1 && ks.open(counter, a, ad, back) === -1;
    a[bit >> 3] = (a[bit >> 3] ?? 0) ^ (1 << (bit & 7));
    if (!ok || !same(a, b)) {
      mismatches++;
      if (mismatches <= 3) console.error(`cross-check case ${i} (seed ${SEED}) failed: ${sealer.name} -> ${opener.name}, ${pt.length} B`);
    }
    ks.dispose();
    ko.dispose();
  }
  expect(mismatches).toBe(0);
});

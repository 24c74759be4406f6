/**
 * @module crypto/selftest
 * The known-answer test every ChaCha20-Poly1305 backend must pass before warren uses it:
 * RFC 8439 §2.8.2 (seal and open), one vector with WireGuard's nonce layout (4 zero bytes ||
 * 64-bit little-endian counter; from WireGuard's and the Linux kernel's self-test), the counter API
 * against that layout, the in-place calls of the transport path at an offset, and tampered tags
 * that must be rejected. Runs in well under a millisecond.
 */

import { AEAD_TAG_LEN, writeNonce, type RawNonceAeadBackend, type RawNonceAeadKey } from "./aead.ts";

const LADIES = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

/** RFC 8439 §2.8.2. */
const RFC8439 = {
  key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
  nonce: "070000004041424344454647",
  ad: "50515253c0c1c2c3c4c5c6c7",
  ct:
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b" +
    "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
    "3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691",
};

/** WireGuard zinc / Linux kernel chacha20poly1305 self-test, enc vector 006 (8-byte counter nonce). */
const WG_NONCE = {
  key: "687b8d8ee3c4ddaedf727f5372251e7891cb69761f4993f96f21cc399cadb101",
  nonce: "00000000df518482420c759c",
  ad: "70d333f38b180b",
  pt:
    "332f94c1a4efcc2a5ba6e58f1d40f0923cd92411a971f9371499fabee680de50c996d4b0ec9e17ecd25e7299fc0ae1cb" +
    "48d285dd2f90e0663be62074be238fcbb4e4da4840a6d11bc742ce2f0ca6856e873703b17c2596a305d8b0f4edeac2f0" +
    "31986cd11425c0cb0174d082f436f541d5dccac5bb98fefc692170d8a44bc8de8f",
  ct:
    "8b06d331b09345b1756e26f967bc9015812cb5f0c62bc78c56d1bf696c07a0da6527c9903def4b110f1907fd2992d9c8" +
    "f7992e4ad0b82cdc93f59e3378d137c366d75ebc44bf53a5bcc4cb7b3a8e7f02bdbbe7caa66c6b9321931061e769d078" +
    "f3075a1a8f73aab14ed3da4ff332e1663e6cc613ba065bfc6ae56f60fb0740b08c9d84436bc1f78d8d31f77a394d8f9aeb",
};

function hex(text: string): Uint8Array {
  return Uint8Array.from({ length: text.length >> 1 }, (_, i) => parseInt(text.slice(i * 2, i * 2 + 2), 16));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Seal must give `ct`, open must give `pt` back, and `ct` with its last tag bit flipped must fail. */
function checkVector(backend: RawNonceAeadBackend, v: { key: string; nonce: string; ad: string; ct: string }, pt: Uint8Array): string | null {
  const key = backend.key(hex(v.key));
  try {
    const nonce = hex(v.nonce);
    const ad = hex(v.ad);
    const want = hex(v.ct);
    const out = new Uint8Array(pt.length + AEAD_TAG_LEN);
    key.sealWithNonce(nonce, pt, ad, out);
    if (!equal(out, want)) return "seal gave the wrong ciphertext";
    const back = new Uint8Array(pt.length);
    if (key.openWithNonce(nonce, want, ad, back) !== pt.length || !equal(back, pt)) return "open failed on a valid ciphertext";
    want[want.length - 1] = (want[want.length - 1] ?? 0) ^ 0x01;
    if (key.openWithNonce(nonce, want, ad, back) !== -1) return "open accepted a tampered tag";
    return null;
  } finally {
    key.dispose();
  }
}

/** seal(counter) must equal sealWithNonce with the WireGuard layout, for a counter above 2^32. */
function checkCounter(backend: RawNonceAeadBackend): string | null {
  const key = backend.key(hex(WG_NONCE.key));
  try {
    const counter = 0x1_2345_6789;
    const nonce = new Uint8Array(12);
    writeNonce(nonce, counter);
    const pt = hex(WG_NONCE.pt);
    const a = new Uint8Array(pt.length + AEAD_TAG_LEN);
    const b = new Uint8Array(pt.length + AEAD_TAG_LEN);
    key.seal(counter, pt, null, a);
    key.sealWithNonce(nonce, pt, null, b);
    if (!equal(a, b)) return "seal(counter) does not use the WireGuard nonce layout";
    const back = new Uint8Array(pt.length);
    if (key.open(counter, a, null, back) !== pt.length || !equal(back, pt)) return "open(counter) failed on its own ciphertext";
    return checkInPlace(key, counter, pt, a);
  } finally {
    key.dispose();
  }
}

/** The in-place calls at an odd offset must give the same bytes, leave the neighbours alone and reject a flipped tag. */
function checkInPlace(key: RawNonceAeadKey, counter: number, pt: Uint8Array, want: Uint8Array): string | null {
  const off = 3;
  const buf = new Uint8Array(off + want.length + 2).fill(0xa5);
  buf.set(pt, off);
  if (key.sealInPlace(counter, buf, off, pt.length) !== want.length) return "sealInPlace returned the wrong length";
  const guards = buf[0] === 0xa5 && buf[off - 1] === 0xa5 && buf[buf.length - 1] === 0xa5 && buf[buf.length - 2] === 0xa5;
  if (!guards || !equal(buf.subarray(off, off + want.length), want)) return "sealInPlace does not match seal(counter)";
  if (key.openInPlace(counter, buf, off, want.length) !== pt.length || !equal(buf.subarray(off, off + pt.length), pt)) return "openInPlace failed on a valid ciphertext";
  buf.set(want, off);
  buf[off + want.length - 1] = (buf[off + want.length - 1] ?? 0) ^ 0x01;
  return key.openInPlace(counter, buf, off, want.length) === -1 ? null : "openInPlace accepted a tampered tag";
}

/** Runs the known-answer test; returns null when the backend passes, else what went wrong. Never throws. */
export function aeadSelfTest(backend: RawNonceAeadBackend): string | null {
  try {
    return checkVector(backend, RFC8439, new TextEncoder().encode(LADIES))
      ?? checkVector(backend, WG_NONCE, hex(WG_NONCE.pt))
      ?? checkCounter(backend);
  } catch (err) {
    return `self-test threw: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * crypto/chacha20, poly1305, chacha-ts, xchacha: RFC 8439 primitive vectors, the shared AEAD suite on
 * the pure-TS backend, the one-shot helpers and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha and the
 * kernel's vector).
 */
import { describe, expect, test } from "bun:test";
import { chachaPolyOpen, chachaPolySeal, pureTsAead } from "../../../src/crypto/chacha-ts.ts";
import { chachaCore, chachaXor, loadWords, setupState } from "../../../src/crypto/chacha20.ts";
import { poly1305 } from "../../../src/crypto/poly1305.ts";
import { hchacha20, xchacha20poly1305Open, xchacha20poly1305Seal } from "../../../src/crypto/xchacha.ts";
import { fromHex, toHex } from "../../fakes/packets.ts";
import vectors from "../../vectors/crypto/chacha20poly1305.json";
import { counterNonce, runAeadSuite } from "./aead-suite.ts";

const rfc = vectors.rfc8439;

function stateFor(keyHex: string, nonceHex: string, counter: number): Uint32Array {
  const key = new Uint32Array(8);
  const nonce = new Uint32Array(3);
  loadWords(fromHex(keyHex), 0, key, 8);
  loadWords(fromHex(nonceHex), 0, nonce, 3);
  const state = new Uint32Array(16);
  setupState(state, key, counter, nonce[0] ?? 0, nonce[1] ?? 0, nonce[2] ?? 0);
  return state;
}

function wordsToHex(words: Uint32Array, count: number): string {
  const bytes = new Uint8Array(count * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) view.setUint32(i * 4, words[i] ?? 0, true);
  return toHex(bytes);
}

describe("ChaCha20 and Poly1305 (RFC 8439)", () => {
  test("§2.3.2 block function", () => {
    const v = rfc.chacha20_block;
    const out = new Uint32Array(16);
    chachaCore(stateFor(v.key, v.nonce, v.counter), out, true);
    expect(wordsToHex(out, 16)).toBe(v.block);
  });

  test("§2.4.2 encryption, and again split at odd points (block counter carries over)", () => {
    const v = rfc.chacha20_encrypt;
    const pt = fromHex(v.plaintext);
    const out = new Uint8Array(pt.length);
    chachaXor(stateFor(v.key, v.nonce, v.counter), pt, 0, out, 0, pt.length);
    expect(toHex(out)).toBe(v.ciphertext);
    const state = stateFor(v.key, v.nonce, v.counter);
    const split = new Uint8Array(pt.length);
    chachaXor(state, pt, 0, split, 0, 64);
    chachaXor(state, pt, 64, split, 64, pt.length - 64);
    expect(toHex(split)).toBe(v.ciphertext);
  });

  test("§2.5.2 Poly1305 and §2.6.2 one-time key generation", () => {
    expect(toHex(poly1305(fromHex(rfc.poly1305.key), fromHex(rfc.poly1305.message)))).toBe(rfc.poly1305.tag);
    const out = new Uint32Array(16);
    chachaCore(stateFor(rfc.poly1305_key_gen.key, rfc.poly1305_key_gen.nonce, 0), out, true);
    expect(wordsToHex(out, 8)).toBe(rfc.poly1305_key_gen.one_time_key);
  });

  test("Poly1305 reduction edge cases (RFC 8439 Appendix A.3 style; tags from Python cryptography/OpenSSL)", () => {
    const cases: [string, string, string][] = [
      ["ff".repeat(32), "ff".repeat(64), "900fe32bc15fa8d7bca8efe4c7e37eb1"],
      ["02" + "00".repeat(15) + "ff".repeat(16), "02" + "00".repeat(15), "03" + "00".repeat(15)],
      ["02" + "00".repeat(31), "ff".repeat(16), "03" + "00".repeat(15)],
      ["01" + "00".repeat(31), "ff".repeat(16) + "f0" + "ff".repeat(15) + "11" + "00".repeat(15), "05" + "00".repeat(15)],
      ["01" + "00".repeat(31), "fb" + "ff".repeat(15) + "fe".repeat(16) + "01".repeat(16), "ff".repeat(16)],
    ];
    for (const [key, msg, tag] of cases) expect(toHex(poly1305(fromHex(key), fromHex(msg)))).toBe(tag);
  });
});

runAeadSuite(pureTsAead);

describe("one-shot helpers", () => {
  test("chachaPolySeal/Open round trip, equal to the key object, null on tamper or short input", () => {
    const key = new Uint8Array(32).fill(0x42);
    const pt = fromHex("deadbeef");
    const sealed = chachaPolySeal(key, 7, pt, null);
    const viaKey = new Uint8Array(20);
    pureTsAead.key(key).sealWithNonce(counterNonce(7), pt, null, viaKey);
    expect(toHex(sealed)).toBe(toHex(viaKey));
    expect(toHex(chachaPolyOpen(key, 7, sealed, null) ?? new Uint8Array())).toBe("deadbeef");
    sealed[0] = (sealed[0] ?? 0) ^ 0x80;
    expect(chachaPolyOpen(key, 7, sealed, null)).toBeNull();
    expect(chachaPolyOpen(key, 7, new Uint8Array(15), null)).toBeNull();
  });
});

describe("XChaCha20-Poly1305", () => {
  const x = vectors.xchacha_draft;

  test("HChaCha20 (draft §2.2.1)", () => {
    expect(toHex(hchacha20(fromHex(x.hchacha20.key), fromHex(x.hchacha20.nonce)))).toBe(x.hchacha20.subkey);
  });

  test("AEAD (draft §A.3.1) seal and open; tamper and short input give null", () => {
    const v = x.aead;
    const sealed = xchacha20poly1305Seal(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.ad));
    expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
    const opened = xchacha20poly1305Open(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.ad));
    expect(toHex(opened ?? new Uint8Array())).toBe(v.plaintext);
    sealed[5] = (sealed[5] ?? 0) ^ 1;
    expect(xchacha20poly1305Open(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.ad))).toBeNull();
    expect(xchacha20poly1305Open(fromHex(v.key), fromHex(v.nonce), new Uint8Array(10), null)).toBeNull();
    expect(() => xchacha20poly1305Seal(fromHex(v.key), new Uint8Array(12), new Uint8Array(1), null)).toThrow(RangeError);
  });

  test("the kernel's XChaCha20-Poly1305 vector", () => {
    for (const v of vectors.kernel_xchacha) {
      expect(toHex(xchacha20poly1305Seal(fromHex(v.key), fromHex(v.nonce), fromHex(v.input), fromHex(v.ad)))).toBe(v.output);
      const opened = xchacha20poly1305Open(fromHex(v.key), fromHex(v.nonce), fromHex(v.output), fromHex(v.ad));
      expect(toHex(opened ?? new Uint8Array())).toBe(v.input);
    }
  });
});

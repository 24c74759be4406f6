/** crypto/x25519: RFC 7748 vectors, clamping, low-order rejection, DH agreement, wg-style base64. */
import { describe, expect, test } from "bun:test";
import {
  clampPrivateKey, createPrivateKeyObject, generateKeyPair, generatePresharedKey, generatePrivateKey,
  keyFromBase64, keyToBase64, publicKey, sharedSecret, sharedSecretWith,
} from "../../../src/crypto/x25519.ts";
import { fromHex, toHex } from "../../fakes/packets.ts";
import vectors from "../../vectors/crypto/wireguard.json";

const rfc = vectors.x25519_rfc7748;

describe("x25519", () => {
  test("RFC 7748 5.2 scalar multiplication vector", () => {
    for (const v of rfc.scalar_mult) {
      expect(toHex(sharedSecret(fromHex(v.k), fromHex(v.u)) ?? new Uint8Array())).toBe(v.out);
    }
  });

  test("RFC 7748 6.1 Diffie-Hellman: public key and shared secret", () => {
    const alice = fromHex(rfc.dh.alice_priv);
    expect(toHex(publicKey(alice))).toBe(rfc.dh.alice_pub);
    expect(toHex(sharedSecret(alice, fromHex(rfc.dh.bob_pub)) ?? new Uint8Array())).toBe(rfc.dh.shared);
    const prepared = createPrivateKeyObject(alice);
    expect(toHex(prepared.publicKey)).toBe(rfc.dh.alice_pub);
    expect(toHex(sharedSecretWith(prepared, fromHex(rfc.dh.bob_pub)) ?? new Uint8Array())).toBe(rfc.dh.shared);
  });

  test("generated keys are clamped and agree on a shared secret", () => {
    for (let i = 0; i < 8; i++) {
      const a = generatePrivateKey();
      const b = generateKeyPair();
      expect((a[0] ?? 1) & 7).toBe(0);
      expect((a[31] ?? 0) & 0xc0).toBe(0x40);
      expect((b.privateKey[31] ?? 0) & 0xc0).toBe(0x40);
      const ab = sharedSecret(a, b.key.publicKey);
      const ba = sharedSecretWith(b.key, publicKey(a));
      expect(ab).not.toBeNull();
      expect(toHex(ab ?? new Uint8Array())).toBe(toHex(ba ?? new Uint8Array(1)));
    }
    expect(toHex(generatePrivateKey())).not.toBe(toHex(generatePrivateKey()));
    expect(generatePresharedKey().length).toBe(32);
  });

  test("clampPrivateKey clears bits 0-2 and 255 and sets 254", () => {
    const k = clampPrivateKey(new Uint8Array(32).fill(0xff));
    expect(k[0]).toBe(0xf8);
    expect(k[31]).toBe(0x7f);
    expect(clampPrivateKey(new Uint8Array(32))[31]).toBe(0x40);
  });

  test("low-order public keys give null (all-zero shared secret)", () => {
    const priv = generatePrivateKey();
    const lowOrder = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for (const hex of lowOrder) expect(sharedSecret(priv, fromHex(hex))).toBeNull();
  });

  test("the public key's top bit is ignored and private keys are clamped inside X25519 (RFC 7748 §5)", () => {
    const priv = fromHex(rfc.dh.alice_priv);
    const bob = fromHex(rfc.dh.bob_pub);
    const high = bob.slice();
    high[31] = (high[31] ?? 0) | 0x80;
    expect(toHex(sharedSecret(priv, high) ?? new Uint8Array())).toBe(rfc.dh.shared);
    const unclamped = priv.slice(); // RFC key: low bits set, bit 254 clear; now bit 255 set too
    unclamped[31] = (unclamped[31] ?? 0) | 0x80;
    expect(toHex(publicKey(unclamped))).toBe(rfc.dh.alice_pub);
  });

  test("wrong key lengths throw RangeError", () => {
    expect(() => publicKey(new Uint8Array(31))).toThrow(RangeError);
    expect(() => sharedSecret(new Uint8Array(32), new Uint8Array(33))).toThrow(RangeError);
  });

  test("base64 as wg prints it: 44 chars with padding, round trip", () => {
    const key = fromHex(rfc.dh.alice_pub);
    const text = keyToBase64(key);
    expect(text).toBe(Buffer.from(key).toString("base64"));
    expect(text.length).toBe(44);
    expect(toHex(keyFromBase64(text) ?? new Uint8Array())).toBe(rfc.dh.alice_pub);
  });

  test("keyFromBase64 rejects anything but a canonical 32-byte key", () => {
    const good = keyToBase64(new Uint8Array(32).fill(0xab));
    expect(keyFromBase64(good)).not.toBeNull();
    expect(keyFromBase64(good.slice(0, 43))).toBeNull(); // no padding
    expect(keyFromBase64(good + "=")).toBeNull();
    expect(keyFromBase64(good.replace(/^./, "-"))).toBeNull(); // base64url alphabet
    expect(keyFromBase64(` ${good.slice(1)}`)).toBeNull();
    expect(keyFromBase64(Buffer.alloc(33).toString("base64"))).toBeNull(); // 44 chars, 33 bytes
    expect(keyFromBase64(good.slice(0, 42) + "B=")).toBeNull(); // non-zero trailing bits
    expect(keyFromBase64("")).toBeNull();
  });
});

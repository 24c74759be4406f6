/**
 * @module crypto/x25519
 * X25519 (RFC 7748) for WireGuard on Bun's built-in `node:crypto`: raw 32-byte keys are
 * wrapped in the fixed PKCS#8 / SPKI DER prefixes, so no native code of our own is needed.
 * A responder does four DH operations per handshake, so the static private key should be
 * turned into an {@link X25519PrivateKey} once with {@link createPrivateKeyObject} and reused.
 * Keys print as `wg` prints them: standard base64 with padding, 44 characters.
 */

import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  type KeyObject,
} from "node:crypto";

/** Bytes of an X25519 private key, public key, shared secret, and of a WireGuard preshared key. */
export const KEY_LEN = 32;

/** PKCS#8 prefix of a raw X25519 private key (OID 1.3.101.110, OCTET STRING of 32). */
const PKCS8_PREFIX = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
);
/** SPKI prefix of a raw X25519 public key (OID 1.3.101.110, BIT STRING of 33). */
const SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00);

/** A private key prepared for repeated DH (wraps a node:crypto KeyObject). */
export interface X25519PrivateKey {
  /** The matching public key (32 bytes, shared: do not modify). */
  readonly publicKey: Uint8Array;
  /** @internal the node:crypto key. */
  readonly object: KeyObject;
}

function derOf(prefix: Uint8Array, key: Uint8Array): Buffer {
  const der = Buffer.allocUnsafe(prefix.length + KEY_LEN);
  der.set(prefix, 0);
  der.set(key, prefix.length);
  return der;
}

function checkLen(key: Uint8Array, what: string): void {
  if (key.length !== KEY_LEN) throw new RangeError(`${what} must be ${KEY_LEN} bytes, got ${key.length}`);
}

/** Clamps a private key in place as Curve25519 (and `wg genkey`) do: clear bits 0-2 and 255, set bit 254. */
export function clampPrivateKey(priv: Uint8Array): Uint8Array {
  checkLen(priv, "private key");
  priv[0] = (priv[0] ?? 0) & 248;
  priv[31] = ((priv[31] ?? 0) & 127) | 64;
  return priv;
}

/** 32 random bytes from the OS CSPRNG, clamped like `wg genkey`. */
export function generatePrivateKey(): Uint8Array {
  return clampPrivateKey(new Uint8Array(randomBytes(KEY_LEN)));
}

/** 32 random bytes, like `wg genpsk`. */
export function generatePresharedKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_LEN));
}

/** Wraps a raw private key for repeated use; throws RangeError unless it is 32 bytes. */
export function createPrivateKeyObject(priv: Uint8Array): X25519PrivateKey {
  checkLen(priv, "private key");
  const object = createPrivateKey({ key: derOf(PKCS8_PREFIX, priv), format: "der", type: "pkcs8" });
  const spki = createPublicKey(object).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(spki.length - KEY_LEN));
  return { publicKey, object };
}

/** A fresh key pair (an ephemeral for a handshake); one native key generation, no extra import. */
export function generateKeyPair(): { privateKey: Uint8Array; key: X25519PrivateKey } {
  const privateKey = generatePrivateKey();
  return { privateKey, key: createPrivateKeyObject(privateKey) };
}

/** The public key of a raw private key (X25519 of the base point 9). */
export function publicKey(priv: Uint8Array): Uint8Array {
  return createPrivateKeyObject(priv).publicKey;
}

/**
 * X25519(priv, pub) with a prepared private key. Returns null when the result is all zeros
 * (a low-order public key), which WireGuard must reject. Throws RangeError on a wrong length.
 */
export function sharedSecretWith(priv: X25519PrivateKey, pub: Uint8Array): Uint8Array | null {
  checkLen(pub, "public key");
  let out: Buffer;
  try {
    const publicKeyObject = createPublicKey({ key: derOf(SPKI_PREFIX, pub), format: "der", type: "spki" });
    out = diffieHellman({ privateKey: priv.object, publicKey: publicKeyObject });
  } catch {
    // node:crypto refuses an all-zero result ("diffieHellman operation failed").
    return null;
  }
  let acc = 0;
  for (let i = 0; i < KEY_LEN; i++) acc |= out[i] ?? 0;
  return acc === 0 ? null : new Uint8Array(out);
}

/** X25519(priv, pub) on raw keys; null for an all-zero result (low-order point). */
export function sharedSecret(priv: Uint8Array, pub: Uint8Array): Uint8Array | null {
  return sharedSecretWith(createPrivateKeyObject(priv), pub);
}

/** A 32-byte key as `wg` prints it: standard base64 with padding (44 characters). */
export function keyToBase64(key: Uint8Array): string {
  checkLen(key, "key");
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString("base64");
}

const KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Parses a 44-character standard base64 key; null unless it decodes to exactly 32 bytes canonically. */
export function keyFromBase64(text: string): Uint8Array | null {
  if (!KEY_BASE64.test(text)) return null;
  const bytes = Buffer.from(text, "base64");
  return bytes.length === KEY_LEN ? new Uint8Array(bytes) : null;
}

/**
 * @module protocol/wireguard/noise
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake (paper 5.4.2-5.4.4), both roles, as pure
 * functions over caller-owned buffers:
 *
 *   initiator                                   responder
 *   1. writeInitiation: e, es, s, ss, payload -> readInitiation (lookup(s) gives the peer)
 *   2. readResponse  <- e, ee, se, psk, payload   writeResponse
 *   3. both: split() -> transport keys (initiator sends with the first, the responder with the second)
 *
 * The Noise messages are written at an offset so the same code serves WireGuard's framing
 * (offset 8 in an initiation, 12 in a response) and the plain Noise test vectors. The
 * static-static DH is passed in precomputed, once per peer. Secrets live in fresh arrays
 * that the functions zero when done with them; the KeyObject behind an X25519 private key
 * cannot be zeroed and is dropped instead. Nothing here reads a clock or a random source:
 * the ephemeral key is a parameter.
 */

import type { AeadBackend } from "../../crypto/aead.ts";
import { hash, kdf1, kdf2, kdf3 } from "../../crypto/blake2s.ts";
import { sharedSecretWith, type X25519PrivateKey } from "../../crypto/x25519.ts";
import { CONSTRUCTION, IDENTIFIER, KEY_LEN, TAG_LEN } from "./constants.ts";

/** Initial chaining key and hash: ck = HASH(construction), h = HASH(ck || prologue). Compute once. */
export interface NoiseStart {
  /** Initial chaining key. */
  readonly chainingKey: Uint8Array;
  /** Initial hash (before the responder's static key is mixed in). */
  readonly hash: Uint8Array;
}

/** This side's long-term identity. */
export interface StaticIdentity {
  /** The static private key, prepared for repeated DH. */
  readonly privateKey: X25519PrivateKey;
  /** The static public key. */
  readonly publicKey: Uint8Array;
}

/** What this side knows of the other side's long-term identity. */
export interface RemoteIdentity {
  /** Their static public key. */
  readonly publicKey: Uint8Array;
  /** The preshared key (32 zero bytes when none is configured). */
  readonly presharedKey: Uint8Array;
  /** DH(our static private key, their static public key); null when it is all zeros (unusable peer). */
  readonly staticShared: Uint8Array | null;
}

/** The initiator's state between sending message 1 and reading message 2. */
export interface InitiatorHandshake {
  readonly chainingKey: Uint8Array;
  readonly hash: Uint8Array;
  readonly ephemeral: X25519PrivateKey;
}

/** What the responder learned from message 1. */
export interface ConsumedInitiation<P> {
  /** The peer `lookup` returned for the initiator's static key. */
  readonly peer: P;
  /** The initiator's static public key. */
  readonly remoteStatic: Uint8Array;
  /** The initiator's ephemeral public key (a copy). */
  readonly remoteEphemeral: Uint8Array;
  /** The decrypted payload (WireGuard: the TAI64N timestamp). */
  readonly payload: Uint8Array;
  readonly chainingKey: Uint8Array;
  readonly hash: Uint8Array;
}

/** Transport keys from split(), plus the final handshake hash. */
export interface SessionKeys {
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  readonly hash: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** ck and h for a construction and prologue (WireGuard's by default). */
export function noiseStart(construction: string = CONSTRUCTION, prologue: Uint8Array | string = IDENTIFIER): NoiseStart {
  const name = utf8.encode(construction);
  let ck: Uint8Array;
  if (name.length <= KEY_LEN) {
    ck = new Uint8Array(KEY_LEN);
    ck.set(name);
  } else {
    ck = hash(name);
  }
  const pro = typeof prologue === "string" ? utf8.encode(prologue) : prologue;
  return { chainingKey: ck, hash: hash(ck, pro) };
}

/** Running handshake state: the chaining key and the transcript hash. */
class Symmetric {
  constructor(
    public ck: Uint8Array,
    public h: Uint8Array,
  ) {}

  mixHash(data: Uint8Array): void {
    this.h = hash(this.h, data);
  }

  mixKey(data: Uint8Array): void {
    const old = this.ck;
    [this.ck] = kdf1(old, data);
    old.fill(0);
  }

  /** ck, k = KDF2(ck, dh); returns k (null when the DH was all zeros). */
  mixDh(dh: Uint8Array | null): Uint8Array | null {
    if (dh === null) return null;
    const old = this.ck;
    const [ck, k] = kdf2(old, dh);
    old.fill(0);
    dh.fill(0);
    this.ck = ck;
    return k;
  }

  /** ck = KDF1(ck, dh) for a DH whose key output is not needed; false when the DH was all zeros. */
  mixDhOnly(dh: Uint8Array | null): boolean {
    if (dh === null) return false;
    this.mixKey(dh);
    dh.fill(0);
    return true;
  }

  /** ck, tau, k = KDF3(ck, psk); h = HASH(h || tau); returns k. */
  mixPsk(psk: Uint8Array): Uint8Array {
    const old = this.ck;
    const [ck, tau, k] = kdf3(old, psk);
    old.fill(0);
    this.ck = ck;
    this.mixHash(tau);
    tau.fill(0);
    return k;
  }

  /** Seals `pt` with `k` (counter 0, ad = h) into out[off..], mixes the ciphertext; returns its length. */
  encryptAndHash(aead: AeadBackend, k: Uint8Array, pt: Uint8Array, out: Uint8Array, off: number): number {
    const key = aead.key(k);
    k.fill(0);
    const dst = out.subarray(off, off + pt.length + TAG_LEN);
    const n = key.seal(0, pt, this.h, dst);
    key.dispose();
    this.mixHash(dst);
    return n;
  }

  /** Opens `ct` with `k` (counter 0, ad = h) and mixes it; the plaintext or null. */
  decryptAndHash(aead: AeadBackend, k: Uint8Array, ct: Uint8Array): Uint8Array | null {
    const key = aead.key(k);
    k.fill(0);
    const pt = new Uint8Array(Math.max(0, ct.length - TAG_LEN));
    const n = key.open(0, ct, this.h, pt);
    key.dispose();
    if (n < 0) return null;
    this.mixHash(ct);
    return pt;
  }

  /** Zeroes the chaining key (the hash is public transcript data). */
  wipe(): void {
    this.ck.fill(0);
  }
}

/** Bytes message 1 takes from `off` for a payload of `n` bytes: e, encrypted s, encrypted payload. */
export function initiationLength(n: number): number {
  return KEY_LEN + KEY_LEN + TAG_LEN + n + TAG_LEN;
}

/** Bytes message 2 takes from `off` for a payload of `n` bytes: e, encrypted payload. */
export function responseLength(n: number): number {
  return KEY_LEN + n + TAG_LEN;
}

/**
 * Initiator, message 1: writes e || AEAD(s) || AEAD(payload) at out[off..]. Returns the state
 * for {@link readResponse}, or null when a DH result is all zeros.
 */
export function writeInitiation(
  start: NoiseStart,
  aead: AeadBackend,
  me: StaticIdentity,
  peer: RemoteIdentity,
  e: X25519PrivateKey,
  payload: Uint8Array,
  out: Uint8Array,
  off: number,
): InitiatorHandshake | null {
  const s = new Symmetric(start.chainingKey.slice(), hash(start.hash, peer.publicKey));
  out.set(e.publicKey, off);
  s.mixHash(e.publicKey);
  s.mixKey(e.publicKey);
  const k1 = s.mixDh(sharedSecretWith(e, peer.publicKey));
  if (k1 === null) return wiped(s);
  s.encryptAndHash(aead, k1, me.publicKey, out, off + KEY_LEN);
  const k2 = s.mixDh(peer.staticShared === null ? null : peer.staticShared.slice());
  if (k2 === null) return wiped(s);
  s.encryptAndHash(aead, k2, payload, out, off + KEY_LEN + KEY_LEN + TAG_LEN);
  return { chainingKey: s.ck, hash: s.h, ephemeral: e };
}

function wiped(s: Symmetric): null {
  s.wipe();
  return null;
}

/**
 * Responder, message 1 at msg[off..] with a payload of `payloadLength` bytes. Decrypts the
 * initiator's static key, asks `lookup` for the matching peer (null = unknown: stop), then
 * authenticates the payload with the peer's precomputed static-static DH. Null on any failure.
 */
export function readInitiation<P extends RemoteIdentity>(
  start: NoiseStart,
  aead: AeadBackend,
  me: StaticIdentity,
  msg: Uint8Array,
  off: number,
  payloadLength: number,
  lookup: (remoteStatic: Uint8Array) => P | null,
): ConsumedInitiation<P> | null {
  if (msg.length < off + initiationLength(payloadLength)) return null;
  const s = new Symmetric(start.chainingKey.slice(), hash(start.hash, me.publicKey));
  const re = msg.slice(off, off + KEY_LEN);
  s.mixHash(re);
  s.mixKey(re);
  const k1 = s.mixDh(sharedSecretWith(me.privateKey, re));
  if (k1 === null) return wiped(s);
  const staticEnd = off + KEY_LEN + KEY_LEN + TAG_LEN;
  const remoteStatic = s.decryptAndHash(aead, k1, msg.subarray(off + KEY_LEN, staticEnd));
  if (remoteStatic === null) return wiped(s);
  const peer = lookup(remoteStatic);
  if (peer === null || peer.staticShared === null) return wiped(s);
  const k2 = s.mixDh(peer.staticShared.slice());
  if (k2 === null) return wiped(s);
  const payload = s.decryptAndHash(aead, k2, msg.subarray(staticEnd, staticEnd + payloadLength + TAG_LEN));
  if (payload === null) return wiped(s);
  return { peer, remoteStatic, remoteEphemeral: re, payload, chainingKey: s.ck, hash: s.h };
}

/**
 * Responder, message 2: writes e || AEAD(payload) at out[off..] and derives the transport keys.
 * Zeroes the consumed state's chaining key. Null when a DH result is all zeros.
 */
export function writeResponse(
  aead: AeadBackend,
  consumed: ConsumedInitiation<RemoteIdentity>,
  e: X25519PrivateKey,
  payload: Uint8Array,
  out: Uint8Array,
  off: number,
): SessionKeys | null {
  const s = new Symmetric(consumed.chainingKey, consumed.hash);
  out.set(e.publicKey, off);
  s.mixHash(e.publicKey);
  s.mixKey(e.publicKey);
  if (!s.mixDhOnly(sharedSecretWith(e, consumed.remoteEphemeral))) return wiped(s);
  if (!s.mixDhOnly(sharedSecretWith(e, consumed.peer.publicKey))) return wiped(s);
  const k = s.mixPsk(consumed.peer.presharedKey);
  s.encryptAndHash(aead, k, payload, out, off + KEY_LEN);
  const [receiveKey, sendKey] = kdf2(s.ck, EMPTY);
  s.wipe();
  return { sendKey, receiveKey, hash: s.h };
}

/**
 * Initiator, message 2 at msg[off..] with a payload of `payloadLength` bytes: finishes the DH
 * chain, authenticates the transcript and derives the transport keys, or returns null. The
 * handshake state is left untouched on failure (a forged response must not spoil it).
 */
export function readResponse(
  aead: AeadBackend,
  state: InitiatorHandshake,
  me: StaticIdentity,
  peer: RemoteIdentity,
  msg: Uint8Array,
  off: number,
  payloadLength: number,
): (SessionKeys & { payload: Uint8Array }) | null {
  if (msg.length < off + responseLength(payloadLength)) return null;
  const s = new Symmetric(state.chainingKey.slice(), state.hash);
  const re = msg.subarray(off, off + KEY_LEN);
  s.mixHash(re);
  s.mixKey(re);
  if (!s.mixDhOnly(sharedSecretWith(state.ephemeral, re))) return wiped(s);
  if (!s.mixDhOnly(sharedSecretWith(me.privateKey, re))) return wiped(s);
  const k = s.mixPsk(peer.presharedKey);
  const payload = s.decryptAndHash(aead, k, msg.subarray(off + KEY_LEN, off + KEY_LEN + payloadLength + TAG_LEN));
  if (payload === null) return wiped(s);
  const [sendKey, receiveKey] = kdf2(s.ck, EMPTY);
  s.wipe();
  return { sendKey, receiveKey, hash: s.h, payload };
}

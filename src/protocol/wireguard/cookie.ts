/**
 * @module protocol/wireguard/cookie
 * mac1, mac2 and cookie replies (paper 5.3, 5.4.4, 5.4.7): WireGuard's DoS defence.
 *
 * - Every initiation and response ends in mac1 = MAC(HASH("mac1----" || receiver's public key),
 *   message up to mac1). Without the receiver's public key nobody can make one, so a responder
 *   checks it first (one keyed BLAKE2s) and stays silent when it is wrong.
 * - Under load (the caller decides when) a responder also wants mac2 = MAC(cookie, message up to
 *   mac2), where cookie = MAC(secret, sender's IP and port) and the secret changes every two
 *   minutes. A message without a valid mac2 gets a cookie reply instead of a handshake: the
 *   cookie, sealed with XChaCha20-Poly1305 under HASH("cookie--" || responder's public key),
 *   a random nonce and the message's mac1 as associated data.
 *
 * {@link CookieChecker} is the receiving side (one per device, keyed by our own public key);
 * {@link CookieGenerator} the sending side (one per peer, keyed by the peer's public key).
 * Times are the caller's monotonic milliseconds.
 */

import { hash, mac } from "../../crypto/blake2s.ts";
import { xchacha20poly1305Open, xchacha20poly1305Seal } from "../../crypto/xchacha.ts";
import {
  COOKIE_OFF_COOKIE,
  COOKIE_OFF_NONCE,
  COOKIE_OFF_RECEIVER,
  COOKIE_REFRESH_TIME,
  COOKIE_REPLY_SIZE,
  KEY_LEN,
  LABEL_COOKIE,
  LABEL_MAC1,
  MAC_LEN,
  TYPE_COOKIE_REPLY,
  XNONCE_LEN,
} from "./constants.ts";
import { writeType, writeU32 } from "./messages.ts";

/** Fills the array with cryptographically strong random bytes. */
export type RandomFill = (out: Uint8Array) => void;

const utf8 = new TextEncoder();

/** Constant-time equality of a[aOff, aOff + n) and b[0, n). */
export function equalAt(a: Uint8Array, aOff: number, b: Uint8Array, n: number): boolean {
  if (a.length < aOff + n || b.length < n) return false;
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= (a[aOff + i] as number) ^ (b[i] as number);
  return diff === 0;
}

function labelKey(label: string, publicKey: Uint8Array): Uint8Array {
  return hash(utf8.encode(label), publicKey);
}

/** Offset of mac1 in a message whose last 32 bytes are mac1 || mac2. */
function mac1Offset(msg: Uint8Array): number {
  return msg.length - 2 * MAC_LEN;
}

/** The receiving side: checks mac1/mac2 of messages sent to us and makes cookie replies. */
export class CookieChecker {
  readonly #mac1Key: Uint8Array;
  readonly #replyKey: Uint8Array;
  readonly #secret = new Uint8Array(KEY_LEN);
  #secretSetAt = Number.NEGATIVE_INFINITY;
  readonly #source = new Uint8Array(64);

  /** `publicKey` is our static public key. */
  constructor(
    publicKey: Uint8Array,
    private readonly random: RandomFill,
  ) {
    this.#mac1Key = labelKey(LABEL_MAC1, publicKey);
    this.#replyKey = labelKey(LABEL_COOKIE, publicKey);
  }

  /** Is mac1 of this initiation or response right? (Length checked by the caller.) */
  checkMac1(msg: Uint8Array): boolean {
    const off = mac1Offset(msg);
    return off > 0 && equalAt(msg, off, mac(this.#mac1Key, msg.subarray(0, off)), MAC_LEN);
  }

  /** Is mac2 right for a sender at `address`:`port`, with a cookie secret younger than two minutes? */
  checkMac2(msg: Uint8Array, address: string, port: number, now: number): boolean {
    if (now - this.#secretSetAt > COOKIE_REFRESH_TIME) return false;
    const off = mac1Offset(msg) + MAC_LEN;
    const cookie = this.#cookie(address, port);
    return equalAt(msg, off, mac(cookie, msg.subarray(0, off)), MAC_LEN);
  }

  /** A 64-byte cookie reply to `msg` (whose sender index is `receiver`), renewing the secret when stale. */
  createReply(msg: Uint8Array, receiver: number, address: string, port: number, now: number): Uint8Array {
    if (now - this.#secretSetAt > COOKIE_REFRESH_TIME) {
      this.random(this.#secret);
      this.#secretSetAt = now;
    }
    const off = mac1Offset(msg);
    const out = new Uint8Array(COOKIE_REPLY_SIZE);
    writeType(out, TYPE_COOKIE_REPLY);
    writeU32(out, COOKIE_OFF_RECEIVER, receiver);
    const nonce = out.subarray(COOKIE_OFF_NONCE, COOKIE_OFF_NONCE + XNONCE_LEN);
    this.random(nonce);
    const sealed = xchacha20poly1305Seal(this.#replyKey, nonce, this.#cookie(address, port), msg.subarray(off, off + MAC_LEN));
    out.set(sealed, COOKIE_OFF_COOKIE);
    return out;
  }

  /** MAC(secret, address text || port), the cookie for one source. */
  #cookie(address: string, port: number): Uint8Array {
    const { written } = utf8.encodeInto(address, this.#source.subarray(0, this.#source.length - 2));
    this.#source[written] = port >>> 8;
    this.#source[written + 1] = port;
    return mac(this.#secret, this.#source.subarray(0, written + 2));
  }
}

/** The sending side for one peer: adds mac1/mac2 to our messages and takes the peer's cookie replies. */
export class CookieGenerator {
  readonly #mac1Key: Uint8Array;
  readonly #replyKey: Uint8Array;
  readonly #cookie = new Uint8Array(MAC_LEN);
  #cookieSetAt = Number.NEGATIVE_INFINITY;
  readonly #lastMac1 = new Uint8Array(MAC_LEN);
  #hasLastMac1 = false;

  /** `publicKey` is the peer's static public key. */
  constructor(publicKey: Uint8Array) {
    this.#mac1Key = labelKey(LABEL_MAC1, publicKey);
    this.#replyKey = labelKey(LABEL_COOKIE, publicKey);
  }

  /** Writes mac1, and mac2 when we hold a cookie younger than two minutes (else zeros), into `msg`. */
  addMacs(msg: Uint8Array, now: number): void {
    const off = mac1Offset(msg);
    const mac1 = mac(this.#mac1Key, msg.subarray(0, off));
    msg.set(mac1, off);
    this.#lastMac1.set(mac1);
    this.#hasLastMac1 = true;
    if (now - this.#cookieSetAt > COOKIE_REFRESH_TIME) {
      msg.fill(0, off + MAC_LEN, off + 2 * MAC_LEN);
      return;
    }
    msg.set(mac(this.#cookie, msg.subarray(0, off + MAC_LEN)), off + MAC_LEN);
  }

  /** Takes a cookie reply to our last message; false when it does not decrypt. */
  consumeReply(reply: Uint8Array, now: number): boolean {
    if (!this.#hasLastMac1 || reply.length !== COOKIE_REPLY_SIZE) return false;
    const nonce = reply.subarray(COOKIE_OFF_NONCE, COOKIE_OFF_COOKIE);
    const cookie = xchacha20poly1305Open(this.#replyKey, nonce, reply.subarray(COOKIE_OFF_COOKIE), this.#lastMac1);
    if (cookie === null || cookie.length !== MAC_LEN) return false;
    this.#cookie.set(cookie);
    this.#cookieSetAt = now;
    return true;
  }

  /** Whether a cookie younger than two minutes is held (for status and tests). */
  hasCookie(now: number): boolean {
    return now - this.#cookieSetAt <= COOKIE_REFRESH_TIME;
  }
}

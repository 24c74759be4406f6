/**
 * @module protocol/wireguard/transport
 * Transport data messages (paper 5.4.6) on caller-owned buffers: seal an IP packet into
 * `type 4 | receiver | counter | AEAD(padded packet)` and open one in place, with the AEAD's
 * in-place calls: no allocation, not even a view. The plaintext is padded
 * with zeros to a multiple of 16, capped at the MTU; the receiver finds the real packet's end
 * from its IPv4 total length or IPv6 payload length.
 */

import { PADDING_MULTIPLE, TAG_LEN, TRANSPORT_OFF_CONTENT, TRANSPORT_OFF_COUNTER } from "./constants.ts";
import type { Keypair } from "./keypair.ts";
import { readCounter, writeTransportHeader } from "./messages.ts";

const IPV4_MIN_HEADER = 20;
const IPV4_TOTAL_LENGTH_OFF = 2;
const IPV6_HEADER = 40;
const IPV6_PAYLOAD_LENGTH_OFF = 4;

/** Plaintext length after padding `n` bytes (0 stays 0: a keepalive); `mtu` 0 = no cap. */
export function paddedLength(n: number, mtu: number): number {
  const padded = n + ((PADDING_MULTIPLE - (n % PADDING_MULTIPLE)) % PADDING_MULTIPLE);
  if (mtu <= 0 || n > mtu) return padded;
  return Math.min(padded, mtu);
}

/** Bytes a transport message for an `n`-byte packet takes. */
export function transportLength(n: number, mtu: number): number {
  return TRANSPORT_OFF_CONTENT + paddedLength(n, mtu) + TAG_LEN;
}

/**
 * Seals `packet` with `kp`'s next send counter into `out` (header + ciphertext + tag) and
 * returns the message length, or -1 when `out` is too small (no counter used) or the keypair's
 * shared counter ran out. The caller checked the counter
 * limit and the keypair's age first. `packet` may not overlap `out`.
 */
export function sealTransport(kp: Keypair, packet: Uint8Array, out: Uint8Array, mtu: number): number {
  const n = packet.length;
  const padded = paddedLength(n, mtu);
  const total = TRANSPORT_OFF_CONTENT + padded + TAG_LEN;
  if (out.length < total) return -1;
  const counter = kp.takeCounter();
  if (counter < 0) return -1; // a shared counter ran out (sendingKeypair refuses it from now on)
  writeTransportHeader(out, kp.remoteIndex, counter);
  out.set(packet, TRANSPORT_OFF_CONTENT);
  out.fill(0, TRANSPORT_OFF_CONTENT + n, TRANSPORT_OFF_CONTENT + padded);
  kp.send.sealInPlace(counter, out, TRANSPORT_OFF_CONTENT, padded);
  return total;
}

/** Why {@link openTransport} refused a message. */
export const OPEN_REPLAY = -2;
/** The tag did not verify. */
export const OPEN_DECRYPT = -1;

/**
 * Opens the transport message `msg` in place with `kp`: checks the counter against the replay
 * window and `limit` (cheap, before decrypting), authenticates and decrypts, then records the
 * counter. Returns the padded plaintext length (0 = keepalive; the plaintext starts at
 * {@link TRANSPORT_OFF_CONTENT}), {@link OPEN_REPLAY} or {@link OPEN_DECRYPT}.
 */
export function openTransport(kp: Keypair, msg: Uint8Array, limit: number): number {
  const counter = readCounter(msg, TRANSPORT_OFF_COUNTER);
  if (!kp.replay.check(counter, limit)) return OPEN_REPLAY;
  const n = kp.receive.openInPlace(counter, msg, TRANSPORT_OFF_CONTENT, msg.length - TRANSPORT_OFF_CONTENT);
  if (n < 0) return OPEN_DECRYPT;
  if (!kp.replay.accept(counter, limit)) return OPEN_REPLAY;
  return n;
}

/**
 * Length of the IP packet at msg[off, off + n) from its own header (padding stripped), or -1
 * when it is not a well-formed IPv4/IPv6 packet that fits in `n` bytes.
 */
export function innerPacketLength(msg: Uint8Array, off: number, n: number): number {
  if (n < 1) return -1;
  const version = (msg[off] as number) >>> 4;
  let len: number;
  if (version === 4) {
    if (n < IPV4_MIN_HEADER) return -1;
    len = ((msg[off + IPV4_TOTAL_LENGTH_OFF] as number) << 8) | (msg[off + IPV4_TOTAL_LENGTH_OFF + 1] as number);
    if (len < IPV4_MIN_HEADER) return -1;
  } else if (version === 6) {
    if (n < IPV6_HEADER) return -1;
    len = IPV6_HEADER + (((msg[off + IPV6_PAYLOAD_LENGTH_OFF] as number) << 8) | (msg[off + IPV6_PAYLOAD_LENGTH_OFF + 1] as number));
  } else {
    return -1;
  }
  return len <= n ? len : -1;
}

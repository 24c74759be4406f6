/**
 * @module protocol/wireguard/peer-handshake
 * The handshake half of a peer: WireGuard framing around `noise.ts`. Builds our initiation
 * (fresh index, ephemeral key and TAI64N timestamp, then mac1/mac2), reads the response to it,
 * and answers a peer's initiation after the replay and flood checks (paper 5.1: a timestamp
 * must be newer than the last one seen; at most one initiation per 20 ms). Each completed
 * handshake installs a {@link Keypair} on the peer and points its receiver index at it.
 */

import {
  HANDSHAKE_INITIATION_RATE,
  INIT_OFF_EPHEMERAL,
  INITIATION_SIZE,
  OFF_SENDER,
  RESP_OFF_EPHEMERAL,
  RESP_OFF_RECEIVER,
  RESPONSE_SIZE,
  TIMESTAMP_LEN,
  TYPE_INITIATION,
  TYPE_RESPONSE,
} from "./constants.ts";
import { Keypair, type KeypairShareHook } from "./keypair.ts";
import { readU32, writeType, writeU32 } from "./messages.ts";
import {
  readResponse,
  writeInitiation,
  writeResponse,
  type ConsumedInitiation,
  type RemoteIdentity,
  type InitiatorHandshake,
} from "./noise.ts";
import type { PeerContext } from "./context.ts";
import type { CookieGenerator } from "./cookie.ts";
import type { ReceiveDrop } from "./results.ts";
import { compareTai64n, tai64n } from "./tai64n.ts";

const EMPTY = new Uint8Array(0);

/** A peer's handshake bookkeeping; owned by the peer. */
export class PeerHandshake {
  /** Our initiation waiting for its response (null when none). */
  pending: InitiatorHandshake | null = null;
  /** Receiver index of {@link pending}. */
  pendingIndex = 0;
  /** When we last sent an initiation or a response (monotonic ms). */
  lastSentAt = Number.NEGATIVE_INFINITY;
  /** Greatest TAI64N timestamp accepted from the peer. */
  readonly lastTimestamp = new Uint8Array(TIMESTAMP_LEN);
  /** When we last accepted an initiation from the peer. */
  lastInitiationAt = Number.NEGATIVE_INFINITY;

  /** Abandons the pending initiation and frees its index. */
  clear(ctx: PeerContext<never>): void {
    if (this.pending !== null) {
      this.pending.chainingKey.fill(0);
      ctx.freeIndex(this.pendingIndex);
    }
    this.pending = null;
    this.pendingIndex = 0;
  }
}

/** What the handshake steps need of a peer (peer.ts's Peer is one). */
export interface HandshakePeer extends RemoteIdentity {
  readonly ctx: PeerContext<this>;
  readonly handshake: PeerHandshake;
  readonly cookies: Pick<CookieGenerator, "addMacs">;
  readonly keypairs: { install(kp: Keypair): void };
}

/** The keypair hook that shows `peer`'s new keys to its device (PeerContext.shareKeys). */
function shareHook(peer: HandshakePeer): KeypairShareHook {
  return (kp, send, receive) => peer.ctx.shareKeys(peer, kp, send, receive);
}

/** Builds a 148-byte initiation to `peer` and makes it the pending handshake; null when the keys are unusable. */
export function beginInitiation(peer: HandshakePeer, now: number): Uint8Array | null {
  const { ctx, handshake } = peer;
  handshake.clear(ctx);
  handshake.lastSentAt = now;
  const msg = new Uint8Array(INITIATION_SIZE);
  writeType(msg, TYPE_INITIATION);
  const index = ctx.newIndex(peer);
  writeU32(msg, OFF_SENDER, index);
  const timestamp = tai64n(ctx.wallClock());
  const e = ctx.newEphemeral();
  const state = writeInitiation(ctx.start, ctx.aead, ctx.identity, peer, e, timestamp, msg, INIT_OFF_EPHEMERAL);
  if (state === null) {
    ctx.freeIndex(index);
    return null;
  }
  peer.cookies.addMacs(msg, now);
  handshake.pending = state;
  handshake.pendingIndex = index;
  return msg;
}

/** Reads the response (mac1 already checked) to our pending initiation `index`; true when keys were installed. */
export function finishInitiation(peer: HandshakePeer, msg: Uint8Array, index: number, now: number): boolean {
  const { ctx, handshake } = peer;
  const state = handshake.pending;
  if (state === null || handshake.pendingIndex !== index || readU32(msg, RESP_OFF_RECEIVER) !== index) return false;
  const keys = readResponse(ctx.aead, state, ctx.identity, peer, msg, RESP_OFF_EPHEMERAL, 0);
  if (keys === null) return false;
  state.chainingKey.fill(0);
  handshake.pending = null;
  handshake.pendingIndex = 0;
  const kp = new Keypair(ctx.aead, keys.sendKey, keys.receiveKey, index, readU32(msg, OFF_SENDER), true, now, shareHook(peer));
  ctx.bindIndex(index, kp);
  peer.keypairs.install(kp);
  return true;
}

/**
 * Answers an initiation from `peer` (already authenticated by `noise.readInitiation`): checks
 * its timestamp and rate, then returns the 92-byte response with a new keypair installed as
 * `next`, or the reason to drop it.
 */
export function respond<P extends HandshakePeer>(
  peer: P,
  consumed: ConsumedInitiation<P>,
  senderIndex: number,
  now: number,
): Uint8Array | ReceiveDrop {
  const { ctx, handshake } = peer;
  if (consumed.payload.length !== TIMESTAMP_LEN || compareTai64n(consumed.payload, handshake.lastTimestamp) <= 0) {
    return "handshake-replay";
  }
  if (now - handshake.lastInitiationAt <= HANDSHAKE_INITIATION_RATE) return "handshake-flood";
  handshake.lastTimestamp.set(consumed.payload);
  handshake.lastInitiationAt = now;
  handshake.clear(ctx);
  handshake.lastSentAt = now;
  const msg = new Uint8Array(RESPONSE_SIZE);
  writeType(msg, TYPE_RESPONSE);
  const index = ctx.newIndex(peer);
  writeU32(msg, OFF_SENDER, index);
  writeU32(msg, RESP_OFF_RECEIVER, senderIndex);
  const keys = writeResponse(ctx.aead, consumed, ctx.newEphemeral(), EMPTY, msg, RESP_OFF_EPHEMERAL);
  if (keys === null) {
    ctx.freeIndex(index);
    return "handshake";
  }
  peer.cookies.addMacs(msg, now);
  const kp = new Keypair(ctx.aead, keys.sendKey, keys.receiveKey, index, senderIndex, false, now, shareHook(peer));
  ctx.bindIndex(index, kp);
  peer.keypairs.install(kp);
  return msg;
}

/**
 * @module protocol/wireguard/timers
 * One peer's five protocol timers (paper 6.2-6.5, as wireguard-go and Linux run them) as
 * deadlines in milliseconds instead of OS timers. The peer reports events (`dataSent`,
 * `handshakeInitiated`, ...); `expire(now)` returns the timers that fell due as a bit set and
 * disarms them, and the peer acts on each bit. Jitter comes from an injected function.
 *
 * | timer               | armed by                                    | on expiry                       |
 * |---------------------|---------------------------------------------|---------------------------------|
 * | retransmitHandshake | initiation sent (REKEY_TIMEOUT + jitter)    | retry, or give up after 18      |
 * | sendKeepalive       | data received (KEEPALIVE_TIMEOUT)           | passive keepalive               |
 * | newHandshake        | data sent, if unanswered (KEEPALIVE + REKEY_TIMEOUT + jitter) | new initiation |
 * | zeroKeyMaterial     | session derived (3 * REJECT_AFTER_TIME)     | erase every key                 |
 * | persistentKeepalive | any authenticated packet in or out          | keepalive                       |
 */

import { KEEPALIVE_TIMEOUT, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX, ZERO_KEYS_AFTER } from "./constants.ts";

/** Bits of {@link PeerTimers.expire}'s result. */
export const Timer = {
  RetransmitHandshake: 1,
  SendKeepalive: 2,
  NewHandshake: 4,
  ZeroKeyMaterial: 8,
  PersistentKeepalive: 16,
} as const;

const OFF = Number.POSITIVE_INFINITY;

/** Deadlines of one peer; owned by that peer. `jitter()` returns a whole number of ms in [0, 334). */
export class PeerTimers {
  retransmitAt = OFF;
  keepaliveAt = OFF;
  newHandshakeAt = OFF;
  zeroKeysAt = OFF;
  persistentAt = OFF;
  /** Retries of the current handshake attempt. */
  handshakeAttempts = 0;
  /** Data arrived while a passive keepalive was already pending. */
  needAnotherKeepalive = false;
  /** The initiator already tried to rekey before REJECT_AFTER_TIME ran out. */
  sentLastMinuteHandshake = false;
  /** Persistent keepalive interval in ms; 0 = off. */
  persistentInterval = 0;

  constructor(private readonly jitter: () => number) {}

  /** After an authenticated data packet was sent. */
  dataSent(now: number): void {
    if (this.newHandshakeAt === OFF) this.newHandshakeAt = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + this.#jitter();
  }

  /** After an authenticated data packet was received. */
  dataReceived(now: number): void {
    if (this.keepaliveAt === OFF) this.keepaliveAt = now + KEEPALIVE_TIMEOUT;
    else this.needAnotherKeepalive = true;
  }

  /** After any authenticated packet was sent: keepalive, data or handshake. */
  anyAuthenticatedSent(): void {
    this.keepaliveAt = OFF;
  }

  /** After any authenticated packet was received: keepalive, data or handshake. */
  anyAuthenticatedReceived(): void {
    this.newHandshakeAt = OFF;
  }

  /** Before any authenticated packet is sent, or after one was received. */
  anyAuthenticatedTraversal(now: number): void {
    if (this.persistentInterval > 0) this.persistentAt = now + this.persistentInterval;
  }

  /**
   * Authenticated messages another thread moved (the fast data path), reported afterwards:
   * the last one received, the last received with data, the last data sent (NaN: none). They
   * are applied in time order, so a reply after a send stops the handshake timer it started.
   */
  replay(rxAt: number, rxDataAt: number, txAt: number): void {
    const rx = (): void => {
      if (!(rxAt >= 0)) return;
      this.anyAuthenticatedTraversal(rxAt);
      this.anyAuthenticatedReceived();
      if (rxDataAt >= 0) this.dataReceived(rxDataAt);
    };
    const tx = (): void => {
      if (!(txAt >= 0)) return;
      this.anyAuthenticatedTraversal(txAt);
      this.anyAuthenticatedSent();
      this.dataSent(txAt);
    };
    if (txAt > rxAt) {
      rx();
      tx();
    } else {
      tx();
      rx();
    }
  }

  /** After an initiation was sent. */
  handshakeInitiated(now: number): void {
    this.retransmitAt = now + REKEY_TIMEOUT + this.#jitter();
  }

  /** After a response was consumed, or the first packet under a responder's new keypair arrived. */
  handshakeComplete(): void {
    this.retransmitAt = OFF;
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** After new transport keys were derived. */
  sessionDerived(now: number): void {
    this.zeroKeysAt = now + ZERO_KEYS_AFTER;
  }

  /** Arms key erasure unless already armed (after giving up on a handshake). */
  zeroKeysSoon(now: number): void {
    if (this.zeroKeysAt === OFF) this.zeroKeysAt = now + ZERO_KEYS_AFTER;
  }

  /** Re-arms the passive keepalive after it fired, when more data came in meanwhile. */
  keepaliveSent(now: number): void {
    if (this.needAnotherKeepalive) {
      this.needAnotherKeepalive = false;
      this.keepaliveAt = now + KEEPALIVE_TIMEOUT;
    }
  }

  /** Stops the passive keepalive and the retransmissions (giving up). */
  stopKeepalive(): void {
    this.keepaliveAt = OFF;
  }

  /** Disarms everything (the peer was removed or zeroed). */
  clear(): void {
    this.retransmitAt = this.keepaliveAt = this.newHandshakeAt = this.zeroKeysAt = this.persistentAt = OFF;
    this.handshakeAttempts = 0;
    this.needAnotherKeepalive = false;
    this.sentLastMinuteHandshake = false;
  }

  /** Earliest armed deadline (Infinity when none), for callers that schedule ticks. */
  next(): number {
    return Math.min(this.retransmitAt, this.keepaliveAt, this.newHandshakeAt, this.zeroKeysAt, this.persistentAt);
  }

  /** Disarms and returns (as {@link Timer} bits) every timer due at `now`. */
  expire(now: number): number {
    let due = 0;
    if (this.retransmitAt <= now) {
      this.retransmitAt = OFF;
      due |= Timer.RetransmitHandshake;
    }
    if (this.keepaliveAt <= now) {
      this.keepaliveAt = OFF;
      due |= Timer.SendKeepalive;
    }
    if (this.newHandshakeAt <= now) {
      this.newHandshakeAt = OFF;
      due |= Timer.NewHandshake;
    }
    if (this.zeroKeysAt <= now) {
      this.zeroKeysAt = OFF;
      due |= Timer.ZeroKeyMaterial;
    }
    if (this.persistentAt <= now) {
      this.persistentAt = OFF;
      due |= Timer.PersistentKeepalive;
    }
    return due;
  }

  #jitter(): number {
    const j = Math.floor(this.jitter());
    return j >= 0 && j < REKEY_TIMEOUT_JITTER_MAX ? j : 0;
  }
}

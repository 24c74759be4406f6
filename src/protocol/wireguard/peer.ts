/**
 * @module protocol/wireguard/peer
 * One peer's state machine, pure in the manner of boringtun's `Tunn`: keypairs
 * (current/previous/next), the pending initiation, staged packets, the five timers, the
 * endpoint and the cookie state. Bytes and `now` go in; results and outbox entries come out.
 * The owning device (see `device.ts`) routes received messages here by receiver index or
 * static key, and provides indices, keys and randomness through {@link PeerContext}.
 *
 * Sending (`encapsulate`): no usable keypair -> stage a copy and start a handshake; otherwise
 * seal into the caller's buffer, then check whether it is time to rekey.
 * Receiving (`receiveTransport`): replay pre-check, decrypt in place, record the counter,
 * confirm a responder's next keypair, note roaming, feed the timers.
 */

import {
  INITIATION_SIZE,
  KEEPALIVE_TIMEOUT,
  MAX_STAGED_PACKETS,
  MAX_TIMER_HANDSHAKES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
  TRANSPORT_OFF_CONTENT,
} from "./constants.ts";
import type { PeerContext } from "./context.ts";
import { CookieGenerator } from "./cookie.ts";
import { Keypair, Keypairs } from "./keypair.ts";
import type { ConsumedInitiation, RemoteIdentity } from "./noise.ts";
import type { Received, Sent } from "./results.ts";
import { PeerTimers, Timer } from "./timers.ts";
import { innerPacketLength, OPEN_DECRYPT, openTransport, sealTransport, transportLength } from "./transport.ts";
import { beginInitiation, finishInitiation, PeerHandshake, respond } from "./peer-handshake.ts";

/** One configured peer. Create through `Device.addPeer`. */
export class Peer implements RemoteIdentity {
  /** Remote address of the last authenticated packet (or the configured one); null = unknown. */
  address: string | null = null;
  /** Remote port that goes with {@link address}. */
  port = 0;
  /** Monotonic ms of the last completed handshake (-Infinity = never). */
  lastHandshakeAt = Number.NEGATIVE_INFINITY;
  /** Bytes of authenticated messages received / sent. */
  rxBytes = 0;
  txBytes = 0;
  readonly timers: PeerTimers;
  readonly keypairs: Keypairs;
  readonly cookies: CookieGenerator;
  /** Handshake state shared with `peer-handshake.ts`. */
  readonly handshake = new PeerHandshake();
  readonly #staged: Uint8Array[] = [];

  /** `staticShared` = DH(our static key, `publicKey`), precomputed by the device. */
  constructor(
    readonly ctx: PeerContext<Peer>,
    readonly publicKey: Uint8Array,
    readonly presharedKey: Uint8Array,
    readonly staticShared: Uint8Array | null,
  ) {
    this.timers = new PeerTimers(() => ctx.jitter());
    this.keypairs = new Keypairs((k) => {
      ctx.freeIndex(k.localIndex);
      k.dispose();
    });
    this.cookies = new CookieGenerator(publicKey);
  }

  /** Persistent keepalive interval in seconds (0 = off). */
  set persistentKeepalive(seconds: number) {
    this.timers.persistentInterval = Math.max(0, Math.floor(seconds)) * 1000;
  }

  /** Packets waiting for a handshake. */
  get stagedCount(): number {
    return this.#staged.length;
  }

  /** The keypair to send with now, or null when there is none, it is too old or used up. */
  sendingKeypair(now: number): Keypair | null {
    const kp = this.keypairs.current;
    if (kp === null || kp.sendCounter >= kp.counterLimit(this.ctx.limits.rejectAfterMessages)) return null;
    return now - kp.createdAt < REJECT_AFTER_TIME ? kp : null;
  }

  /**
   * Seals `packet` (an IP packet, or empty for a keepalive) into `out` for this peer; see
   * {@link Sent}. Zero allocation when a keypair is ready and nothing is staged.
   */
  encapsulate(packet: Uint8Array, now: number, out: Uint8Array): Sent {
    const res = this.ctx.sent;
    if (this.address === null) return res.drop("no-endpoint");
    if (transportLength(packet.length, this.ctx.limits.mtu) > 65535) return res.drop("too-big");
    if (this.#staged.length > 0) this.sendStaged(now);
    const kp = this.#staged.length === 0 ? this.sendingKeypair(now) : null;
    if (kp === null) {
      this.#stage(packet.slice());
      this.initiate(now, false);
      res.kind = "queued";
      res.reason = "none";
      return res;
    }
    const n = sealTransport(kp, packet, out, this.ctx.limits.mtu);
    if (n < 0) return res.drop("buffer-too-small"); // no counter was used
    this.#sent(n, packet.length, now);
    res.kind = "send";
    res.reason = "none";
    res.length = n;
    res.address = this.address;
    res.port = this.port;
    this.#keepKeyFreshSending(now);
    return res;
  }

  /** Sends staged packets, or a keepalive when none are staged (starting a handshake when needed). */
  sendKeepalive(now: number): void {
    if (this.#staged.length === 0) this.#stage(new Uint8Array(0));
    this.sendStaged(now);
  }

  /** Seals every staged packet into the outbox, or starts a handshake when no keypair is usable. */
  sendStaged(now: number): void {
    const kp = this.sendingKeypair(now);
    if (kp === null || this.address === null) {
      this.initiate(now, false);
      return;
    }
    const limit = kp.counterLimit(this.ctx.limits.rejectAfterMessages);
    let sent = 0;
    for (const p of this.#staged) {
      if (kp.sendCounter >= limit) break;
      const data = new Uint8Array(transportLength(p.length, this.ctx.limits.mtu));
      const n = sealTransport(kp, p, data, this.ctx.limits.mtu);
      this.#sent(n, p.length, now);
      this.ctx.emit({ peer: this, data, address: this.address, port: this.port });
      sent++;
    }
    this.#staged.splice(0, sent);
    if (this.#staged.length > 0) this.initiate(now, false); // the keypair ran out of counters
    else this.#keepKeyFreshSending(now);
  }

  /** Starts a handshake unless one was sent less than REKEY_TIMEOUT ago (or no endpoint is known). */
  initiate(now: number, isRetry: boolean): void {
    if (!isRetry) this.timers.handshakeAttempts = 0;
    if (now - this.handshake.lastSentAt < REKEY_TIMEOUT || this.address === null) return;
    const data = beginInitiation(this, now);
    if (data === null) return;
    this.timers.anyAuthenticatedTraversal(now);
    this.timers.anyAuthenticatedSent();
    this.ctx.emit({ peer: this, data, address: this.address, port: this.port });
    this.timers.handshakeInitiated(now);
  }

  /** A transport message for `kp` (found by its receiver index) from `address`:`port`: decrypts in place, fills `res`. */
  receiveTransport(kp: Keypair, msg: Uint8Array, address: string, port: number, now: number, res: Received<Peer>): void {
    if (now - kp.createdAt > REJECT_AFTER_TIME) return void res.drop("expired-key");
    const n = openTransport(kp, msg, this.ctx.limits.rejectAfterMessages);
    if (n < 0) return void res.drop(n === OPEN_DECRYPT ? "decrypt" : "replay");
    this.opened(kp, msg, n, address, port, now, res);
  }

  /**
   * A message for `kp` already opened in place (counter recorded; `n` = padded plaintext length)
   * by {@link receiveTransport}, or by a fast data path worker that handed it over. Fills `res`.
   */
  opened(kp: Keypair, msg: Uint8Array, n: number, address: string, port: number, now: number, res: Received<Peer>): void {
    res.peer = this;
    res.roamed = this.setEndpoint(address, port);
    if (this.keypairs.confirmNext(kp)) {
      this.timers.handshakeComplete();
      this.lastHandshakeAt = now;
      this.sendStaged(now);
    }
    this.rxBytes += msg.length;
    this.#keepKeyFreshReceiving(now);
    this.timers.anyAuthenticatedTraversal(now);
    this.timers.anyAuthenticatedReceived();
    if (n === 0) {
      res.kind = "keepalive";
      return;
    }
    this.timers.dataReceived(now);
    const len = innerPacketLength(msg, TRANSPORT_OFF_CONTENT, n);
    if (len < 0) return void res.drop("malformed");
    res.kind = "deliver";
    res.data = msg;
    res.offset = TRANSPORT_OFF_CONTENT;
    res.length = len;
  }

  /** Transport data a fast data path worker moved for this peer on its own (PeerTimers.replay; times in this clock). */
  activity(rxAt: number, rxDataAt: number, txAt: number, now: number): void {
    this.timers.replay(rxAt, rxDataAt, txAt);
    if (rxAt >= 0) this.#keepKeyFreshReceiving(now);
    if (txAt >= 0) this.#keepKeyFreshSending(now);
  }

  /** An initiation from this peer, authenticated by `noise.readInitiation`: answer it, fill `res`. */
  receiveInitiation(consumed: ConsumedInitiation<Peer>, senderIndex: number, address: string, port: number, now: number, res: Received<Peer>): void {
    const response = respond(this, consumed, senderIndex, now);
    if (typeof response === "string") return void res.drop(response);
    this.rxBytes += INITIATION_SIZE;
    this.timers.anyAuthenticatedTraversal(now);
    this.timers.anyAuthenticatedReceived();
    res.roamed = this.setEndpoint(address, port);
    this.timers.sessionDerived(now);
    this.timers.anyAuthenticatedSent();
    this.txBytes += response.length;
    this.ctx.emit({ peer: this, data: response, address, port });
    res.kind = "handshake";
    res.peer = this;
  }

  /** A response (mac1 checked) to our pending initiation `index`: finish the handshake, fill `res`. */
  receiveResponse(msg: Uint8Array, index: number, address: string, port: number, now: number, res: Received<Peer>): void {
    if (!finishInitiation(this, msg, index, now)) return void res.drop("handshake");
    res.roamed = this.setEndpoint(address, port);
    this.rxBytes += msg.length;
    this.timers.anyAuthenticatedTraversal(now);
    this.timers.anyAuthenticatedReceived();
    this.timers.sessionDerived(now);
    this.timers.handshakeComplete();
    this.lastHandshakeAt = now;
    this.sendKeepalive(now);
    res.kind = "handshake";
    res.peer = this;
  }

  /** Runs the timers due at `now`. */
  tick(now: number): void {
    const due = this.timers.expire(now);
    if (due === 0) return;
    if (due & Timer.RetransmitHandshake) this.#retransmit(now);
    if (due & Timer.SendKeepalive) {
      this.sendKeepalive(now);
      this.timers.keepaliveSent(now);
    }
    if (due & Timer.NewHandshake) this.initiate(now, false);
    if (due & Timer.ZeroKeyMaterial) this.zeroKeys();
    if (due & Timer.PersistentKeepalive && this.timers.persistentInterval > 0) this.sendKeepalive(now);
  }

  /** Sets the endpoint; true when it changed from a known one (roaming). */
  setEndpoint(address: string, port: number): boolean {
    if (address === this.address && port === this.port) return false;
    const roamed = this.address !== null;
    this.address = address;
    this.port = port;
    return roamed;
  }

  /** Erases all keypairs, the pending handshake and the staged packets (timers go on). */
  zeroKeys(): void {
    this.keypairs.clear();
    this.handshake.clear(this.ctx);
    this.#staged.length = 0;
  }

  #sent(total: number, plain: number, now: number): void {
    this.txBytes += total;
    this.timers.anyAuthenticatedTraversal(now);
    this.timers.anyAuthenticatedSent();
    if (plain > 0) this.timers.dataSent(now);
  }

  #stage(p: Uint8Array): void {
    if (this.#staged.length >= MAX_STAGED_PACKETS) this.#staged.shift();
    this.#staged.push(p);
  }

  #retransmit(now: number): void {
    if (this.timers.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
      this.timers.stopKeepalive();
      this.#staged.length = 0;
      this.timers.zeroKeysSoon(now);
      return;
    }
    this.timers.handshakeAttempts++;
    this.initiate(now, true);
  }

  #keepKeyFreshSending(now: number): void {
    const kp = this.keypairs.current;
    if (kp === null) return;
    const old = kp.isInitiator && now - kp.createdAt > REKEY_AFTER_TIME;
    if (kp.sendCounter > this.ctx.limits.rekeyAfterMessages || old) this.initiate(now, false);
  }

  #keepKeyFreshReceiving(now: number): void {
    if (this.timers.sentLastMinuteHandshake) return;
    const kp = this.keypairs.current;
    if (kp === null || !kp.isInitiator) return;
    if (now - kp.createdAt > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
      this.timers.sentLastMinuteHandshake = true;
      this.initiate(now, false);
    }
  }
}

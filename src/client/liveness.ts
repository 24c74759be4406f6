/**
 * @module client/liveness
 * Is the server still there? The data path only bumps two counters (no clock read, no
 * allocation per packet); the client's 100 ms tick turns them into times and asks:
 *   - dead peer: data has been sent for RESPONSE_TIMEOUT_MS without a single datagram
 *     coming back (then the client handshakes again);
 *   - keepalive: nothing heard and no keepalive sent for KEEPALIVE_IDLE_MS (keeps NAT
 *     mappings and the server's session). A keepalive does not count as traffic: an idle
 *     tunnel to a server that never echoes keepalives (the reference server) must not
 *     look dead.
 * Pure: time is a parameter.
 */

import { KEEPALIVE_IDLE_MS, RESPONSE_TIMEOUT_MS } from "./timing.ts";

/** Liveness of one connection; see the module comment. */
export class Liveness {
  /** Datagrams heard from the server (bumped on the data path). */
  rx = 0;
  /** Packets sent to the server (bumped on the data path). */
  tx = 0;
  #seenRx = 0;
  #seenTx = 0;
  #lastRx = 0;
  #lastKeepalive = 0;
  /** When we started sending without hearing back; -1 while answered. */
  #awaitingSince = -1;

  /** A connection (re)starts now: everything counts from here. */
  reset(now: number): void {
    this.#lastRx = now;
    this.#lastKeepalive = now;
    this.#awaitingSince = -1;
    this.#seenRx = this.rx;
    this.#seenTx = this.tx;
  }

  /** Turns the counters into times; call once per tick, before the questions below. */
  observe(now: number): void {
    const heard = this.rx !== this.#seenRx;
    if (heard) {
      this.#seenRx = this.rx;
      this.#lastRx = now;
      this.#awaitingSince = -1;
    }
    if (this.tx !== this.#seenTx) {
      this.#seenTx = this.tx;
      if (!heard && this.#awaitingSince < 0) this.#awaitingSince = now;
    }
  }

  /** True when data has gone out for RESPONSE_TIMEOUT_MS with nothing heard back. */
  peerSilent(now: number): boolean {
    return this.#awaitingSince >= 0 && now - this.#awaitingSince >= RESPONSE_TIMEOUT_MS;
  }

  /** True (and recorded as sent) when a keepalive is due. */
  takeKeepalive(now: number): boolean {
    if (now - this.#lastRx < KEEPALIVE_IDLE_MS || now - this.#lastKeepalive < KEEPALIVE_IDLE_MS) return false;
    this.#lastKeepalive = now;
    return true;
  }
}

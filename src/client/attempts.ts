/**
 * @module client/attempts
 * The client's record of its connection attempts: whether a failure is retried (and
 * after how long), the last error, and when the tunnel last came up. Pure: times are
 * the engine Clock's milliseconds, passed in.
 *
 * Retry policy:
 *   - before the first connection, a failure is retried `retry` times (Infinity: for
 *     ever, `--retry forever`; 0: the first failure ends the run, as when run by hand);
 *   - once the tunnel has been up, every failure is retried, for ever;
 *   - the delay before attempt n+1 is backoffDelay(n) (timing.ts), n counting the
 *     failures since the last success.
 */

import { backoffDelay } from "./timing.ts";

/** A failure and when it happened. */
export interface AttemptError {
  message: string;
  at: number;
}

/** See the module comment. */
export class Attempts {
  readonly #retry: number;
  #failures = 0;
  #firstFailures = 0;
  #everUp = false;
  #lastError: AttemptError | null = null;
  #retryAt = Infinity;
  #firstUpAt = -1;
  #lastHandshakeAt = -1;

  /** `retry`: how many times a failed first connection is tried again (Infinity: for ever). */
  constructor(retry: number) {
    this.#retry = retry;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether the tunnel has been up at least once. */
  get everUp(): boolean {
    return this.#everUp;
  }

  /** Most recent failure (kept after a success, for `warren client status`). */
  get lastError(): AttemptError | null {
    return this.#lastError;
  }

  /** When the next attempt starts; Infinity when none is planned. */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** When the tunnel first came up; -1 before that. */
  get firstUpAt(): number {
    return this.#firstUpAt;
  }

  /** When the last handshake succeeded; -1 before the first. */
  get lastHandshakeAt(): number {
    return this.#lastHandshakeAt;
  }

  /**
   * Records a failure at `now`. Returns the delay before the next attempt (and sets
   * retryAt), or null when the run should give up (first connection out of retries).
   */
  failed(message: string, now: number, random: () => number): number | null {
    this.#lastError = { message, at: now };
    if (!this.#everUp && this.#firstFailures++ >= this.#retry) {
      this.#retryAt = Infinity;
      return null;
    }
    const delay = backoffDelay(this.#failures++, random);
    this.#retryAt = now + delay;
    return delay;
  }

  /** A failure that no retry can fix (the host cannot be configured): no attempt is planned. */
  gaveUp(message: string, now: number): void {
    this.#lastError = { message, at: now };
    this.#retryAt = Infinity;
  }

  /** A handshake succeeded at `now`. */
  succeeded(now: number): void {
    this.#failures = 0;
    this.#retryAt = Infinity;
    this.#lastHandshakeAt = now;
    if (!this.#everUp) this.#firstUpAt = now;
    this.#everUp = true;
  }

  /** ` (attempt 3 of 6)`, the number of the next attempt of a limited first connection; "" otherwise. */
  attemptText(): string {
    if (this.#everUp || !Number.isFinite(this.#retry)) return "";
    return ` (attempt ${this.#firstFailures + 1} of ${this.#retry + 1})`;
  }
}

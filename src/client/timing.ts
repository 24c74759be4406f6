/**
 * @module client/timing
 * The client's clock: the Android app's timings (protocol) apart from warren's own
 * tuning (implementation), and the reconnect backoff. Pure.
 */

// --- protocol (Android ToyVpn client) ---
/** The app waits 50 x 100 ms for the parameters. */
export const HANDSHAKE_WAIT_MS = 5000;
/** The app sends a keepalive after this long without receiving anything. */
export const KEEPALIVE_IDLE_MS = 15_000;
/** The app sends the lone 0x00 three times. */
export const KEEPALIVE_REPEAT = 3;

// --- implementation ---
/** Timer resolution of the state machine. */
export const TICK_MS = 100;
/** Sending for this long without receiving anything means the peer is gone: handshake again. */
export const RESPONSE_TIMEOUT_MS = 5000;
/** First reconnect delay (before jitter). */
export const BACKOFF_INITIAL_MS = 1000;
/** Longest reconnect delay. */
export const BACKOFF_CAP_MS = 30_000;

/**
 * Delay before reconnect attempt `n` (0-based): BACKOFF_INITIAL_MS * 2^n capped at
 * BACKOFF_CAP_MS, then jittered down to between half and all of it.
 */
export function backoffDelay(n: number, random: () => number): number {
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_INITIAL_MS * 2 ** Math.min(n, 30));
  return Math.round(base / 2 + (base / 2) * random());
}

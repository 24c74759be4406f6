/**
 * @module clock
 * Time as a parameter: the engine and the protocol never read the wall clock
 * directly, so tests can drive expiry with a ManualClock.
 */

/** A source of milliseconds (monotonic where possible) and of timers. */
export interface Clock {
  /** Milliseconds; only differences are meaningful. */
  now(): number;
  /** Calls `fn` every `ms` milliseconds until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/**
 * Unix milliseconds from this thread's monotonic clock: the one time base threads agree on
 * (each has its own performance.now() origin), e.g. the fast path's workers and the main thread.
 */
export function unixMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The real clock: performance.now() and unref'd intervals. */
export const systemClock: Clock = {
  now: () => performance.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref?.();
    return () => clearInterval(t);
  },
};

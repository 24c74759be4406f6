/**
 * @module test/lib/wait
 * The one wait-until of the tests: poll a probe until it yields a value, bounded, with
 * a message naming what was awaited.
 */

/** Sleep `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of waitFor. */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll this often (default 10 ms). */
  intervalMs?: number;
  /** More text for the timeout error (e.g. a log tail). */
  detail?: () => Promise<string> | string;
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or throws
 * `timed out after N ms waiting for <what>`.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= deadline) {
      const extra = opts.detail ? `\n${await opts.detail()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await sleep(opts.intervalMs ?? 10);
  }
}

/** Like waitFor, but resolves to false instead of throwing when time runs out. */
export async function eventually(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  try {
    await waitFor("condition", probe, { timeoutMs });
    return true;
  } catch {
    return false;
  }
}

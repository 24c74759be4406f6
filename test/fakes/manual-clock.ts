/**
 * A Clock for tests: time moves only when `advance()` is called, and timers
 * registered with `every()` fire as it passes them.
 */
import type { Clock } from "../../src/lib/clock.ts";

export class ManualClock implements Clock {
  #now: number;
  #timers: { every: number; next: number; fn: () => void; live: boolean }[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  every(ms: number, fn: () => void): () => void {
    const t = { every: ms, next: this.#now + ms, fn, live: true };
    this.#timers.push(t);
    return () => {
      t.live = false;
    };
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.#now = due.next;
      due.next += due.every;
      due.fn();
    }
    this.#now = end;
  }
}

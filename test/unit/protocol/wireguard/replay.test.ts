import { describe, expect, test } from "bun:test";
import { REPLAY_WINDOW_SIZE, ReplayWindow } from "../../../../src/protocol/wireguard/replay.ts";

const LIMIT = Number.MAX_SAFE_INTEGER;

describe("ReplayWindow", () => {
  test("the window covers at least 2048 packets", () => {
    expect(REPLAY_WINDOW_SIZE).toBeGreaterThanOrEqual(2048);
  });

  test("in order: every counter once", () => {
    const w = new ReplayWindow();
    for (let c = 0; c < 10_000; c++) expect(w.accept(c, LIMIT)).toBe(true);
    expect(w.last).toBe(9999);
  });

  test("duplicates are refused, also after the window moved", () => {
    const w = new ReplayWindow();
    expect(w.accept(0, LIMIT)).toBe(true);
    expect(w.accept(0, LIMIT)).toBe(false);
    expect(w.accept(100, LIMIT)).toBe(true);
    expect(w.accept(100, LIMIT)).toBe(false);
    expect(w.accept(0, LIMIT)).toBe(false);
    expect(w.accept(50, LIMIT)).toBe(true);
    expect(w.accept(50, LIMIT)).toBe(false);
  });

  test("reordered within the window: each accepted once", () => {
    const w = new ReplayWindow();
    const order = Array.from({ length: 3000 }, (_, i) => i);
    let seed = 7;
    for (let i = order.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const j = Math.min(i, Math.max(0, i - (seed % 500)));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const c of order) expect(w.accept(c, LIMIT)).toBe(true);
    for (const c of order.slice(-200)) expect(w.accept(c, LIMIT)).toBe(false);
  });

  test("too old: exactly at the window edge is fine, one more is refused", () => {
    const w = new ReplayWindow();
    expect(w.accept(10_000, LIMIT)).toBe(true);
    expect(w.check(10_000 - REPLAY_WINDOW_SIZE, LIMIT)).toBe(true);
    expect(w.accept(10_000 - REPLAY_WINDOW_SIZE, LIMIT)).toBe(true);
    expect(w.check(10_000 - REPLAY_WINDOW_SIZE - 1, LIMIT)).toBe(false);
    expect(w.accept(10_000 - REPLAY_WINDOW_SIZE - 1, LIMIT)).toBe(false);
  });

  test("a big jump clears the old bits", () => {
    const w = new ReplayWindow();
    for (let c = 0; c < 64; c++) w.accept(c, LIMIT);
    const far = 64 + 4096 * 3 + 5;
    expect(w.accept(far, LIMIT)).toBe(true);
    // counters that share ring words with the old ones, but are new and inside the window
    for (let c = far - 40; c < far; c++) expect(w.accept(c, LIMIT)).toBe(true);
  });

  test("check changes nothing", () => {
    const w = new ReplayWindow();
    expect(w.check(5, LIMIT)).toBe(true);
    expect(w.check(5, LIMIT)).toBe(true);
    expect(w.last).toBe(0);
    expect(w.accept(5, LIMIT)).toBe(true);
    expect(w.check(5, LIMIT)).toBe(false);
  });

  test("counters at or above the limit are refused; just below is accepted", () => {
    const w = new ReplayWindow();
    expect(w.accept(100, 100)).toBe(false);
    expect(w.accept(99, 100)).toBe(true);
    expect(w.accept(LIMIT, LIMIT)).toBe(false);
    expect(w.accept(2 ** 53, LIMIT)).toBe(false);
    expect(w.accept(LIMIT - 1, LIMIT)).toBe(true);
    expect(w.accept(LIMIT - 2, LIMIT)).toBe(true);
    expect(w.accept(LIMIT - 1, LIMIT)).toBe(false);
    expect(w.accept(-1, LIMIT)).toBe(false);
  });

  test("reset forgets", () => {
    const w = new ReplayWindow();
    w.accept(3, LIMIT);
    w.reset();
    expect(w.accept(3, LIMIT)).toBe(true);
  });
});

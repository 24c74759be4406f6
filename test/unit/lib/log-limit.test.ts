/** lib/log-limit: the keyed limiter never loses who was suppressed. */
import { describe, expect, test } from "bun:test";
import { KeyedLogLimiter } from "../../../src/lib/log-limit.ts";

describe("KeyedLogLimiter", () => {
  test("N lines a second pass; the rest are summed per key and reported a second later", () => {
    const l = new KeyedLogLimiter<string>(3);
    const passed = ["a", "a", "b", "a", "b", "c", "a"].map((k, i) => l.take(k, 1000 + i, `reason${i}`));
    expect(passed).toEqual([true, true, true, false, false, false, false]);
    expect(l.drain(1500)).toBeNull(); // the first suppressed line is not a second old yet
    const d = l.drain(2003);
    expect(d?.keys).toEqual([
      { key: "a", count: 2, last: "reason6" },
      { key: "b", count: 1, last: "reason4" },
      { key: "c", count: 1, last: "reason5" },
    ]);
    expect(d?.others).toEqual({ lines: 0, keys: 0 });
    expect(l.drain(5000)).toBeNull(); // drained
    expect(l.take("a", 2100, "x")).toBe(true); // a new window
  });

  test("past maxKeys, lines are only counted, with the number of keys", () => {
    const l = new KeyedLogLimiter<null>(0, 2);
    for (const k of ["a", "b", "c", "d", "c", "a"]) expect(l.take(k, 0, null)).toBe(false);
    const d = l.drain(1000);
    expect(d?.keys.map((k) => [k.key, k.count])).toEqual([["a", 2], ["b", 1]]);
    expect(d?.others).toEqual({ lines: 3, keys: 2 });
  });
});

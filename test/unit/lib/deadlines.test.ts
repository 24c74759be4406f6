/** lib/deadlines: keys held until a deadline, bounded, forgotten once past. */
import { describe, expect, test } from "bun:test";
import { Deadlines } from "../../../src/lib/deadlines.ts";

describe("Deadlines", () => {
  test("a key is held until its deadline, then forgotten", () => {
    const d = new Deadlines<string>(10);
    d.set("a", 100);
    expect([d.has("a", 99), d.has("a", 100), d.size]).toEqual([true, false, 0]);
  });

  test("set again replaces the deadline; delete says whether it was held", () => {
    const d = new Deadlines<string>(10);
    d.set("a", 100);
    d.set("a", 500);
    expect(d.has("a", 300)).toBe(true);
    expect([d.delete("a"), d.delete("a")]).toEqual([true, false]);
  });

  test("active lists what holds now with the time left, and drops what ran out", () => {
    const d = new Deadlines<string>(10);
    d.set("a", 100);
    d.set("b", 300);
    expect(d.active(150)).toEqual([{ key: "b", leftMs: 150 }]);
    expect(d.size).toBe(1);
  });

  test("beyond the cap the key set longest ago goes first", () => {
    const d = new Deadlines<number>(3);
    for (let i = 0; i < 5; i++) d.set(i, 1000);
    expect([0, 1, 2, 3, 4].map((i) => d.has(i, 0))).toEqual([false, false, true, true, true]);
  });
});

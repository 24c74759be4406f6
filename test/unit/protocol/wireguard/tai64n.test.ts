import { describe, expect, test } from "bun:test";
import { compareTai64n, tai64n, tai64nToMs } from "../../../../src/protocol/wireguard/tai64n.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("tai64n", () => {
  test("the epoch is 2^62 + 10 seconds", () => {
    expect(hex(tai64n(0))).toBe("400000000000000a00000000");
  });

  test("seconds and whitened nanoseconds, big-endian", () => {
    // 2021-01-01T00:00:00.999Z: 1609459200 s + 10 = 0x5fee6610; 999 ms rounded down to 2^24 ns multiples.
    const t = tai64n(1_609_459_200_999);
    expect(hex(t.subarray(0, 8))).toBe((0x4000000000000000n + 1_609_459_210n).toString(16));
    const nanos = new DataView(t.buffer).getUint32(8);
    expect(nanos % 2 ** 24).toBe(0);
    expect(nanos).toBeLessThanOrEqual(999_000_000);
    expect(999_000_000 - nanos).toBeLessThan(2 ** 24);
  });

  test("writes into a given buffer", () => {
    const out = new Uint8Array(20);
    const view = out.subarray(4, 16);
    expect(tai64n(5000, view)).toBe(view);
    expect(hex(out.subarray(4, 12))).toBe("400000000000000f");
  });

  test("order follows time at 17 ms resolution; equal within one whitening step", () => {
    const base = 1_700_000_000_000;
    expect(compareTai64n(tai64n(base + 1000), tai64n(base))).toBeGreaterThan(0);
    expect(compareTai64n(tai64n(base), tai64n(base + 1000))).toBeLessThan(0);
    expect(compareTai64n(tai64n(base + 17), tai64n(base))).toBeGreaterThanOrEqual(0);
    expect(compareTai64n(tai64n(base), tai64n(base))).toBe(0);
    expect(compareTai64n(tai64n(base + 34), tai64n(base))).toBeGreaterThan(0);
  });

  test("converts back to milliseconds within one whitening step", () => {
    const ms = 1_750_000_123_456;
    const back = tai64nToMs(tai64n(ms));
    expect(back).toBeLessThanOrEqual(ms);
    expect(ms - back).toBeLessThan(17);
  });
});

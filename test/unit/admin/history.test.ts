/** admin/history: rates per interval into a bounded ring; bit rates for people. */
import { describe, expect, test } from "bun:test";
import { formatBitRate, ThroughputHistory } from "../../../src/admin/history.ts";

const totals = (rxBytes: number, txBytes: number, rxPackets: number, txPackets: number) => ({ rxBytes, txBytes, rxPackets, txPackets });

describe("ThroughputHistory", () => {
  test("the first sample is the baseline; later ones are per-second rates over the interval", () => {
    const h = new ThroughputHistory(3);
    expect(h.sample(10_000, totals(0, 0, 0, 0), 0)).toBeNull();
    const s = h.sample(20_000, totals(125_000, 250_000, 100, 205), 2);
    expect(s).toEqual({ t: 20_000, rxBits: 100_000, txBits: 200_000, rxPackets: 10, txPackets: 20.5, sessions: 2 });
    expect(h.toJSON()).toEqual({ intervalSec: 10, samples: s ? [s] : [] });
  });

  test("keeps the newest `capacity` samples, oldest first; a clock going back adds nothing", () => {
    const h = new ThroughputHistory(3);
    for (let i = 0; i <= 5; i++) h.sample(i * 10_000, totals(i * 1000, 0, i, 0), i);
    expect(h.toJSON().samples.map((s) => s.sessions)).toEqual([3, 4, 5]);
    expect(h.sample(40_000, totals(9e9, 0, 0, 0), 9)).toBeNull();
    expect(h.toJSON().samples.length).toBe(3);
  });

  test("formatBitRate: SI units", () => {
    expect([0, 950, 12_345, 1_050_000, 250e6, 3.2e9].map(formatBitRate)).toEqual(["0 bit/s", "950 bit/s", "12.3 kbit/s", "1.05 Mbit/s", "250 Mbit/s", "3.20 Gbit/s"]);
  });
});

/** server/doors/wireguard/warmup: the throwaway handshake and transport round trips run, bounded in time. */
import { expect, test } from "bun:test";
import { pureTsAead } from "../../../src/crypto/chacha-ts.ts";
import { warmUp } from "../../../src/server/doors/wireguard/warmup.ts";

test("a warm-up completes its handshake and round trips; a time bound cuts it short", () => {
  expect(warmUp(pureTsAead, 500, 10_000)).toBe(500);
  const n = warmUp(pureTsAead, 1_000_000, 50);
  expect(n).toBeGreaterThan(0);
  expect(n).toBeLessThan(1_000_000);
});

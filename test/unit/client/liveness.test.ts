/**
 * client/liveness: counters in, dead-peer and keepalive decisions out, on given times.
 */

import { describe, expect, test } from "bun:test";
import { Liveness } from "../../../src/client/liveness.ts";
import { KEEPALIVE_IDLE_MS, RESPONSE_TIMEOUT_MS } from "../../../src/client/timing.ts";

const T0 = 1_000_000;

describe("Liveness", () => {
  test("sending without hearing back for RESPONSE_TIMEOUT_MS makes the peer silent; one answer clears it", () => {
    const l = new Liveness();
    l.reset(T0);
    l.tx++;
    l.observe(T0 + 100); // the first unanswered send is seen here
    expect(l.peerSilent(T0 + 100 + RESPONSE_TIMEOUT_MS - 1)).toBe(false);
    l.tx++;
    l.observe(T0 + 200); // more sending does not move the start
    expect(l.peerSilent(T0 + 100 + RESPONSE_TIMEOUT_MS)).toBe(true);
    l.rx++;
    l.observe(T0 + 300);
    expect(l.peerSilent(T0 + 300 + RESPONSE_TIMEOUT_MS * 2)).toBe(false);
  });

  test("sending and hearing in the same tick is not silence", () => {
    const l = new Liveness();
    l.reset(T0);
    l.tx++;
    l.rx++;
    l.observe(T0 + 100);
    expect(l.peerSilent(T0 + RESPONSE_TIMEOUT_MS * 3)).toBe(false);
  });

  test("a keepalive is due after KEEPALIVE_IDLE_MS of silence, then not again for as long", () => {
    const l = new Liveness();
    l.reset(T0);
    expect(l.takeKeepalive(T0 + KEEPALIVE_IDLE_MS - 1)).toBe(false);
    expect(l.takeKeepalive(T0 + KEEPALIVE_IDLE_MS)).toBe(true);
    expect(l.takeKeepalive(T0 + KEEPALIVE_IDLE_MS + 1)).toBe(false);
    expect(l.takeKeepalive(T0 + 2 * KEEPALIVE_IDLE_MS)).toBe(true);
  });

  test("hearing from the server postpones the keepalive; sending does not", () => {
    const l = new Liveness();
    l.reset(T0);
    l.tx++;
    l.observe(T0 + 10_000);
    expect(l.takeKeepalive(T0 + KEEPALIVE_IDLE_MS)).toBe(true);
    l.reset(T0);
    l.rx++;
    l.observe(T0 + 10_000);
    expect(l.takeKeepalive(T0 + KEEPALIVE_IDLE_MS)).toBe(false);
    expect(l.takeKeepalive(T0 + 10_000 + KEEPALIVE_IDLE_MS)).toBe(true);
  });

  test("reset forgets unanswered sends counted before it", () => {
    const l = new Liveness();
    l.reset(T0);
    l.tx += 5;
    l.reset(T0 + 50);
    l.observe(T0 + 100);
    expect(l.peerSilent(T0 + 100 + RESPONSE_TIMEOUT_MS)).toBe(false);
  });
});

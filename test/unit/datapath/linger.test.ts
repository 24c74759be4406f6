/**
 * Lingering (loop.ts): after a turn that received a run of datagrams from clients without
 * filling the batch, a worker sleeps LINGER_US so the next run gathers in the socket; a
 * lone datagram (a ping, a keepalive, a handshake answer) goes on at once, and so does a
 * full batch (a flood is drained at full speed, so a sender cannot make the worker idle).
 */
import { expect, test } from "bun:test";
import { LINGER_AFTER, lingers } from "../../../src/datapath/loop.ts";

const BATCH = 64;

test("nothing received, or fewer than LINGER_AFTER datagrams: no linger (interactive traffic keeps its latency)", () => {
  for (let n = 0; n < LINGER_AFTER; n++) expect(lingers(n, BATCH)).toBe(false);
  expect(LINGER_AFTER).toBeGreaterThan(1);
});

test("a run of datagrams that emptied the socket: linger", () => {
  for (let n = LINGER_AFTER; n < BATCH; n++) expect(lingers(n, BATCH)).toBe(true);
});

test("a full batch: no linger, the socket may hold more", () => {
  expect(lingers(BATCH, BATCH)).toBe(false);
  expect(lingers(LINGER_AFTER, LINGER_AFTER)).toBe(false);
});


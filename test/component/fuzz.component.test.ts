/**
 * Continuous fuzzing of the server engine on fakes (FakeUdp, FakeTun, ManualClock):
 * FUZZ_COUNT (default 200,000) hostile inputs from a seeded random source (random
 * bytes, handshakes valid and not, truncated and lying IP headers, oversized datagrams,
 * spoofed sources, data from unknown and from kicked endpoints, keepalives, rehandshake
 * bytes, mutated valid datagrams, TUN-side junk: test/lib/fuzz.ts, fuzz-rig.ts), while
 * two live sessions keep exchanging traffic through the TUN and the hub. Every run takes
 * a new seed and prints it; FUZZ_SEED=N replays one.
 *
 * Invariants, checked every CHECK_EVERY inputs and at the end:
 *   - nothing throws;
 *   - the live sessions keep their endpoints, addresses and device ids, and their
 *     counters are exactly what their own traffic made them (no drop of theirs counted);
 *   - every input is counted exactly once: junk, a drop by reason, a handshake by
 *     outcome, a keepalive, a packet in from a client (rx), or a TUN packet out (tx
 *     minus hub);
 *   - memory is bounded: sessions within the pool, the handshake limiter within its
 *     cap, heap growth under HEAP_BOUND.
 * No timing assertions. FUZZ_DEBUG=1 prints the final counters.
 */
import { expect, test } from "bun:test";
import { Rng } from "../lib/fuzz.ts";
import { Fuzzer } from "../lib/fuzz-rig.ts";
import { startToyServer } from "../lib/server-rig.ts";

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 12)) >>> 0;
const COUNT = Number(process.env.FUZZ_COUNT ?? 200_000);
const CHECK_EVERY = 10_000;
const LIVE_EVERY = 50;
const KICK_EVERY = 2_000;
const HEAP_BOUND = 16 * 1024 * 1024;

test(`fuzz: ${COUNT} hostile inputs beside two live sessions (seed ${SEED}; replay with FUZZ_SEED=${SEED})`, async () => {
  console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED} bun test test/component/fuzz.component.test.ts)`);
  const rng = new Rng(SEED);
  const r = await startToyServer({ config: { secret: "fuzz-s3cret", pool6: "fd00:8::/64", idleTimeout: 60 } });
  const f = new Fuzzer(r, rng, "fuzz-s3cret");
  let heap0 = 0;
  let i = 0;
  try {
    for (; i < COUNT; i++) {
      if (i % LIVE_EVERY === 0) f.liveRound();
      if (i % KICK_EVERY === 0) f.kickSome();
      f.one();
      r.clock.advance(rng.int(20));
      if (i % CHECK_EVERY === CHECK_EVERY - 1) {
        f.step = "check";
        f.check(i);
        if (heap0 === 0) {
          Bun.gc(true);
          heap0 = process.memoryUsage().heapUsed;
        }
      }
    }
    f.liveRound();
    f.step = "final check";
    f.check(i);
  } catch (e) {
    throw new Error(`fuzz seed ${SEED} failed at input ${i} (${f.step}); replay with FUZZ_SEED=${SEED}: ${e instanceof Error ? e.message : String(e)}`);
  }
  Bun.gc(true);
  const growth = process.memoryUsage().heapUsed - heap0;
  const st = r.server.stats;
  if (process.env.FUZZ_DEBUG) console.log(JSON.stringify({ udpIn: f.udpIn, tunIn: f.tunIn, growth, sessions: r.server.sessions.size, limiter: r.toy.handshaker.limiter?.size, stats: st }));
  r.server.stop();
  expect(growth).toBeLessThan(HEAP_BOUND);
  // the fuzzer did reach the interesting places
  expect(st.handshakes.ok).toBeGreaterThan(10);
  expect(st.handshakes.rejected).toBeGreaterThan(100);
  // only a shared secret here: a cheap check is never rate-limited, whatever the flood (docs/AUTH.md)
  expect(st.handshakes.limited).toBe(0);
  expect(st.drops.spoofed).toBeGreaterThan(100);
  expect(st.drops["no-session"]).toBeGreaterThan(1000);
  expect(st.junk).toBeGreaterThan(1000);
  expect(st.rehandshakeRequests).toBeGreaterThan(10);
}, 120_000);

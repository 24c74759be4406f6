/**
 * @module test/contract/tun.case
 * The TunDevice contract (src/tun/device.ts) as one suite that every implementation runs
 * (the pattern of Hono's `common.case.test.ts`): FakeTun in tun.contract.test.ts every
 * time, LinuxTun in tun-linux.suite.ts, which that file runs inside a fresh network
 * namespace when root.
 *
 * The harness hides how packets reach the device, so the suite speaks UDP payloads: a
 * payload sent into the tunnel reaches the sink as an IPv4/UDP packet TUN_ADDR ->
 * PEER_ADDR:PEER_PORT; a packet the suite writes is IPv4/UDP PEER_ADDR -> TUN_ADDR:port,
 * and `received()` lists the payloads that arrived at that port. Other packets the
 * kernel may send (IPv6 router solicitations) are ignored.
 */

import { describe, expect, test } from "bun:test";
import { MAX_TUN_BATCH, type TunDevice, type TunSink } from "../../src/tun/device.ts";
import { parseUdp4, udp4 } from "../fakes/packets.ts";
import { waitFor } from "../lib/wait.ts";

/** The device's address. */
export const TUN_ADDR = "10.99.0.1";
/** An address behind the tunnel: what is sent to it goes into the device. */
export const PEER_ADDR = "10.99.0.2";
/** The UDP port payloads sent into the tunnel go to. */
export const PEER_PORT = 9;

/** One implementation under test, opened (not started) with TUN_ADDR/24 and MTU 1400. */
export interface TunHarness {
  readonly tun: TunDevice;
  /** Makes the kernel route these UDP payloads into the tunnel, in order. */
  sendIntoTunnel(payloads: readonly Uint8Array[]): Promise<void>;
  /** A UDP port on TUN_ADDR; packets written to it are reported by `received()`. */
  readonly port: number;
  received(): Uint8Array[];
  /** Makes reading fail (the real interface is deleted under the reader). */
  breakReads(): Promise<void>;
  /** Lets packets in flight land (the real kernel is asynchronous). */
  settle(): Promise<void>;
  /** Frees what the harness opened; closes the device if the test did not. */
  dispose(): Promise<void>;
}

/** A sink that records flood payloads (copies), batch sizes and whether views stay valid until flush(). */
class RecordingSink implements TunSink {
  readonly payloads: Uint8Array[] = [];
  readonly batches: number[] = [];
  pending = 0;
  /** Views of this batch and copies of them, checked at flush(). */
  #kept: [Uint8Array, Uint8Array][] = [];
  viewsChanged = 0;

  packet(pkt: Uint8Array): void {
    this.pending++;
    this.#kept.push([pkt, pkt.slice()]);
    const udp = parseUdp4(pkt);
    if (udp !== null && udp.dport === PEER_PORT) this.payloads.push(udp.payload.slice());
  }

  flush(): void {
    for (const [view, copy] of this.#kept) if (!view.every((b, i) => b === copy[i])) this.viewsChanged++;
    this.#kept = [];
    this.batches.push(this.pending);
    this.pending = 0;
  }
}

/** Payload `i` of a run: its length varies from 1 to 1300 bytes, its bytes encode i. */
function payload(i: number): Uint8Array {
  const p = new Uint8Array(1 + ((i * 397) % 1300));
  for (let k = 0; k < p.length; k++) p[k] = (i + k) & 0xff;
  return p;
}

/** Registers the contract tests for one implementation. */
export function tunContract(label: string, open: () => Promise<TunHarness>): void {
  describe(`TunDevice contract: ${label}`, () => {
    /** Opens a harness, runs `body`, always disposes. */
    const withTun = async (body: (h: TunHarness) => Promise<void>): Promise<void> => {
      const h = await open();
      try {
        await body(h);
      } finally {
        await h.dispose();
      }
    };
    const noErrors = (e: Error) => {
      throw new Error(`unexpected onError: ${e.message}`);
    };

    test("delivers every packet whole and in order, in batches of at most MAX_TUN_BATCH that one flush() ends", () =>
      withTun(async (h) => {
        const sink = new RecordingSink();
        h.tun.start(sink, noErrors);
        const sent = Array.from({ length: 40 }, (_, i) => payload(i));
        await h.sendIntoTunnel(sent);
        await waitFor("all 40 packets", () => sink.payloads.length >= sent.length, { timeoutMs: 5000 });
        await h.settle();
        expect(sink.payloads).toEqual(sent);
        expect(sink.pending).toBe(0); // every run of packet() calls was ended by a flush()
        expect(sink.batches.every((n) => n >= 1 && n <= MAX_TUN_BATCH)).toBe(true);
        expect(sink.viewsChanged).toBe(0); // a view stays valid until the flush() of its batch
        expect(h.tun.stats.readPackets).toBeGreaterThanOrEqual(sent.length);
      }));

    test("write(): the packet arrives whole, the caller keeps (and may reuse) its buffer", () =>
      withTun(async (h) => {
        h.tun.start(new RecordingSink(), noErrors);
        const data = new TextEncoder().encode(`written by the contract test ${label}`);
        const pkt = udp4({ src: PEER_ADDR, dst: TUN_ADDR, sport: 5555, dport: h.port, payload: data });
        const outer = new Uint8Array(pkt.length + 16).fill(0xee);
        outer.set(pkt, 3);
        const before = h.tun.stats.writePackets;
        expect(h.tun.write(outer.subarray(3, 3 + pkt.length))).toBe(true);
        outer.fill(0x55); // the device must not have kept a reference
        await waitFor("the written packet at its port", () => h.received().length > 0, { timeoutMs: 5000 });
        expect(h.received()).toEqual([data]);
        expect(h.tun.stats.writePackets).toBe(before + 1);
      }));

    test("an empty packet is refused and counted", () =>
      withTun(async (h) => {
        h.tun.start(new RecordingSink(), noErrors);
        const before = h.tun.stats.writeErrors;
        expect(h.tun.write(new Uint8Array(0))).toBe(false);
        expect(h.tun.stats.writeErrors).toBe(before + 1);
      }));

    test("start() twice throws", () =>
      withTun(async (h) => {
        h.tun.start(new RecordingSink(), noErrors);
        expect(() => h.tun.start(new RecordingSink(), noErrors)).toThrow(/start\(\) called twice/);
      }));

    test("a throwing sink stops reading: one onError call, nothing delivered after, writes still work", () =>
      withTun(async (h) => {
        const errors: string[] = [];
        let calls = 0;
        const throwing: TunSink = {
          packet: () => {
            calls++;
            throw new Error("boom");
          },
          flush: () => {},
        };
        h.tun.start(throwing, (e) => errors.push(e.message));
        await h.sendIntoTunnel([payload(1), payload(2), payload(3)]);
        await waitFor("onError", () => errors.length > 0, { timeoutMs: 5000 });
        await h.sendIntoTunnel([payload(4)]);
        await h.settle();
        expect(errors).toHaveLength(1);
        expect(errors[0]).toContain("packet handler threw: boom");
        expect(calls).toBe(1);
        const pkt = udp4({ src: PEER_ADDR, dst: TUN_ADDR, sport: 5555, dport: h.port, payload: new Uint8Array([1, 2, 3]) });
        expect(h.tun.write(pkt)).toBe(true);
      }));

    test("a read error stops reading with one onError call", () =>
      withTun(async (h) => {
        const errors: Error[] = [];
        const sink = new RecordingSink();
        h.tun.start(sink, (e) => errors.push(e));
        await h.breakReads();
        await waitFor("onError", () => errors.length > 0, { timeoutMs: 5000 });
        await h.settle();
        expect(errors).toHaveLength(1);
        expect(errors[0]?.message).not.toBe("");
        h.tun.close();
        h.tun.close();
      }));

    test("close(): nothing is delivered after it returns, writes fail and are counted, a second close is harmless", () =>
      withTun(async (h) => {
        const sink = new RecordingSink();
        h.tun.start(sink, noErrors);
        await h.sendIntoTunnel([payload(1)]);
        await waitFor("the first packet", () => sink.payloads.length === 1, { timeoutMs: 5000 });
        h.tun.close();
        const seen = sink.pending + sink.batches.reduce((a, b) => a + b, 0);
        await h.sendIntoTunnel([payload(2)]);
        await h.settle();
        expect(sink.pending + sink.batches.reduce((a, b) => a + b, 0)).toBe(seen);
        const errors = h.tun.stats.writeErrors;
        expect(h.tun.write(udp4({ src: PEER_ADDR, dst: TUN_ADDR, sport: 5555, dport: h.port, payload: new Uint8Array([1]) }))).toBe(false);
        expect(h.tun.stats.writeErrors).toBe(errors + 1);
        expect(() => h.tun.close()).not.toThrow();
      }));
  });
}

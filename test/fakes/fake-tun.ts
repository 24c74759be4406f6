/**
 * @module test/fakes/fake-tun
 * An in-memory TunDevice that keeps the real device's contract (src/tun/device.ts, checked
 * by test/contract/tun.contract.test.ts on both): `inject()` plays the kernel sending
 * packets into the tunnel, delivered as views into an arena in batches of at most
 * MAX_TUN_BATCH, each ended by one flush(), the arena scribbled over afterwards; `written`
 * records what the engine wrote (copies: the caller keeps its buffer).
 * Failures as the kernel makes them: `failWrites` refuses writes, `failRead(err)` stops
 * reading with one onError call, and a throwing sink stops reading the same way.
 */

import { MAX_TUN_BATCH, type TunDevice, type TunSink, type TunStats } from "../../src/tun/device.ts";

/** The fake TUN; see the module comment. */
export class FakeTun implements TunDevice {
  readonly name = "fake0";
  readonly mtu: number;
  readonly stats: TunStats = { readPackets: 0, writePackets: 0, writeErrors: 0 };
  readonly written: Uint8Array[] = [];
  /** When set, write() refuses (as the kernel might). */
  failWrites = false;
  closed = false;
  #sink: TunSink | null = null;
  #onError: (err: Error) => void = () => {};
  #reading = false;

  constructor(mtu = 1400) {
    this.mtu = mtu;
  }

  start(sink: TunSink, onError: (err: Error) => void): void {
    if (this.#sink !== null || this.closed) throw new Error(`TUN ${this.name}: start() called twice or after close()`);
    this.#sink = sink;
    this.#onError = onError;
    this.#reading = true;
  }

  /** True while packets are delivered (started, no read error, not closed). */
  get reading(): boolean {
    return this.#reading;
  }

  /**
   * The kernel hands these packets to the device: delivered in batches of at most
   * MAX_TUN_BATCH through a reused arena. Nothing is delivered once reading stopped.
   */
  inject(...pkts: Uint8Array[]): void {
    if (this.#sink === null) throw new Error("FakeTun not started");
    for (let i = 0; i < pkts.length && this.#reading; i += MAX_TUN_BATCH) this.#batch(pkts.slice(i, i + MAX_TUN_BATCH));
  }

  /** A read error: reading stops and onError hears of it once; the device stays open until close(). */
  failRead(err: Error): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#onError(err);
  }

  write(pkt: Uint8Array): boolean {
    if (this.failWrites || this.closed || pkt.byteLength === 0) {
      this.stats.writeErrors++;
      return false;
    }
    this.stats.writePackets++;
    this.written.push(pkt.slice());
    return true;
  }

  close(): void {
    this.closed = true;
    this.#reading = false;
  }

  #batch(pkts: Uint8Array[]): void {
    const sink = this.#sink as TunSink;
    const arena = new Uint8Array(pkts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    try {
      for (const p of pkts) {
        arena.set(p, off);
        this.stats.readPackets++;
        sink.packet(arena.subarray(off, off + p.length));
        off += p.length;
        if (!this.#reading) break; // closed from inside the sink
      }
      if (pkts.length > 0) sink.flush();
    } catch (err) {
      this.failRead(new Error(`TUN ${this.name}: packet handler threw: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
    arena.fill(0xee); // the arena is reused: anything kept past flush() would now be garbage
  }
}

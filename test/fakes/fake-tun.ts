/**
 * An in-memory TunDevice: `inject()` plays the kernel sending packets into the
 * tunnel (one batch per call), `written` records what the engine wrote (copies).
 */
import type { TunDevice, TunSink, TunStats } from "../../src/tun/device.ts";

export class FakeTun implements TunDevice {
  readonly name = "fake0";
  readonly mtu: number;
  readonly stats: TunStats = { readPackets: 0, writePackets: 0, writeErrors: 0 };
  readonly written: Uint8Array[] = [];
  /** When set, write() refuses (as the kernel might). */
  failWrites = false;
  closed = false;
  #sink: TunSink | null = null;

  constructor(mtu = 1400) {
    this.mtu = mtu;
  }

  start(sink: TunSink): void {
    this.#sink = sink;
  }

  /** Delivers packets as one read batch, through an arena like the real device. */
  inject(...pkts: Uint8Array[]): void {
    if (!this.#sink) throw new Error("FakeTun not started");
    const arena = new Uint8Array(pkts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of pkts) {
      arena.set(p, off);
      this.stats.readPackets++;
      this.#sink.packet(arena.subarray(off, off + p.length));
      off += p.length;
    }
    this.#sink.flush();
    arena.fill(0xee); // the arena is reused: anything kept past flush() would now be garbage
  }

  write(pkt: Uint8Array): boolean {
    if (this.failWrites || this.closed) {
      this.stats.writeErrors++;
      return false;
    }
    this.stats.writePackets++;
    this.written.push(pkt.slice());
    return true;
  }

  close(): void {
    this.closed = true;
  }
}

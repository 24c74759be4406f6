/**
 * @module test/fakes/fake-udp
 * An in-memory server Transport that keeps the real one's contract (src/transport/
 * transport.ts, checked by test/contract/transport.contract.test.ts on both): `receive()`
 * plays a client's datagram arriving (the buffer is scribbled over after the call),
 * `sent` records what left (copied at send time, as the kernel would).
 *
 * Sending goes through the real batch sender (transport/batch.ts) with the real limits
 * (MAX_BATCH, RETRY_CAP) over a socket that behaves like Bun's: `sendMany` stops at the
 * first datagram it cannot send and returns the count before it (throws when that is
 * the first), `send` throws. Failures as the kernel makes them: addresses in
 * `unreachable` fail like another address family (EAFNOSUPPORT), `failSends` fails
 * everything, `sendManyLimit` makes sendMany short (a full socket buffer); `drain()` is
 * Bun's drain callback.
 */

import { type BatchItem, BatchSender, type BatchSocket } from "../../src/transport/batch.ts";
import type { Transport, TransportSink, TransportStats } from "../../src/transport/transport.ts";
import { MAX_BATCH, RETRY_CAP } from "../../src/transport/udp-base.ts";

/** One datagram that left. */
export interface SentDatagram {
  data: Uint8Array;
  port: number;
  address: string;
}

/** An error like the one Bun throws for a datagram it cannot send. */
function sendError(address: string): Error {
  return Object.assign(new Error(`EAFNOSUPPORT: cannot send to ${address}`), { code: "EAFNOSUPPORT" });
}

/** The fake server transport; see the module comment. */
export class FakeUdp implements Transport {
  readonly local = { address: "::", port: 8000 };
  readonly stats: TransportStats = { sentDatagrams: 0, sendDrops: 0, socketErrors: 0 };
  readonly sent: SentDatagram[] = [];
  /** Destinations a send to fails (like an address of the other family). */
  readonly unreachable = new Set<string>();
  /** When set, every send fails. */
  failSends = false;
  /** Most datagrams one sendMany takes (the socket buffer is full after that). */
  sendManyLimit = Infinity;
  closed = false;
  #sink: TransportSink | null = null;
  readonly #sender = new BatchSender(3, MAX_BATCH, RETRY_CAP, this.stats, () => (this.closed ? null : this.#socket));
  readonly #socket: BatchSocket = {
    sendMany: (items) => {
      const n = Math.min(items.length / 3, this.sendManyLimit);
      for (let k = 0; k < n; k++) {
        if (!this.#deliver(items, k * 3)) {
          if (k === 0) throw sendError(items[2] as string);
          return k;
        }
      }
      return n;
    },
    sendOne: (items, at) => {
      if (!this.#deliver(items, at)) throw sendError(items[at + 2] as string);
      return true;
    },
  };

  start(sink: TransportSink): void {
    this.#sink = sink;
  }

  /** A datagram from `address:port` arrives (not once closed). The buffer is scribbled over afterwards. */
  receive(data: Uint8Array, address: string, port: number, truncated = false): void {
    if (!this.#sink) throw new Error("FakeUdp not started");
    if (this.closed) return;
    const buf = data.slice();
    this.#sink.datagram(buf, address, port, truncated);
    buf.fill(0xdd);
  }

  queue(data: Uint8Array, port: number, address: string): boolean {
    return this.#sender.queue(data, port, address);
  }

  flush(): void {
    this.#sender.flush();
  }

  sendNow(data: Uint8Array, port: number, address: string): boolean {
    if (!this.closed && this.#deliver([data, port, address], 0)) {
      this.stats.sentDatagrams++;
      return true;
    }
    this.stats.sendDrops++;
    return false;
  }

  /** Bun's drain callback: the socket buffer has room again. */
  drain(): void {
    this.#sender.onDrain();
  }

  /** Bun's error callback (an ICMP error on the socket): counted, as the real transport does. */
  socketError(): void {
    this.stats.socketErrors++;
  }

  /** Sent datagrams to one endpoint, then forgets them. */
  take(address: string, port: number): Uint8Array[] {
    const mine = this.sent.filter((d) => d.address === address && d.port === port).map((d) => d.data);
    this.sent.splice(0, this.sent.length, ...this.sent.filter((d) => !(d.address === address && d.port === port)));
    return mine;
  }

  close(): void {
    this.closed = true;
    this.#sender.clear();
  }

  /** Records the entry at `items[at]` as sent; false when this send fails. */
  #deliver(items: readonly BatchItem[], at: number): boolean {
    const address = items[at + 2] as string;
    if (this.failSends || this.unreachable.has(address)) return false;
    this.sent.push({ data: (items[at] as Uint8Array).slice(), port: items[at + 1] as number, address });
    return true;
  }
}

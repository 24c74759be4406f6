/**
 * An in-memory Transport: `receive()` plays a client's datagram arriving, `sent`
 * records datagrams the engine sent (copied at send time, as the kernel would).
 */
import type { Transport, TransportSink, TransportStats } from "../../src/transport/transport.ts";

export interface SentDatagram {
  data: Uint8Array;
  port: number;
  address: string;
}

export class FakeUdp implements Transport {
  readonly local = { address: "::", port: 8000 };
  readonly stats: TransportStats = { sentDatagrams: 0, sendDrops: 0, socketErrors: 0 };
  readonly sent: SentDatagram[] = [];
  #queue: SentDatagram[] = [];
  #sink: TransportSink | null = null;
  closed = false;

  start(sink: TransportSink): void {
    this.#sink = sink;
  }

  /** A datagram from `address:port` arrives. The buffer is scribbled over afterwards. */
  receive(data: Uint8Array, address: string, port: number, truncated = false): void {
    if (!this.#sink) throw new Error("FakeUdp not started");
    const buf = data.slice();
    this.#sink.datagram(buf, address, port, truncated);
    buf.fill(0xdd);
  }

  queue(data: Uint8Array, port: number, address: string): boolean {
    this.#queue.push({ data, port, address });
    return true;
  }

  flush(): void {
    for (const d of this.#queue) this.sendNow(d.data, d.port, d.address);
    this.#queue = [];
  }

  sendNow(data: Uint8Array, port: number, address: string): boolean {
    this.sent.push({ data: data.slice(), port, address });
    this.stats.sentDatagrams++;
    return true;
  }

  /** Sent datagrams to one endpoint, then forgets them. */
  take(address: string, port: number): Uint8Array[] {
    const mine = this.sent.filter((d) => d.address === address && d.port === port).map((d) => d.data);
    this.sent.splice(0, this.sent.length, ...this.sent.filter((d) => !(d.address === address && d.port === port)));
    return mine;
  }

  close(): void {
    this.closed = true;
  }
}

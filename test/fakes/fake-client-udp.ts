/**
 * An in-memory ClientTransport (one connected socket): `receive()` plays a datagram
 * from the server, `refuse()` an ICMP port unreachable, `sent` records what the
 * engine sent (copied at send time, as the kernel would). `FakeClientSockets` is the
 * factory the engine calls for each new socket; it remembers every one it opened.
 */
import type { ClientTransport, ClientTransportSink } from "../../src/transport/client-udp.ts";
import type { TransportStats } from "../../src/transport/transport.ts";

export class FakeClientUdp implements ClientTransport {
  readonly local: { address: string; port: number };
  readonly stats: TransportStats = { sentDatagrams: 0, sendDrops: 0, socketErrors: 0 };
  readonly sent: Uint8Array[] = [];
  /** Number of flush() calls that sent something (one sendMany each). */
  batches = 0;
  closed = false;
  #queue: Uint8Array[] = [];
  #sink: ClientTransportSink | null = null;

  constructor(port: number) {
    this.local = { address: "0.0.0.0", port };
  }

  start(sink: ClientTransportSink): void {
    this.#sink = sink;
  }

  /** A datagram from the server arrives; the buffer is scribbled over afterwards. */
  receive(data: Uint8Array, truncated = false): void {
    if (!this.#sink || this.closed) throw new Error("FakeClientUdp not started or closed");
    const buf = data.slice();
    this.#sink.datagram(buf, truncated);
    buf.fill(0xdd);
  }

  /** The kernel reports ICMP port unreachable. */
  refuse(code = "ECONNREFUSED"): void {
    this.#sink?.unreachable(code);
  }

  queue(data: Uint8Array): boolean {
    this.#queue.push(data);
    return true;
  }

  flush(): void {
    if (this.#queue.length > 0) this.batches++;
    for (const d of this.#queue) this.sendNow(d);
    this.#queue = [];
  }

  sendNow(data: Uint8Array): boolean {
    if (this.closed) {
      this.stats.sendDrops++;
      return false;
    }
    this.sent.push(data.slice());
    this.stats.sentDatagrams++;
    return true;
  }

  close(): void {
    this.closed = true;
  }

  /** Sent datagrams as text after a 0x00 (handshakes), or "<data>" / "<keepalive>". */
  sentText(): string[] {
    return this.sent.map((d) => (d[0] !== 0 ? "<data>" : d.length === 1 ? "<keepalive>" : new TextDecoder().decode(d.subarray(1))));
  }
}

/** The engine's openTransport(): each call opens a new FakeClientUdp (new port). */
export class FakeClientSockets {
  readonly opened: FakeClientUdp[] = [];
  /** When set, the next open() rejects with this error. */
  failNext: Error | null = null;
  #port = 40000;

  open = (): Promise<FakeClientUdp> => {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      return Promise.reject(e);
    }
    const t = new FakeClientUdp(this.#port++);
    this.opened.push(t);
    return Promise.resolve(t);
  };

  /** The newest socket. */
  get current(): FakeClientUdp {
    const t = this.opened[this.opened.length - 1];
    if (!t) throw new Error("no socket opened yet");
    return t;
  }
}

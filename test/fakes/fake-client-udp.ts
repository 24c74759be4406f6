/**
 * @module test/fakes/fake-client-udp
 * An in-memory ClientTransport (one connected socket) that keeps the real one's contract
 * (src/transport/client-udp.ts, checked by test/contract/client-transport.contract.test.ts
 * on both): `receive()` plays a datagram from the server, `sent` records what the engine
 * sent (copied at send time, as the kernel would). Sending goes through the real batch
 * sender with the real limits (MAX_BATCH, RETRY_CAP); `sendManyLimit` makes a sendMany
 * short (a full socket buffer) and `drain()` is Bun's drain callback.
 * `serverGone` plays a server that stopped: sends still leave, and the kernel's ICMP port
 * unreachable comes back as `unreachable("ECONNREFUSED")` a moment later; `refuse()`
 * reports one at once. `FakeClientSockets` is the factory the engine calls for each new
 * socket; it remembers every one it opened.
 */

import type { ClientTransport, ClientTransportSink } from "../../src/transport/client-udp.ts";
import { BatchSender, type BatchSocket } from "../../src/transport/batch.ts";
import type { TransportStats } from "../../src/transport/transport.ts";
import { MAX_BATCH, RETRY_CAP } from "../../src/transport/udp-base.ts";

/** The fake connected socket; see the module comment. */
export class FakeClientUdp implements ClientTransport {
  readonly local: { address: string; port: number };
  readonly stats: TransportStats = { sentDatagrams: 0, sendDrops: 0, socketErrors: 0 };
  readonly sent: Uint8Array[] = [];
  /** Number of flush() calls that sent something (one sendMany each). */
  batches = 0;
  /** Most datagrams one sendMany takes (the socket buffer is full after that). */
  sendManyLimit = Infinity;
  /** The server stopped: every send is answered by ICMP port unreachable. */
  serverGone = false;
  closed = false;
  #sink: ClientTransportSink | null = null;
  readonly #sender = new BatchSender(1, MAX_BATCH, RETRY_CAP, this.stats, () => (this.closed ? null : this.#socket));
  readonly #socket: BatchSocket = {
    sendMany: (items) => {
      const n = Math.min(items.length, this.sendManyLimit);
      if (n > 0) this.batches++;
      for (let k = 0; k < n; k++) this.#deliver(items[k] as Uint8Array);
      return n;
    },
    sendOne: (items, at) => {
      this.#deliver(items[at] as Uint8Array);
      return true;
    },
  };

  constructor(port: number) {
    this.local = { address: "0.0.0.0", port };
  }

  start(sink: ClientTransportSink): void {
    this.#sink = sink;
  }

  /** A datagram from the server arrives (not once closed); the buffer is scribbled over afterwards. */
  receive(data: Uint8Array, truncated = false): void {
    if (this.closed) return;
    if (!this.#sink) throw new Error("FakeClientUdp not started");
    const buf = data.slice();
    this.#sink.datagram(buf, truncated);
    buf.fill(0xdd);
  }

  /** The kernel reports ICMP port unreachable now (counted as a socket error, like the real one). */
  refuse(code = "ECONNREFUSED"): void {
    if (this.closed) return;
    this.stats.socketErrors++;
    this.#sink?.unreachable(code);
  }

  queue(data: Uint8Array): boolean {
    return this.#sender.queue(data);
  }

  flush(): void {
    this.#sender.flush();
  }

  sendNow(data: Uint8Array): boolean {
    if (this.closed) {
      this.stats.sendDrops++;
      return false;
    }
    this.#deliver(data);
    this.stats.sentDatagrams++;
    return true;
  }

  /** Bun's drain callback: the socket buffer has room again. */
  drain(): void {
    this.#sender.onDrain();
  }

  close(): void {
    this.closed = true;
    this.#sink = null;
    this.#sender.clear();
  }

  /** Sent datagrams as text after a 0x00 (handshakes), or "<data>" / "<keepalive>". */
  sentText(): string[] {
    return this.sent.map((d) => (d[0] !== 0 ? "<data>" : d.length === 1 ? "<keepalive>" : new TextDecoder().decode(d.subarray(1))));
  }

  #deliver(data: Uint8Array): void {
    this.sent.push(data.slice());
    if (this.serverGone) setTimeout(() => this.refuse(), 0);
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

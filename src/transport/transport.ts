/**
 * @module transport/transport
 * The UDP side as the engine sees it. `transport/udp.ts` implements it with one
 * Bun.udpSocket; tests use `test/fakes/fake-udp.ts`, which keeps the same limits
 * (test/contract/transport.case.ts runs one suite on both).
 *
 * Addresses are IP literals as the socket reports them. A dual-stack socket reports
 * IPv4 peers as `::ffff:a.b.c.d`; replies go back to exactly that string.
 */

/** Receives datagrams. */
export interface TransportSink {
  /**
   * One datagram. `data` belongs to the transport and is valid only during the call.
   * `truncated` is set when the kernel cut it (MSG_TRUNC).
   */
  datagram(data: Uint8Array, address: string, port: number, truncated: boolean): void;
}

/** Counters the transport keeps itself. */
export interface TransportStats {
  sentDatagrams: number;
  /** Datagrams given up after the bounded retry (kernel buffer full) or a send error. */
  sendDrops: number;
  /** Socket errors reported by the runtime (ICMP unreachable etc.). */
  socketErrors: number;
}

/** One UDP socket. */
export interface Transport {
  /** Bound address and port, e.g. `{ address: "::", port: 8000 }`. */
  readonly local: { address: string; port: number };
  readonly stats: TransportStats;
  /** Starts delivering datagrams to `sink`. */
  start(sink: TransportSink): void;
  /**
   * Queues one datagram for this event-loop turn; `flush()` sends the queue with one
   * `sendMany`. `data` must stay valid until `flush()` returns (a TUN arena view
   * qualifies). Returns false when the queue already holds MAX_BATCH datagrams
   * (transport/udp-base.ts): dropped, counted.
   */
  queue(data: Uint8Array, port: number, address: string): boolean;
  /**
   * Sends everything queued. A short count (a full socket buffer, or a datagram that
   * cannot be sent) leaves a copy of the rest for one retry on drain or the next turn;
   * what still does not go is dropped. Every datagram is sent once or counted as dropped once.
   */
  flush(): void;
  /** Sends one datagram now (control messages). False = dropped (counted). `data` is not kept. */
  sendNow(data: Uint8Array, port: number, address: string): boolean;
  /**
   * Closes the socket: the queue is forgotten, sends fail (counted) and nothing more
   * reaches the sink. Idempotent.
   */
  close(): void;
}

/**
 * @module transport/transport
 * The UDP side as the engine sees it. `transport/udp.ts` implements it with one
 * Bun.udpSocket; tests use `test/fakes/fake-udp.ts`.
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
  start(sink: TransportSink): void;
  /**
   * Queues one datagram for this event-loop turn; `flush()` sends the queue with one
   * `sendMany`. `data` must stay valid until `flush()` returns (a TUN arena view
   * qualifies). Returns false when the queue is full (dropped, counted).
   */
  queue(data: Uint8Array, port: number, address: string): boolean;
  /** Sends everything queued; a short count is retried once on drain, then dropped. */
  flush(): void;
  /** Sends one datagram now (control messages). False = dropped (counted). */
  sendNow(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

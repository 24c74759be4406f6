/**
 * @module transport/udp-base
 * What the server's and the client's Bun.udpSocket transports share: the counters, the
 * batched send (transport/batch.ts), one guarded `send` for control messages, the drain
 * and error callbacks, and close. `udp.ts` (unconnected, replies to any peer) and
 * `client-udp.ts` (connected to the server) add only what differs: how a datagram is
 * addressed, and what a socket error means to their user.
 *
 * Every send is wrapped: an ICMP error pending on the socket makes Bun throw
 * ECONNREFUSED from `send`, and a datagram to an address of the wrong family throws
 * EAFNOSUPPORT; neither may reach the packet loop (the datagram is dropped and counted).
 */

import { errorCode } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { type BatchSocket, BatchSender } from "./batch.ts";
import type { TransportStats } from "./transport.ts";

/** Datagrams one flush can carry (one TUN drain batch is capped below this). */
export const MAX_BATCH = 1024;
/** Datagrams kept for the one retry after a short sendMany. */
export const RETRY_CAP = 256;
/** At most one `udp socket error` line per this interval. */
const ERROR_LOG_INTERVAL_MS = 5000;

/** The part of a Bun UDP socket (connected or not) the base uses. */
export interface BunUdpSocket {
  readonly hostname: string;
  readonly port: number;
  close(): void;
}

/** A Bun.udpSocket with counters, batching and guarded sends; see the module comment. */
export abstract class UdpBase<S extends BunUdpSocket> {
  readonly stats: TransportStats = { sentDatagrams: 0, sendDrops: 0, socketErrors: 0 };
  #sock: S | null = null;
  readonly #log: Logger;
  readonly #sender: BatchSender;
  #lastErrorLog = -Infinity;

  /** `batch(sock)` adapts the socket to the batch sender: `[data]` entries (stride 1) or `[data, port, address]` (3). */
  protected constructor(log: Logger, stride: 1 | 3, batch: (sock: S) => BatchSocket) {
    this.#log = log;
    this.#sender = new BatchSender(stride, MAX_BATCH, RETRY_CAP, this.stats, () => (this.#sock === null ? null : batch(this.#sock)));
  }

  /** @internal Hands over the socket Bun opened. */
  attach(sock: S): void {
    this.#sock = sock;
  }

  /**
   * The socket's file descriptor, for buffer tuning in platform/ (Bun exposes an
   * untyped `fd` getter on UDP sockets), or null when unavailable.
   */
  get fd(): number | null {
    const fd = (this.#sock as unknown as { fd?: unknown } | null)?.fd;
    return typeof fd === "number" && fd >= 0 ? fd : null;
  }

  /** Bound address and port. */
  get local(): { address: string; port: number } {
    return { address: this.#sock?.hostname ?? "", port: this.#sock?.port ?? 0 };
  }

  /** Sends everything queued with one sendMany (see transport/batch.ts). */
  flush(): void {
    this.#sender.flush();
  }

  /** @internal Kernel buffer has room again. */
  onDrain(): void {
    this.#sender.onDrain();
  }

  /** Closes the socket; queued datagrams are dropped. Idempotent. */
  close(): void {
    this.#sock?.close();
    this.#sock = null;
    this.#sender.clear();
  }

  /** Queues one batch entry; false = the batch is full (dropped, counted). */
  protected enqueue(data: Uint8Array, port?: number, address?: string): boolean {
    return this.#sender.queue(data, port, address);
  }

  /** Sends one datagram now with `send(sock)`; false (counted) when closed, refused or throwing. */
  protected sendWith(send: (sock: S) => boolean): boolean {
    const sock = this.#sock;
    if (sock !== null) {
      try {
        if (send(sock)) {
          this.stats.sentDatagrams++;
          return true;
        }
      } catch {
        // ECONNREFUSED from a pending ICMP error, the wrong address family, no route: dropped below.
      }
    }
    this.stats.sendDrops++;
    return false;
  }

  /** @internal Bun's error callback: counted; logged (at most one line per 5 s) unless `handleSocketError` took it. */
  onError(err: unknown): void {
    this.stats.socketErrors++;
    if (this.handleSocketError(errorCode(err) ?? "")) return;
    const now = performance.now();
    if (now - this.#lastErrorLog > ERROR_LOG_INTERVAL_MS) {
      this.#lastErrorLog = now;
      this.#log.warn(`udp socket error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** What a socket error with this code (`ECONNREFUSED`, ...) means here; true = handled, not logged. */
  protected abstract handleSocketError(code: string): boolean;
}

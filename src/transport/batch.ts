/**
 * @module transport/batch
 * The send side both UDP transports share: datagrams queued during one TUN batch go
 * to the kernel with one `sendMany`. A short count is backpressure (or a pending ICMP
 * error, BUN-NOTES §1): the unsent rest is copied into a bounded retry queue (its
 * buffers belong to the TUN arena) and tried once more on `drain` or on the next turn,
 * then dropped and counted. A throwing `sendMany` falls back to one `send` each.
 *
 * Entries are `stride` values wide: `[data]` for a connected socket, `[data, port,
 * address]` for an unconnected one — exactly what Bun's `sendMany` takes.
 */

import type { TransportStats } from "./transport.ts";

/** One entry's worth of values in a sendMany array. */
export type BatchItem = Uint8Array | number | string;

/** The two ways of sending that a Bun UDP socket offers. */
export interface BatchSocket {
  /** Bun's sendMany; returns how many entries went out. */
  sendMany(items: readonly BatchItem[]): number;
  /** Sends the entry starting at `items[at]` alone; false or a throw = not sent. */
  sendOne(items: readonly BatchItem[], at: number): boolean;
}

/** Queue, flush and the one retry, over whatever socket `socket()` returns now. */
export class BatchSender {
  readonly #stride: number;
  readonly #maxBatch: number;
  readonly #retryCap: number;
  readonly #stats: TransportStats;
  readonly #socket: () => BatchSocket | null;
  /** Reused across flushes. */
  readonly #batch: BatchItem[] = [];
  #queued = 0;
  readonly #retry: BatchItem[] = [];
  #retryScheduled = false;

  constructor(stride: 1 | 3, maxBatch: number, retryCap: number, stats: TransportStats, socket: () => BatchSocket | null) {
    this.#stride = stride;
    this.#maxBatch = maxBatch;
    this.#retryCap = retryCap;
    this.#stats = stats;
    this.#socket = socket;
  }

  /** Queues one entry (`stride` values). False = the batch is full (dropped, counted). */
  queue(data: Uint8Array, port?: number, address?: string): boolean {
    if (this.#queued >= this.#maxBatch) {
      this.#stats.sendDrops++;
      return false;
    }
    const i = this.#queued * this.#stride;
    this.#batch[i] = data;
    if (this.#stride === 3) {
      this.#batch[i + 1] = port as number;
      this.#batch[i + 2] = address as string;
    }
    this.#queued++;
    return true;
  }

  /** Sends everything queued with one sendMany. */
  flush(): void {
    const n = this.#queued;
    if (n === 0) return;
    this.#queued = 0;
    const sock = this.#socket();
    if (sock === null) {
      this.#stats.sendDrops += n;
      return;
    }
    const batch = this.#batch;
    if (batch.length !== n * this.#stride) batch.length = n * this.#stride;
    let sent: number;
    try {
      sent = sock.sendMany(batch);
    } catch {
      sent = this.#sendEach(sock, batch, n);
      this.#stats.sentDatagrams += sent;
      this.#stats.sendDrops += n - sent;
      return;
    }
    this.#stats.sentDatagrams += sent;
    if (sent < n) this.#keepForRetry(batch, sent, n);
  }

  /** The kernel has room again: the retry, if any, goes now. */
  onDrain(): void {
    if (this.#retry.length > 0) this.#flushRetry();
  }

  /** Forgets everything queued or waiting for the retry. */
  clear(): void {
    this.#queued = 0;
    this.#retry.length = 0;
  }

  #sendEach(sock: BatchSocket, items: readonly BatchItem[], n: number): number {
    let ok = 0;
    for (let k = 0; k < n; k++) {
      try {
        if (sock.sendOne(items, k * this.#stride)) ok++;
      } catch {
        // counted by the caller
      }
    }
    return ok;
  }

  #keepForRetry(batch: readonly BatchItem[], from: number, to: number): void {
    const w = this.#stride;
    for (let k = from; k < to; k++) {
      if (this.#retry.length >= this.#retryCap * w) {
        this.#stats.sendDrops += to - k;
        break;
      }
      this.#retry.push((batch[k * w] as Uint8Array).slice());
      for (let j = 1; j < w; j++) this.#retry.push(batch[k * w + j] as BatchItem);
    }
    if (!this.#retryScheduled) {
      this.#retryScheduled = true;
      setImmediate(() => this.#flushRetry());
    }
  }

  /** The one retry: whatever does not go now is dropped. */
  #flushRetry(): void {
    this.#retryScheduled = false;
    const r = this.#retry;
    const n = r.length / this.#stride;
    const sock = this.#socket();
    if (n === 0) return;
    let sent = 0;
    if (sock !== null) {
      try {
        sent = sock.sendMany(r);
      } catch {
        sent = this.#sendEach(sock, r, n);
      }
    }
    this.#stats.sentDatagrams += sent;
    this.#stats.sendDrops += n - sent;
    r.length = 0;
  }
}

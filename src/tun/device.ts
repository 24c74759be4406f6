/**
 * @module tun/device
 * The TUN device as the engine sees it: a source of whole IP packets and a sink
 * for them. The Linux implementation lives in `tun/linux.ts` (bun:ffi, via
 * `platform/linux/`); tests use `test/fakes/fake-tun.ts`.
 */

/**
 * Most packets in one batch (between two `flush()` calls). A transport's batch
 * (transport/udp-base.ts MAX_BATCH) is larger, so one TUN batch never overflows it.
 */
export const MAX_TUN_BATCH = 512;

/** Receives packets read from the TUN, in batches. */
export interface TunSink {
  /**
   * One whole IP packet (no packet-info header). `pkt` is a view into the device's
   * read arena: it stays valid until `flush()` of the same batch returns, never longer.
   * Copy anything that must outlive the batch.
   */
  packet(pkt: Uint8Array): void;
  /**
   * End of a batch (at most MAX_TUN_BATCH packets): send what was queued. Called once
   * after every run of `packet()` calls, never for an empty one.
   */
  flush(): void;
}

/** Counters the device keeps itself. */
export interface TunStats {
  /** Packets read from the kernel. */
  readPackets: number;
  /** Packets written to the kernel. */
  writePackets: number;
  /** Writes the kernel refused (EAGAIN, EIO, ...): dropped. */
  writeErrors: number;
}

/** An open, configured TUN interface (IFF_TUN | IFF_NO_PI). */
export interface TunDevice {
  /** Interface name, e.g. `warren0`. */
  readonly name: string;
  /** Interface MTU in bytes. */
  readonly mtu: number;
  readonly stats: TunStats;
  /**
   * Starts delivering packets to `sink`. Never blocks the event loop and never polls
   * while idle. Call once (again, or after close(), throws). A read error (other than
   * EAGAIN/EINTR) or a throwing sink stops reading; `onError` hears of it once and the
   * device stays open (and writable) until close().
   */
  start(sink: TunSink, onError: (err: Error) => void): void;
  /**
   * Writes one whole IP packet. Synchronous; the caller keeps ownership of `pkt`
   * (it is not retained). Returns false when the kernel refused it, when it is empty
   * and after close() (dropped, counted in writeErrors).
   */
  write(pkt: Uint8Array): boolean;
  /**
   * Stops reading (no `packet()` call after it returns) and closes the fd; the kernel
   * removes a non-persistent interface. Idempotent.
   */
  close(): void;
}

/**
 * @module admin/capture
 * Per-client packet capture to pcap files (LINKTYPE_RAW, both directions), bounded in
 * size. The router calls `router.tap` for every packet of every session; the manager
 * sets it only while at least one capture runs (one null check per packet when off), and
 * `router.watch` makes a data-path shortcut hand a captured session's packets to it.
 *
 * The packet path never waits for the disk:
 *   1. tap: the packet is copied (record header + bytes) into the client's current
 *      chunk, a preallocated 256 KiB buffer; a full chunk is queued for writing and a
 *      free one taken. With MAX_CHUNKS queued and none free, the packet is dropped and
 *      counted (`dropped`).
 *   2. a timer (FLUSH_MS) writes queued chunks with async file writes, returning them to
 *      the free list.
 *   3. when the file would exceed maxBytes, recording stops and the file is closed.
 *
 * Files are created O_EXCL|O_NOFOLLOW, mode 0600 (lib/secure-file.ts). A default file
 * name (`<id>-<time>.pcap`, second resolution) that is taken gets a suffix `-2`, `-3`,
 * ... (a client reconnecting within one second); a name the operator chose must be new.
 * The total size of --capture-dir is kept by capture-dir.ts.
 */

import { close as closeCb, write as writeCb } from "node:fs";
import { codeOrMessage, errorCode } from "../lib/errors.ts";
import { logEvent } from "../lib/log-event.ts";
import type { Logger } from "../lib/log.ts";
import { openNew } from "../lib/secure-file.ts";
import { fileHeader, recordSize, writeRecord } from "../protocol/pcap.ts";
import type { PacketTap } from "../server/router.ts";
import type { Session } from "../server/session.ts";

/** Size of one capture buffer, and how many a capture may hold before dropping. */
export const CHUNK_SIZE = 256 * 1024;
export const MAX_CHUNKS = 8;
/** How often buffered packets are written out. */
export const FLUSH_MS = 100;
/** Highest `-N` suffix tried for a default capture file name that is taken. */
export const MAX_SUFFIX = 99;

/** Wall-clock microseconds, for record timestamps. */
const wallMicros = (): number => (performance.timeOrigin + performance.now()) * 1000;

/** What a capture reports. */
export interface CaptureInfo {
  id: string;
  file: string;
  maxBytes: number;
  packets: number;
  bytes: number;
  dropped: number;
}

/** One client's capture file. */
export class CaptureWriter {
  readonly id: string;
  readonly file: string;
  readonly maxBytes: number;
  packets = 0;
  /** Bytes recorded (header included), written or buffered. */
  bytes: number;
  dropped = 0;
  /** True once the size limit was hit (nothing more is recorded). */
  full = false;
  readonly #fd: number;
  #chunk: Uint8Array;
  #view: DataView;
  #off = 0;
  readonly #queued: Array<{ chunk: Uint8Array; len: number }> = [];
  readonly #free: Uint8Array[] = [];
  #chunks = 1;
  #writing: Promise<void> | null = null;
  #closed = false;

  private constructor(id: string, file: string, maxBytes: number, fd: number) {
    this.id = id;
    this.file = file;
    this.maxBytes = maxBytes;
    this.#fd = fd;
    this.#chunk = new Uint8Array(CHUNK_SIZE);
    this.#view = new DataView(this.#chunk.buffer);
    const h = fileHeader();
    this.#chunk.set(h, 0);
    this.#off = h.length;
    this.bytes = h.length;
  }

  /**
   * Creates `file` (must not exist, mode 0600) with the pcap header buffered. The open is
   * synchronous (one syscall, at session start, never per packet) so that a capture
   * started on "session up" records the session's very first packet.
   */
  static create(id: string, file: string, maxBytes: number): CaptureWriter {
    return new CaptureWriter(id, file, maxBytes, openNew(file, 0o600));
  }

  /**
   * Like create, but a taken `file` (`x.pcap`) is not an error: `x-2.pcap`, `x-3.pcap`, ...
   * up to MAX_SUFFIX are tried in turn. Throws the last fs error.
   */
  static createUnique(id: string, file: string, maxBytes: number): CaptureWriter {
    const stem = file.endsWith(".pcap") ? file.slice(0, -".pcap".length) : file;
    for (let i = 1; ; i++) {
      const name = i === 1 ? file : `${stem}-${i}.pcap`;
      try {
        return CaptureWriter.create(id, name, maxBytes);
      } catch (e) {
        if (codeOrMessage(e) !== "EEXIST" || i >= MAX_SUFFIX) throw e;
      }
    }
  }

  /** Records one packet. Synchronous, no allocation in the common case; never throws. */
  record(pkt: Uint8Array): void {
    if (this.full || this.#closed) return;
    const size = recordSize(pkt.length);
    if (this.bytes + size > this.maxBytes) {
      this.full = true;
      return;
    }
    if (this.#off + size > CHUNK_SIZE && !this.#nextChunk()) {
      this.dropped++;
      return;
    }
    this.#off += writeRecord(this.#chunk, this.#view, this.#off, pkt, wallMicros());
    this.bytes += size;
    this.packets++;
  }

  #nextChunk(): boolean {
    const next = this.#free.pop() ?? (this.#chunks < MAX_CHUNKS ? (this.#chunks++, new Uint8Array(CHUNK_SIZE)) : null);
    if (next === null) return false;
    this.#queued.push({ chunk: this.#chunk, len: this.#off });
    this.#chunk = next;
    this.#view = new DataView(next.buffer);
    this.#off = 0;
    return true;
  }

  /** Writes everything buffered so far. Concurrent calls share one write loop. */
  flush(): Promise<void> {
    if (this.#writing) return this.#writing;
    if (this.#off > 0) {
      const spare = this.#free.pop() ?? (this.#chunks < MAX_CHUNKS ? (this.#chunks++, new Uint8Array(CHUNK_SIZE)) : null);
      if (spare !== null) {
        this.#queued.push({ chunk: this.#chunk, len: this.#off });
        this.#chunk = spare;
        this.#view = new DataView(spare.buffer);
        this.#off = 0;
      }
    }
    if (this.#queued.length === 0) return Promise.resolve();
    this.#writing = (async () => {
      try {
        while (this.#queued.length > 0) {
          const q = this.#queued[0] as { chunk: Uint8Array; len: number };
          await writeAll(this.#fd, q.chunk, q.len);
          this.#queued.shift();
          this.#free.push(q.chunk);
        }
      } finally {
        this.#writing = null;
      }
    })();
    return this.#writing;
  }

  /** Flushes and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.flush();
      await this.flush(); // what the first flush could not take (every chunk busy)
    } finally {
      await new Promise<void>((res) => closeCb(this.#fd, () => res()));
    }
  }

  /** Counters for the CLI. */
  info(): CaptureInfo {
    return { id: this.id, file: this.file, maxBytes: this.maxBytes, packets: this.packets, bytes: this.bytes, dropped: this.dropped };
  }
}

/** Writes `buf[0..len)` to `fd` asynchronously (the libuv thread pool), all of it. */
async function writeAll(fd: number, buf: Uint8Array, len: number): Promise<void> {
  let off = 0;
  while (off < len) {
    off += await new Promise<number>((res, rej) => writeCb(fd, buf, off, len - off, null, (e, n) => (e ? rej(e) : res(n))));
  }
}

/** Where the router's tap is installed; `watch` hears of each capture's start and stop. */
export interface TapHost {
  tap: PacketTap | null;
  watch?(s: Session, on: boolean): void;
}

/** All captures of one server; owns router.tap. */
export class CaptureManager {
  readonly #host: TapHost;
  readonly #log: Logger;
  readonly #bySession = new Map<Session, CaptureWriter>();
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Packets dropped by captures that have ended. */
  #droppedEnded = 0;
  readonly #tap: PacketTap = (s, pkt) => {
    const w = this.#bySession.get(s);
    if (w !== undefined) w.record(pkt);
  };

  constructor(host: TapHost, log: Logger) {
    this.#host = host;
    this.#log = log;
  }

  /** Number of running captures. */
  get active(): number {
    return this.#bySession.size;
  }

  /** Packets dropped because a capture's buffers were full (all captures, ever). */
  get dropped(): number {
    let n = this.#droppedEnded;
    for (const w of this.#bySession.values()) n += w.dropped;
    return n;
  }

  /** The capture file of a session, or null. */
  fileOf(s: Session): string | null {
    return this.#bySession.get(s)?.file ?? null;
  }

  /** Running captures as (session, file), oldest first. */
  running(): Array<{ session: Session; file: string }> {
    return [...this.#bySession].map(([session, w]) => ({ session, file: w.file }));
  }

  /**
   * Starts capturing `s` into `file` from the next packet on; with `unique`, a taken
   * default name gets a `-N` suffix instead of failing. Throws a one-line Error when it cannot.
   */
  start(s: Session, file: string, maxBytes: number, unique = false): CaptureInfo {
    const running = this.#bySession.get(s);
    if (running) throw new Error(`${s.label} is already being captured to ${running.file}`);
    if (!s.open) throw new Error(`${s.label} is no longer connected`);
    let w: CaptureWriter;
    try {
      w = unique ? CaptureWriter.createUnique(s.label, file, maxBytes) : CaptureWriter.create(s.label, file, maxBytes);
    } catch (e) {
      throw new Error(`cannot create capture file ${file}: ${errorCode(e) ?? String(e)}`);
    }
    this.#bySession.set(s, w);
    this.#host.tap = this.#tap;
    this.#host.watch?.(s, true);
    this.#timer ??= setInterval(() => this.#tick(), FLUSH_MS);
    this.#log.info(logEvent("capture-start", { session: s.label, file: w.file, maxBytes }, `capture of ${s.label} started: ${w.file} (at most ${maxBytes} bytes)`));
    return w.info();
  }

  /** Stops capturing `s`; null when it was not captured. */
  async stop(s: Session, why = "stopped"): Promise<CaptureInfo | null> {
    const w = this.#bySession.get(s);
    if (!w) return null;
    this.#bySession.delete(s);
    this.#host.watch?.(s, false);
    this.#droppedEnded += w.dropped;
    if (this.#bySession.size === 0) this.#idle();
    try {
      await w.close();
    } catch (e) {
      this.#log.warn(`capture of ${w.id}: cannot finish ${w.file}: ${errorCode(e) ?? String(e)}`);
    }
    const i = w.info();
    const fields = { session: w.id, file: w.file, why, packets: i.packets, bytes: i.bytes, dropped: i.dropped };
    this.#log.info(logEvent("capture-stop", fields, `capture of ${w.id} ${why}: ${i.packets} packets, ${i.bytes} bytes${i.dropped ? `, ${i.dropped} dropped` : ""} in ${w.file}`));
    return i;
  }

  /** Stops every capture (shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#bySession.keys()].map((s) => this.stop(s, "stopped (shutdown)")));
  }

  #idle(): void {
    this.#host.tap = null;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    for (const [s, w] of this.#bySession) {
      if (w.full) void this.stop(s, `stopped at its size limit (${w.maxBytes} bytes)`);
      else w.flush().catch((e: unknown) => {
        this.#log.warn(`capture of ${w.id}: write failed, stopping: ${errorCode(e) ?? String(e)}`);
        void this.stop(s, "stopped after a write error");
      });
    }
  }
}

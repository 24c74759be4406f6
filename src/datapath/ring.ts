/**
 * @module datapath/ring
 * A single-producer single-consumer ring of variable-length records in a
 * SharedArrayBuffer: how a data-path worker hands the packets it does not forward
 * itself (no fast entry, capture on, hub traffic, WireGuard sessions, junk) to the main
 * thread: datagrams to the socket's sink (the front door), TUN packets to the router.
 *
 * Record: u32 payload length, u32 tag, [REC_NAME bytes of sender address for every
 * tag but TAG_TUN], payload, padded to 8 bytes. A length of REC_WRAP means "continue at
 * offset 0". Positions are byte offsets; head === tail means empty, so the producer
 * never fills the ring completely. The producer publishes a record by storing R_HEAD
 * (Atomics, so the bytes before it are visible first); the consumer frees space by
 * storing R_TAIL.
 *
 * Sleep protocol: the consumer stores R_SLEEPING and looks at R_HEAD once more before
 * it waits on R_SIGNAL; the producer, after publishing, wakes it when it sees
 * R_SLEEPING. Both accesses are sequentially consistent, so no wakeup is lost.
 */

import { R_AWAKE, R_HEAD, R_SIGNAL, R_SLEEPING, R_TAIL, REC_HEADER, REC_NAME, REC_NAME_EXTRA, REC_WRAP, RING_HEADER, TAG_TUN } from "./layout.ts";

/** A ring's shared memory with `dataBytes` (a multiple of 8) of record space. */
export function newRing(dataBytes: number): SharedArrayBuffer {
  if (dataBytes % 8 !== 0 || dataBytes < 4096) throw new RangeError(`ring size ${dataBytes}: expected a multiple of 8, at least 4096`);
  return new SharedArrayBuffer(RING_HEADER + dataBytes);
}

/** Record bytes for a payload of `len` (with an address when `named`). */
function recordBytes(len: number, named: boolean): number {
  return REC_HEADER + (named ? REC_NAME : 0) + ((len + 7) & ~7);
}

/** The views either end keeps over a ring's memory: the control words and the data area. */
abstract class RingEnd {
  protected readonly ctl: Int32Array;
  protected readonly u8: Uint8Array;
  protected readonly u32: Uint32Array;
  protected readonly i32: Int32Array;
  protected readonly size: number;

  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, RING_HEADER / 4);
    this.u8 = new Uint8Array(sab, RING_HEADER);
    this.u32 = new Uint32Array(sab, RING_HEADER);
    this.i32 = new Int32Array(sab, RING_HEADER);
    this.size = this.u8.length;
  }
}

/** The producer side (a worker). */
export class RingWriter extends RingEnd {

  /**
   * Appends `src[off, off+len)` with `tag`; for every tag but TAG_TUN also `name[nameOff, +7)`
   * (the sender's sockaddr words) and `extra` (word REC_NAME_EXTRA of the name area). False
   * when the ring is full (the caller counts the drop). The record is visible to the consumer
   * at once; call `wake()` after a batch.
   */
  push(src: Uint8Array, off: number, len: number, tag: number, name: Int32Array | null, nameOff: number, extra = 0): boolean {
    const named = tag !== TAG_TUN;
    const rec = recordBytes(len, named);
    const size = this.size;
    let head = this.ctl[R_HEAD] as number;
    const tail = Atomics.load(this.ctl, R_TAIL);
    if (head >= tail) {
      const fitsAtEnd = head + rec < size || (head + rec === size && tail !== 0);
      if (!fitsAtEnd) {
        if (rec >= tail) return false;
        this.u32[head >>> 2] = REC_WRAP;
        head = 0;
      }
    } else if (head + rec >= tail) {
      return false;
    }
    const w = head >>> 2;
    this.u32[w] = len;
    this.u32[w + 1] = tag;
    let p = head + REC_HEADER;
    if (named && name !== null) {
      for (let k = 0; k < REC_NAME / 4; k++) this.i32[(p >>> 2) + k] = k < REC_NAME_EXTRA ? (name[nameOff + k] as number) : extra;
      p += REC_NAME;
    }
    this.u8.set(src.subarray(off, off + len), p);
    const next = head + rec;
    Atomics.store(this.ctl, R_HEAD, next === size ? 0 : next);
    return true;
  }

  /** Wakes the consumer if it sleeps. */
  wake(): void {
    if (Atomics.load(this.ctl, R_SIGNAL) === R_SLEEPING) {
      Atomics.store(this.ctl, R_SIGNAL, R_AWAKE);
      Atomics.notify(this.ctl, R_SIGNAL);
    }
  }
}

/** What the consumer gets for each record; views are valid until `flush()` returns. */
export interface RingSink {
  record(tag: number, payload: Uint8Array, name: Int32Array, nameOff: number): void;
  /** End of a drain: the views die after this (the space is given back to the producer). */
  flush?(): void;
}

/** The consumer side (the main thread). */
export class RingReader extends RingEnd {

  /** Hands up to `max` records to `sink`; returns how many. Frees their space. */
  drain(sink: RingSink, max: number): number {
    const size = this.size;
    let tail = this.ctl[R_TAIL] as number;
    const head = Atomics.load(this.ctl, R_HEAD);
    let n = 0;
    while (tail !== head && n < max) {
      const len = this.u32[tail >>> 2] as number;
      if (len === REC_WRAP) {
        tail = 0;
        continue;
      }
      const tag = this.u32[(tail >>> 2) + 1] as number;
      const named = tag !== TAG_TUN;
      const p = tail + REC_HEADER + (named ? REC_NAME : 0);
      sink.record(tag, this.u8.subarray(p, p + len), this.i32, (tail + REC_HEADER) >>> 2);
      tail += recordBytes(len, named);
      if (tail === size) tail = 0;
      n++;
    }
    if (n > 0) sink.flush?.();
    Atomics.store(this.ctl, R_TAIL, tail);
    return n;
  }

  /** True when no record waits. */
  empty(): boolean {
    return (this.ctl[R_TAIL] as number) === Atomics.load(this.ctl, R_HEAD);
  }

  /**
   * Announces sleep. Returns false (and stays awake) when a record arrived meanwhile;
   * true = wait on R_SIGNAL while it reads R_SLEEPING (see `signal`).
   */
  sleep(): boolean {
    Atomics.store(this.ctl, R_SIGNAL, R_SLEEPING);
    if (!this.empty()) {
      Atomics.store(this.ctl, R_SIGNAL, R_AWAKE);
      return false;
    }
    return true;
  }

  /** The control words and the index to wait on (Atomics.waitAsync(signal, R_SIGNAL, R_SLEEPING)). */
  get signal(): Int32Array {
    return this.ctl;
  }
}

/**
 * @module datapath/ring-drain
 * The main thread's consumer loop of one ring: sleep in `Atomics.waitAsync` (no timer,
 * no polling while idle), drain up to DRAIN_CAP records into the sink per macrotask,
 * announce sleep, repeat. `stop()` ends it and resolves a pending wait.
 */

import { R_AWAKE, R_SIGNAL, R_SLEEPING } from "./layout.ts";
import { RingReader, type RingSink } from "./ring.ts";

/** Records per turn before yielding to other I/O. */
const DRAIN_CAP = 512;

/** Drains one ring into a sink on the main thread. */
export class RingDrain {
  readonly #reader: RingReader;
  readonly #sink: RingSink;
  #running = true;

  constructor(sab: SharedArrayBuffer, sink: RingSink) {
    this.#reader = new RingReader(sab);
    this.#sink = sink;
    this.#wait();
  }

  #wait(): void {
    if (!this.#running) return;
    if (!this.#reader.sleep()) {
      setImmediate(this.#drain);
      return;
    }
    const r = Atomics.waitAsync(this.#reader.signal, R_SIGNAL, R_SLEEPING);
    if (r.async) void r.value.then(this.#drain);
    else this.#drain();
  }

  readonly #drain = (): void => {
    if (!this.#running) return;
    let n = 0;
    try {
      n = this.#reader.drain(this.#sink, DRAIN_CAP);
    } finally {
      if (n === DRAIN_CAP) setImmediate(this.#drain);
      else this.#wait();
    }
  };

  /** Stops draining (records left in the ring are dropped with it). */
  stop(): void {
    this.#running = false;
    Atomics.store(this.#reader.signal, R_SIGNAL, R_AWAKE);
    Atomics.notify(this.#reader.signal, R_SIGNAL);
  }
}

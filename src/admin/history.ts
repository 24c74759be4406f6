/**
 * @module admin/history
 * The server's recent throughput, kept on the admin side so the dashboard's chart does
 * not start from zero when the page is reloaded: every HISTORY_INTERVAL_MS the server
 * totals are sampled, and the rates over the interval go into a ring of HISTORY_SAMPLES
 * entries (30 minutes). Served as JSON at /api/history. Pure: times are parameters.
 * "rx" is traffic from the clients (in), "tx" traffic to them (out), as in the snapshot.
 */

/** Seconds between samples. */
export const HISTORY_INTERVAL_MS = 10_000;
/** Samples kept: 30 minutes at one per 10 s. */
export const HISTORY_SAMPLES = 180;

/** Monotonic server totals (ServerStats has these). */
export interface Totals {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/** Rates over one interval, per second; `t` is when it ended (wall-clock ms). */
export interface HistorySample {
  t: number;
  rxBits: number;
  txBits: number;
  rxPackets: number;
  txPackets: number;
  sessions: number;
}

/** The body of /api/history. */
export interface HistoryJson {
  intervalSec: number;
  samples: HistorySample[];
}

/** A ring of throughput samples. */
export class ThroughputHistory {
  readonly capacity: number;
  readonly #samples: HistorySample[] = [];
  #last: { t: number; totals: Totals } | null = null;

  constructor(capacity = HISTORY_SAMPLES) {
    this.capacity = capacity;
  }

  /** Takes the totals at wall time `t`; the first call only sets the baseline. Returns the new sample. */
  sample(t: number, totals: Totals, sessions: number): HistorySample | null {
    const last = this.#last;
    this.#last = { t, totals: { rxBytes: totals.rxBytes, rxPackets: totals.rxPackets, txBytes: totals.txBytes, txPackets: totals.txPackets } };
    if (last === null || t <= last.t) return null;
    const sec = (t - last.t) / 1000;
    const rate = (now: number, then: number) => Math.max(0, now - then) / sec;
    const s: HistorySample = {
      t,
      rxBits: Math.round(rate(totals.rxBytes, last.totals.rxBytes) * 8),
      txBits: Math.round(rate(totals.txBytes, last.totals.txBytes) * 8),
      rxPackets: Math.round(rate(totals.rxPackets, last.totals.rxPackets) * 10) / 10,
      txPackets: Math.round(rate(totals.txPackets, last.totals.txPackets) * 10) / 10,
      sessions,
    };
    this.#samples.push(s);
    if (this.#samples.length > this.capacity) this.#samples.shift();
    return s;
  }

  /** Oldest first. */
  toJSON(): HistoryJson {
    return { intervalSec: HISTORY_INTERVAL_MS / 1000, samples: [...this.#samples] };
  }
}

/** A bit rate for people: `0 bit/s`, `950 bit/s`, `12.3 kbit/s`, `1.05 Mbit/s` (SI units). */
export function formatBitRate(bits: number): string {
  const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
  let v = Math.max(0, bits);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const text = i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
  return `${text} ${units[i]}`;
}

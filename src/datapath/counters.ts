/**
 * @module datapath/counters
 * Folds the workers' counters (one Float64Array per worker, each its only writer; layout
 * 1b in layout.ts) into the sessions and the server totals, on the main thread. Nobody
 * ever resets a counter: the main thread keeps, per worker and slot, the values it has
 * folded so far and adds only the difference. A slot handed to a new session starts
 * from the values at that moment, so a packet counted in between goes to whichever
 * session the worker saw (at most one batch, at the instant of a session change).
 *
 * A session that sent data since the last fold gets `lastSeen = now`: the idle sweep
 * folds first, so the workers need no clock.
 */

import type { DataPathStats } from "../server/datapath.ts";
import type { Session } from "../server/session.ts";
import type { ServerStats } from "../server/stats.ts";
import {
  C_DROP_SEND, C_DROP_TUN_WRITE, C_RX_BYTES, C_RX_PACKETS, C_TX_BYTES, C_TX_PACKETS, counterIndex, FOLDED_PER_SLOT,
  G_RX_HANDOFF_DROPS, G_RX_HANDOFFS, G_RX_TRUNCATED, G_TX_HANDOFF_DROPS, G_TX_HANDOFFS, G_TX_NO_SESSION, G_TX_OFFLOAD_DROPS, G_WG_DECRYPT, G_WG_REPLAY, G_WG_UNKNOWN,
} from "./layout.ts";

/** Slot counters folded. */
const N = FOLDED_PER_SLOT;
/** Header counters folded. */
const GLOBALS = [G_TX_NO_SESSION, G_RX_TRUNCATED, G_TX_HANDOFFS, G_RX_HANDOFFS, G_TX_HANDOFF_DROPS, G_RX_HANDOFF_DROPS, G_TX_OFFLOAD_DROPS, G_WG_DECRYPT, G_WG_REPLAY, G_WG_UNKNOWN] as const;

/** The folding state of every worker's counters. */
export class CounterFold {
  readonly #slabs: Float64Array[];
  readonly #owner = new Map<number, Session>();
  /** Per worker: the values folded so far, laid out like the slab. */
  readonly #base: Float64Array[];
  readonly #d = new Float64Array(N);
  readonly #stats: ServerStats;
  readonly #own: DataPathStats;

  constructor(slabs: SharedArrayBuffer[], stats: ServerStats, own: DataPathStats) {
    this.#slabs = slabs.map((s) => new Float64Array(s));
    this.#base = this.#slabs.map((s) => new Float64Array(s.length));
    this.#stats = stats;
    this.#own = own;
  }

  /** Slot `slot` now counts for `s` (from the counters' present values on). */
  attach(slot: number, s: Session): void {
    this.fold(slot, 0);
    this.#owner.set(slot, s);
  }

  /** Folds slot `slot` into `s` one last time and forgets the owner. */
  detach(slot: number, s: Session, now: number): void {
    if (this.#owner.get(slot) !== s) return;
    this.fold(slot, now);
    this.#owner.delete(slot);
  }

  /** Folds every owned slot and the header counters. */
  foldAll(now: number): void {
    for (const slot of this.#owner.keys()) this.fold(slot, now);
    this.#foldGlobals();
  }

  /** Adds slot `slot`'s new counts (all workers) to its owner (if any) and the totals. */
  fold(slot: number, now: number): void {
    const d = this.#d;
    d.fill(0);
    let any = false;
    const at = counterIndex(slot, 0);
    for (let w = 0; w < this.#slabs.length; w++) {
      const cur = this.#slabs[w] as Float64Array;
      const base = this.#base[w] as Float64Array;
      for (let i = 0; i < N; i++) {
        const v = cur[at + i] as number;
        const delta = v - (base[at + i] as number);
        if (delta === 0) continue;
        d[i] = (d[i] as number) + delta;
        base[at + i] = v;
        any = true;
      }
    }
    if (any) this.#apply(this.#owner.get(slot), now);
  }

  #apply(s: Session | undefined, now: number): void {
    this.#add(this.#stats);
    if (s === undefined) return;
    this.#add(s);
    if ((this.#d[C_RX_PACKETS] as number) > 0 && now > s.lastSeen) s.lastSeen = now;
  }

  /** Adds the folded deltas to the server's totals or to one session: the same counters in both. */
  #add(t: Pick<Session, "rxPackets" | "rxBytes" | "txPackets" | "txBytes" | "drops">): void {
    const d = this.#d;
    t.rxPackets += d[C_RX_PACKETS] as number;
    t.rxBytes += d[C_RX_BYTES] as number;
    t.txPackets += d[C_TX_PACKETS] as number;
    t.txBytes += d[C_TX_BYTES] as number;
    t.drops["tun-write"] += d[C_DROP_TUN_WRITE] as number;
    t.drops.send += d[C_DROP_SEND] as number;
  }

  #foldGlobals(): void {
    const sum = GLOBALS.map(() => 0);
    for (let w = 0; w < this.#slabs.length; w++) {
      const cur = this.#slabs[w] as Float64Array;
      const base = this.#base[w] as Float64Array;
      for (let i = 0; i < GLOBALS.length; i++) {
        const g = GLOBALS[i] as number;
        sum[i] = (sum[i] as number) + (cur[g] as number) - (base[g] as number);
        base[g] = cur[g] as number;
      }
    }
    this.#stats.drops["no-session"] += sum[0] as number;
    this.#stats.junk += sum[1] as number;
    this.#own.handoffsTx += sum[2] as number;
    this.#own.handoffsRx += sum[3] as number;
    this.#own.handoffDrops += (sum[4] as number) + (sum[5] as number);
    this.#own.offloadDrops += sum[6] as number;
    // WireGuard messages the workers dropped silently, as the door counts its own.
    const drops = this.#stats.doorDrops;
    if ((sum[7] as number) > 0) drops["wireguard:decrypt"] = (drops["wireguard:decrypt"] ?? 0) + (sum[7] as number);
    if ((sum[8] as number) > 0) drops["wireguard:replay"] = (drops["wireguard:replay"] ?? 0) + (sum[8] as number);
    if ((sum[9] as number) > 0) drops["wireguard:unknown-index"] = (drops["wireguard:unknown-index"] ?? 0) + (sum[9] as number);
  }
}

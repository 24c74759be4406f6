/**
 * @module datapath/wg-side
 * The fast path's WireGuard side on the main thread (server/datapath.ts WgDataPath): the
 * keypair table the workers open and seal with (wg-table.ts), which keypair each session's
 * forwarding slot sends with, and the workers' activity times for the door's timers.
 */

import type { Keypair } from "../protocol/wireguard/keypair.ts";
import type { WgDataPath } from "../server/datapath.ts";
import type { Session } from "../server/session.ts";
import { C_WG_RX_AT, C_WG_RX_DATA_AT, C_WG_RX_WIRE, C_WG_TX_AT, C_WG_TX_WIRE, counterIndex } from "./layout.ts";
import type { FastTable } from "./table.ts";
import { keypairSlots, WgKeypairTable } from "./wg-table.ts";

/** The WireGuard side of a fast path. */
export class WgSide implements WgDataPath {
  readonly keypairs: WgKeypairTable;
  readonly #table: FastTable;
  #slabs: Float64Array[] = [];

  constructor(table: FastTable, mtu: number) {
    this.#table = table;
    this.keypairs = new WgKeypairTable(keypairSlots(table.capacity), mtu);
  }

  /** The workers' counter slabs (once they exist). */
  useSlabs(slabs: readonly SharedArrayBuffer[]): void {
    this.#slabs = slabs.map((s) => new Float64Array(s));
  }

  index(random: number): number {
    return this.keypairs.index(random);
  }

  bind(kp: Keypair, addr4: number, sendKey: Uint8Array, receiveKey: Uint8Array, expiresAt: number): void {
    this.keypairs.bind(kp, this.#table.slotOf(addr4), sendKey, receiveKey, expiresAt);
  }

  free(index: number): void {
    this.keypairs.free(index);
  }

  sending(s: Session, kp: Keypair | null): void {
    const slot = this.#table.slotOf(s.addr4);
    if (slot < 0) return;
    const k = kp === null ? -1 : this.keypairs.slotOf(kp);
    if (kp !== null && k >= 0) this.keypairs.confirm(kp, slot);
    this.#table.setWg(slot, s.serial, k, k < 0 || kp === null ? 0 : kp.localIndex);
  }

  activity(s: Session, out: Float64Array): void {
    out.fill(Number.NaN, 0, 3);
    out.fill(0, 3, 5);
    const slot = this.#table.slotOf(s.addr4);
    if (slot < 0) return;
    for (const c of this.#slabs) {
      for (let i = 0; i < 3; i++) {
        const v = c[counterIndex(slot, TIMES[i] as number)] as number;
        if (v > 0 && !((out[i] as number) >= v)) out[i] = v;
      }
      out[3] = (out[3] as number) + (c[counterIndex(slot, C_WG_RX_WIRE)] as number);
      out[4] = (out[4] as number) + (c[counterIndex(slot, C_WG_TX_WIRE)] as number);
    }
  }
}

/** The three activity times, in the order of WgDataPath.activity. */
const TIMES = [C_WG_RX_AT, C_WG_RX_DATA_AT, C_WG_TX_AT] as const;

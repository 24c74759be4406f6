/**
 * @module server/doors/wireguard/fast
 * The WireGuard door's side of a fast data path that moves WireGuard transport data itself
 * (server/datapath.ts WgDataPath): the device shares every new keypair with it (receiver
 * indices bent onto shared slots, keys, counter and replay window in shared memory); after
 * every event that can change a peer's current keypair the door tells the data path which one
 * the session sends with; on every tick the workers' activity times reach the peers' timers,
 * as if the door had moved those packets itself.
 */

import { REJECT_AFTER_TIME } from "../../../protocol/wireguard/constants.ts";
import type { Device } from "../../../protocol/wireguard/device.ts";
import type { KeypairShare } from "../../../protocol/wireguard/indices.ts";
import type { Peer } from "../../../protocol/wireguard/peer.ts";
import { type Clock, unixMs } from "../../../lib/clock.ts";
import type { DataPath, WgDataPath } from "../../datapath.ts";
import type { PeerBook, WgEntry } from "./peers.ts";

/** The glue; see the module comment. */
export class FastGlue {
  #dp: DataPath | null = null;
  #wg: WgDataPath | null = null;
  readonly #device: Device;
  readonly #book: PeerBook;
  readonly #clock: Clock;
  readonly #seen = new Float64Array(5);

  constructor(device: Device, book: PeerBook, clock: Clock) {
    this.#device = device;
    this.#book = book;
    this.#clock = clock;
  }

  /** The data path now running (null: none, or it fell back); new keypairs are shared with it from now on. */
  use(dp: DataPath | null): void {
    this.#dp = dp;
    this.#wg = dp?.wireGuard ?? null;
    this.#device.keypairShare = this.#wg === null ? null : this.#share(this.#wg);
    for (const e of this.#book.entries()) {
      e.sending = null;
      this.publish(e);
    }
  }

  #share(wg: WgDataPath): KeypairShare<Peer> {
    return {
      index: (random) => wg.index(random),
      bind: (peer, kp, sendKey, receiveKey) => {
        const e = this.#book.ofPeer(peer);
        if (e === undefined) return;
        const expiresAt = unixMs() + (kp.createdAt + REJECT_AFTER_TIME - this.#clock.now());
        wg.bind(kp, e.spec.addr4, sendKey, receiveKey, expiresAt);
      },
      free: (index) => wg.free(index),
    };
  }

  /** Tells the data path which keypair `e`'s session sends with, when that changed. */
  publish(e: WgEntry): void {
    const wg = this.#wg;
    const s = e.session;
    if (wg === null || s === null || !s.open) return;
    const kp = e.peer.keypairs.current;
    if (kp === e.sending) return;
    e.sending = kp;
    wg.sending(s, kp);
  }

  /** The session of `e` moved (roaming): its endpoint in the forwarding table follows. */
  moved(e: WgEntry): void {
    if (e.session !== null) this.#dp?.moved(e.session);
  }

  /** Passes the workers' activity since the last tick to the peers (timers, lastSeen, transfer bytes). */
  tick(now: number): void {
    const wg = this.#wg;
    if (wg === null) return;
    const seen = this.#seen;
    const unix = unixMs();
    for (const e of this.#book.entries()) {
      const s = e.session;
      if (s === null || !s.open) continue;
      wg.activity(s, seen);
      const r = e.reported;
      // The byte totals are the slot's over sessions: a new session counts from its first tick.
      if (e.reportedFor === s) {
        e.peer.rxBytes += (seen[3] as number) - (r[3] as number);
        e.peer.txBytes += (seen[4] as number) - (r[4] as number);
      }
      e.reportedFor = s;
      r[3] = seen[3] as number;
      r[4] = seen[4] as number;
      const rx = newer(seen, r, 0);
      const rxData = newer(seen, r, 1);
      const tx = newer(seen, r, 2);
      if (rx >= 0 || tx >= 0) {
        // Unix ms -> this clock's ms: the same distance into the past.
        const rxAt = now - (unix - rx);
        e.peer.activity(rxAt, now - (unix - rxData), now - (unix - tx), now);
        if (rxAt > s.lastSeen) s.lastSeen = rxAt; // keepalives count as life, as on the main thread
        for (let i = 0; i < 3; i++) if ((seen[i] as number) > (r[i] as number)) r[i] = seen[i] as number;
      }
    }
  }
}

/** Time `i` of `seen` when it is newer than the one reported, else NaN (nothing new). */
function newer(seen: Float64Array, reported: Float64Array, i: number): number {
  const v = seen[i] as number;
  return v > (reported[i] as number) ? v : Number.NaN;
}

/**
 * @module server/datapath
 * The seam between the server and a data-path shortcut (`--data-path fast`,
 * datapath/fast-path.ts): threads that move data packets between the TUN and the clients
 * of one UDP socket without the main thread, and hand everything else over exactly as if
 * the simple path had received it: datagrams to that socket's sink (the ToyVpn door, or
 * the DoorMux of the doors sharing the socket), TUN packets to the router. The server
 * tells it about sessions and captures, and asks it to fold its counters into the
 * sessions and the totals before anyone reads them. Without one (`simple`), the router
 * sees every packet.
 *
 * Rules a shortcut keeps (the same tests run on both paths): a packet it delivers itself
 * passes the same anti-spoofing test as in the router (inner source address = the
 * session's, sent from the session's endpoint); hub traffic, isolation, junk, unknown
 * endpoints and every packet of a captured session or of a session it cannot serve
 * (WireGuard: encrypted) go the simple way; its counts end up in the same counters.
 */

import type { Keypair } from "../protocol/wireguard/keypair.ts";
import type { TransportSink } from "../transport/transport.ts";
import type { TunSink } from "../tun/device.ts";
import type { Session } from "./session.ts";
import type { ServerStats } from "./stats.ts";

/** Where a shortcut hands over what it does not deliver itself. */
export interface DataPathSinks {
  /** The sink of the socket it shares: a datagram as if that socket had received it. */
  readonly datagrams: TransportSink;
  /** The router: a TUN packet as if the TUN reader had read it (batches end with flush()). */
  readonly packets: TunSink;
  /** The sink of WireGuard's own socket, when the shortcut joined it too. */
  readonly wgDatagrams?: TransportSink;
  /**
   * The WireGuard door: a transport message a worker opened (in place) for receiver `index`
   * and hands over for the door to finish (confirm a keypair, roaming, hub traffic, capture).
   */
  readonly wgOpened?: (index: number, msg: Uint8Array, address: string, port: number) => void;
}

/**
 * What a shortcut that also moves WireGuard transport data offers the WireGuard door: the
 * door shares its keypairs (datagrams steered by receiver index, keys, an atomic send
 * counter and the replay window in shared memory) and says which one each session sends
 * with; the shortcut reports when its threads last moved a session's data, for the timers.
 */
export interface WgDataPath {
  /** The receiver index to use for 32 random bits (bent onto a free shared slot). */
  index(random: number): number;
  /** Shares a fresh keypair of the peer whose tunnel address is `addr4` (expiry in Unix ms); may leave it unshared. */
  bind(kp: Keypair, addr4: number, sendKey: Uint8Array, receiveKey: Uint8Array, expiresAt: number): void;
  /** A receiver index is free again. */
  free(index: number): void;
  /** Session `s` sends with `kp` now (null: none; its packets reach the door). */
  sending(s: Session, kp: Keypair | null): void;
  /**
   * Into out[0..4]: Unix ms of the threads' last authenticated message from `s`, last data from
   * it, last data to it (NaN: never); then the bytes of messages they opened and sealed for its
   * tunnel address so far (running totals, over sessions: the caller takes differences).
   */
  activity(s: Session, out: Float64Array): void;
}

/** Counters of the shortcut itself. */
export interface DataPathStats {
  /** Packets handed to the main thread (tx: from the TUN, rx: from clients). */
  handoffsTx: number;
  handoffsRx: number;
  /** Packets dropped because the hand-over queue to the main thread was full. */
  handoffDrops: number;
  /** TUN packets with an offload the shortcut could not undo. */
  offloadDrops: number;
}

/** A data-path shortcut, opened but not started. */
export interface DataPath {
  /** For the log: `fast (2 workers, coalescing, TSO)`. */
  readonly name: string;
  /** The listen address of the socket it shares (its datagrams go to that socket's sink). */
  readonly listen: { host: string; port: number };
  readonly stats: DataPathStats;
  /** WireGuard's own listen address when the shortcut joined that socket too, else null. */
  readonly wgListen: { host: string; port: number } | null;
  /** Its WireGuard side, or null (WireGuard sessions then go through the door for every packet). */
  readonly wireGuard: WgDataPath | null;
  /**
   * Starts moving packets; hands the rest to `sinks`, folds its counts into `stats` (on
   * sync). `onFail` is called once if it stops on its own (the server falls back).
   */
  start(sinks: DataPathSinks, stats: ServerStats, onFail: (err: Error) => void): void;
  /** A session opened: forward its packets (a session it cannot serve gets all of them handed over). */
  sessionUp(s: Session): void;
  /** A session is closing: fold its last counters into it, stop forwarding for it. */
  sessionDown(s: Session): void;
  /** Hand over every packet of `s` (capture on) or not. */
  setSlow(s: Session, slow: boolean): void;
  /** The endpoint of `s` changed (WireGuard roaming). */
  moved(s: Session): void;
  /** Folds its counters into the sessions and `stats`; sessions that sent data get `lastSeen = now`. */
  sync(now: number): void;
  /** Stops the threads (bounded wait) and closes what it opened. Idempotent. */
  close(): void;
}

/** What the server gives the factory of a shortcut (after the TUN and the sockets are open). */
export interface DataPathPools {
  pool4: { network: number; prefixLen: number; serverAddress: number };
  pool6: { prefix: Uint8Array; prefixLen: number } | null;
  mtu: number;
}

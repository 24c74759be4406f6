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

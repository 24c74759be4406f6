/**
 * @module server/door
 * The front-door seam. A front door translates between one wire protocol and plain IP
 * packets: it reads datagrams from its UDP transport, authenticates peers, opens
 * sessions in the SessionTable, hands their packets to the Router (`fromSession`), and
 * delivers the packets the Router queues for them (SessionDoor). Everything else
 * (pools, anti-spoofing, hub/isolation, counters, capture, hooks, admin views) is the
 * server's and does not know which protocol a session speaks.
 *
 * The server opens one transport per listen address; doors that share one (ToyVpn and
 * WireGuard on one port) are told apart by `claims` (DoorMux).
 */

import type { Lockout } from "../auth/ratelimit.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { Transport, TransportSink } from "../transport/transport.ts";
import type { DataPath } from "./datapath.ts";
import type { Router } from "./router.ts";
import type { Protocol, SessionDoor } from "./session.ts";
import type { SessionTable } from "./sessions.ts";
import type { ServerStats } from "./stats.ts";

/** A runtime change the server passes on to its doors (see Server.setLive). */
export type DoorChange = { key: "secret"; value: string };

/** Outcome of a runtime change: applied, not this door's business, or refused with a reason. */
export type DoorChangeResult = "applied" | "ignored" | { error: string };

/** A running front door. */
export interface FrontDoor extends SessionDoor, TransportSink {
  readonly protocol: Protocol;
  /** On a shared socket: true when the datagram is this protocol's (checked on the first bytes only). */
  claims(d: Uint8Array): boolean;
  /** Sends what `queue` gathered during one TUN batch. */
  flush(): void;
  /** Periodic upkeep (timers, forgetting old state); called on every sweep. */
  tick(now: number): void;
  /** A runtime change; most doors ignore most changes. */
  change(c: DoorChange): DoorChangeResult;
  /** Sources its handshake limiter has locked out (doors without one: none). */
  lockouts?(now: number): Lockout[];
  /** Lifts the lockout of the source `address` belongs to; false when it had none. */
  unlock?(address: string): boolean;
  /** The data-path shortcut now running (null: the simple path, also after a fallback). */
  useDataPath?(dp: DataPath | null): void;
  /** A message a shortcut's worker opened for this door to finish (DataPathSinks.wgOpened). */
  opened?(index: number, msg: Uint8Array, address: string, port: number): void;
  /** Stops answering; sessions are closed by the server. Idempotent. */
  close(): void;
}

/** What the server gives a door when it creates it. */
export interface DoorContext {
  readonly sessions: SessionTable;
  readonly router: Router;
  readonly transport: Transport;
  readonly stats: ServerStats;
  readonly clock: Clock;
  readonly log: Logger;
  /** Keeps these tunnel addresses (the door's fixed ones) out of dynamic leases; replaces the door's previous set. */
  reserveAddresses(addrs: ReadonlySet<number>): void;
}

/** How to build a front door: where it listens, and the factory. */
export interface DoorSpec {
  readonly protocol: Protocol;
  readonly listen: { host: string; port: number };
  create(ctx: DoorContext): FrontDoor;
}

/** One transport's sink when several doors share it: the first door that claims a datagram gets it. */
export class DoorMux implements TransportSink {
  readonly #doors: readonly FrontDoor[];
  readonly #fallback: FrontDoor;

  /** `doors[0]` also takes what nobody claims (it counts it as junk). */
  constructor(doors: readonly FrontDoor[]) {
    if (doors.length === 0) throw new Error("DoorMux needs a door");
    this.#doors = doors;
    this.#fallback = doors[0] as FrontDoor;
  }

  datagram(data: Uint8Array, address: string, port: number, truncated: boolean): void {
    const doors = this.#doors;
    for (let i = 0; i < doors.length; i++) {
      const d = doors[i] as FrontDoor;
      if (d.claims(data)) return d.datagram(data, address, port, truncated);
    }
    this.#fallback.datagram(data, address, port, truncated);
  }
}

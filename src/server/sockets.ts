/**
 * @module server/sockets
 * The server's UDP sockets: one per distinct listen address of the front doors, opened
 * in door order; each delivers to its door, or to a DoorMux when doors share it (the
 * first door of that address takes what nobody claims).
 */

import type { Transport, TransportSink } from "../transport/transport.ts";
import { DoorMux, type FrontDoor } from "./door.ts";

/** A listen address. */
type Listen = { host: string; port: number };

/** The key of a listen address in the socket maps. */
export function listenKey(l: Listen): string {
  return `${l.host}|${l.port}`;
}

/** Opens one socket per distinct address in `listens`; on a failure closes what it opened and rethrows. */
export async function openSockets(listens: readonly Listen[], open: (host: string, port: number) => Promise<Transport>): Promise<Map<string, Transport>> {
  const transports = new Map<string, Transport>();
  try {
    for (const l of listens) {
      const key = listenKey(l);
      if (!transports.has(key)) transports.set(key, await open(l.host, l.port));
    }
  } catch (e) {
    for (const t of transports.values()) t.close();
    throw e;
  }
  return transports;
}

/**
 * Starts every socket, delivering to the doors listening on it (`doors[i]` listens on
 * `listens[i]`); returns each socket's sink by listen key.
 */
export function startSockets(transports: ReadonlyMap<string, Transport>, doors: readonly FrontDoor[], listens: readonly Listen[]): Map<string, TransportSink> {
  const sinks = new Map<string, TransportSink>();
  for (const [key, t] of transports) {
    const mine = doors.filter((_d, i) => listenKey(listens[i] as Listen) === key);
    const sink = mine.length === 1 ? (mine[0] as FrontDoor) : new DoorMux(mine);
    sinks.set(key, sink);
    t.start(sink);
  }
  return sinks;
}

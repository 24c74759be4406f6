/**
 * @module server/datapath-host
 * The server's side of a data-path shortcut (server/datapath.ts): starting it on the
 * socket it shares, or falling back to the simple path (the TUN's own reader and the
 * router) when it cannot open, cannot start, or stops on its own later; passing session
 * and capture changes on; folding its counters before they are read.
 *
 *   open (factory throws: simple path, logged) -> start (throws: closed, simple path)
 *   -> running -> onFail (a worker died): fold once more, simple path from then on
 */

import { oneLine } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { formatEndpoint } from "../protocol/ip.ts";
import type { TransportSink } from "../transport/transport.ts";
import type { DataPath } from "./datapath.ts";
import type { FrontDoor } from "./door.ts";
import type { Router } from "./router.ts";
import type { Session } from "./session.ts";
import type { ServerStats } from "./stats.ts";

/** What the host works with. */
export interface DataPathHostDeps {
  router: Router;
  stats: ServerStats;
  log: Logger;
  now(): number;
  /** Starts the simple path's TUN reader (once: at start, or at a fallback). */
  startTunReader(): void;
  /** False once the server is stopping (no fallback then). */
  running(): boolean;
  /** The doors, told which shortcut runs (FrontDoor.useDataPath). */
  doors: readonly FrontDoor[];
}

/** Runs at most one shortcut for the server; see the module comment. */
export class DataPathHost {
  readonly #d: DataPathHostDeps;
  #dp: DataPath | null = null;

  constructor(deps: DataPathHostDeps) {
    this.#d = deps;
  }

  /** The shortcut moving data packets now, or null (the simple path). */
  get current(): DataPath | null {
    return this.#dp;
  }

  /**
   * Opens (`open`, may throw) and starts a shortcut on the socket whose sink `sinkOf`
   * gives; else starts the simple path. Never throws.
   */
  start(open: (() => DataPath) | undefined, sinkOf: (listen: { host: string; port: number }) => TransportSink | undefined): void {
    const d = this.#d;
    if (open === undefined) return this.#simple();
    let dp: DataPath | null = null;
    try {
      dp = open();
      const datagrams = sinkOf(dp.listen);
      if (datagrams === undefined) throw new Error(`no socket listens on ${formatEndpoint(dp.listen.host, dp.listen.port)}`);
      const wgDatagrams = dp.wgListen === null ? undefined : sinkOf(dp.wgListen);
      const wgDoor = d.doors.find((door) => door.opened !== undefined);
      const wgOpened = wgDoor === undefined ? undefined : (index: number, msg: Uint8Array, address: string, port: number) => wgDoor.opened?.(index, msg, address, port);
      dp.start({ datagrams, packets: d.router, ...(wgDatagrams && { wgDatagrams }), ...(wgOpened && { wgOpened }) }, d.stats, (err) => this.#failed(err));
    } catch (e) {
      dp?.close();
      d.log.warn(`fast data path unavailable, using the simple one: ${oneLine(e)}`);
      return this.#simple();
    }
    const started = dp;
    this.#dp = started;
    d.router.onWatch = (s, on) => started.setSlow(s, on);
    for (const door of d.doors) door.useDataPath?.(started);
    d.log.info(`data path: ${started.name}`);
  }

  /** A session opened (called before anyone else hears of it). */
  up(s: Session): void {
    this.#dp?.sessionUp(s);
  }

  /** A session's endpoint changed (WireGuard roaming). */
  moved(s: Session): void {
    this.#dp?.moved(s);
  }

  /** A session closed (called before the log line and the listeners read its counters). */
  down(s: Session): void {
    this.#dp?.sessionDown(s);
  }

  /** Folds the shortcut's counters into sessions and stats. */
  sync(): void {
    this.#dp?.sync(this.#d.now());
  }

  /** Stops the shortcut (before the TUN and the sockets close). */
  close(): void {
    this.#dp?.close();
  }

  #failed(err: Error): void {
    const dp = this.#dp;
    const d = this.#d;
    if (dp === null) return;
    dp.sync(d.now()); // what it counted up to its end
    this.#dp = null;
    d.router.onWatch = null;
    for (const door of d.doors) door.useDataPath?.(null);
    if (!d.running()) return;
    d.log.error(`fast data path stopped, falling back to the simple one: ${oneLine(err)}`);
    this.#simple();
  }

  #simple(): void {
    this.#d.log.info("data path: simple (the main thread moves every packet)");
    this.#d.startTunReader();
  }
}

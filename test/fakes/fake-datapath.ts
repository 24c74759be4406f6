/**
 * @module test/fakes/fake-datapath
 * A DataPath (src/server/datapath.ts) without threads, for component tests of the
 * server's side of the seam: it records what the server tells it, plays a worker handing
 * datagrams and TUN packets over (`handDatagram`, `handPackets`), keeps counts it will
 * fold into a session on the next sync or session-down (`count`), and can fail on start
 * or later (`failStart`, `fail`).
 */

import type { DataPath, DataPathSinks, DataPathStats, WgDataPath } from "../../src/server/datapath.ts";
import type { Session } from "../../src/server/session.ts";
import type { ServerStats } from "../../src/server/stats.ts";

/** The fake; see the module comment. */
export class FakeDataPath implements DataPath {
  readonly name = "fake (0 workers)";
  readonly listen: { host: string; port: number };
  readonly stats: DataPathStats = { handoffsTx: 0, handoffsRx: 0, handoffDrops: 0, offloadDrops: 0 };
  readonly wgListen = null;
  readonly wireGuard: WgDataPath | null = null;
  /** What the server called, in order: `start`, `up #1`, `down #1`, `slow #1 on`, `sync`, `close`. */
  readonly calls: string[] = [];
  /** Sessions it serves (up and not down). */
  readonly serving = new Set<Session>();
  /** start() throws. */
  failStart = false;
  #sinks: DataPathSinks | null = null;
  #stats: ServerStats | null = null;
  #onFail: (err: Error) => void = () => {};
  readonly #pending = new Map<Session, number>();

  constructor(listen: { host: string; port: number }) {
    this.listen = listen;
  }

  start(sinks: DataPathSinks, stats: ServerStats, onFail: (err: Error) => void): void {
    this.calls.push("start");
    if (this.failStart) throw new Error("no workers today");
    this.#sinks = sinks;
    this.#stats = stats;
    this.#onFail = onFail;
  }

  sessionUp(s: Session): void {
    this.calls.push(`up ${s.label}`);
    this.serving.add(s);
  }

  sessionDown(s: Session): void {
    this.calls.push(`down ${s.label}`);
    this.#fold(s, s.lastSeen);
    this.serving.delete(s);
  }

  setSlow(s: Session, slow: boolean): void {
    this.calls.push(`slow ${s.label} ${slow ? "on" : "off"}`);
  }

  moved(s: Session): void {
    this.calls.push(`moved ${s.label}`);
  }

  sync(now: number): void {
    this.calls.push("sync");
    for (const s of [...this.#pending.keys()]) this.#fold(s, now);
  }

  close(): void {
    this.calls.push("close");
  }

  /** A worker forwarded `packets` packets from `s` to the TUN (folded on the next sync or session-down). */
  count(s: Session, packets: number): void {
    this.#pending.set(s, (this.#pending.get(s) ?? 0) + packets);
  }

  /** A worker hands over a datagram it did not deliver itself. */
  handDatagram(d: Uint8Array, address: string, port: number): void {
    this.#sinks?.datagrams.datagram(d, address, port, false);
  }

  /** A worker hands over a WireGuard message it opened, for the door to finish. */
  handOpened(index: number, msg: Uint8Array, address: string, port: number): void {
    this.#sinks?.wgOpened?.(index, msg, address, port);
  }

  /** A worker hands over TUN packets it did not send itself, as one batch. */
  handPackets(...pkts: Uint8Array[]): void {
    const sink = this.#sinks?.packets;
    if (sink === undefined) return;
    for (const p of pkts) sink.packet(p);
    sink.flush();
  }

  /** A worker died. */
  fail(err: Error): void {
    this.#onFail(err);
  }

  #fold(s: Session, now: number): void {
    const n = this.#pending.get(s) ?? 0;
    this.#pending.delete(s);
    if (n === 0 || this.#stats === null) return;
    s.rxPackets += n;
    this.#stats.rxPackets += n;
    s.lastSeen = now;
  }
}

/**
 * @module datapath/fast-path
 * `--data-path fast`: the DataPath (server/datapath.ts) with N Worker threads (one per
 * core, at most MAX_WORKERS), each moving both directions for its share of the clients:
 *
 *   worker i: data socket i (the kernel steers a client's datagrams by its tunnel address,
 *             platform/linux/steer.ts) and TUN queue i (IFF_MULTI_QUEUE; the kernel
 *             returns a flow's packets to the queue that wrote it): recvmmsg -> anti-spoof
 *             lookup -> write(TUN); read(TUN) -> lookup by destination -> sendmmsg (loop.ts)
 *   main:     Bun.udpSocket (everything that is not data goes there: handshakes,
 *             keepalives, WireGuard handshakes), the session table, admin, and the
 *             socket's sink / the router for every packet a worker hands over through its
 *             rings (no fast entry, capture on, hub traffic, junk)
 *
 * The main thread owns the forwarding table (table.ts): a slot per tunnel address,
 * written on session up/down and capture start/stop. ToyVpn sessions (raw IP in UDP) are
 * forwarded by the workers; so are WireGuard sessions when `wireGuard` is given (the door
 * runs on OpenSSL): the workers seal and open their transport data with the keypair table
 * (wg-side.ts, wg-table.ts, wg-keys.ts), joining WireGuard's own port when it has one. Any
 * other session's slot is SLOW, so its TUN packets reach the router and its door. Workers
 * count into their own counter slabs; the main thread folds them into the sessions on
 * demand (counters.ts).
 * Lifecycle: open (data sockets, TUN queues, table) -> start (workers, ring consumers) ->
 * close (STOP + wake, bounded wait for CTL_DONE, then the data sockets and extra queues
 * are closed, so the kernel steers everything to Bun's socket and queue 0 again). If a
 * worker stops on its own, the next sync() notices, closes the rest and calls onFail:
 * the server then falls back to the simple path.
 */

import { availableParallelism } from "node:os";
import { SysError, WarrenError } from "../lib/errors.ts";
import { findWorker } from "../lib/worker-url.ts";
import { EFD_CLOEXEC, EFD_NONBLOCK, errno, EVENTFD_WORD, libc } from "../platform/linux/libc.ts";
import { openSteeredSockets, type SteeredSockets } from "../platform/linux/steer.ts";
import { openTun, setTunOffload, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6 } from "../platform/linux/tun.ts";
import type { DataPath, DataPathPools, DataPathSinks, DataPathStats } from "../server/datapath.ts";
import type { Session } from "../server/session.ts";
import type { ServerStats } from "../server/stats.ts";
import { CounterFold } from "./counters.ts";
import {
  counterBytes, CTL_DONE, CTL_ERRNO, CTL_STARTED, CTL_STATE, CTL_STOP, CTL_WORDS, REC_NAME_EXTRA, TAG_DATAGRAM, TAG_WG_DATAGRAM, TAG_WG_OPENED,
  type WorkerStart,
} from "./layout.ts";
import { RingDrain } from "./ring-drain.ts";
import { newRing } from "./ring.ts";
import { decodeEndpoint, encodeEndpoint, FastTable } from "./table.ts";
import { WgSide } from "./wg-side.ts";

/** Messages per recvmmsg/sendmmsg. */
const BATCH = 64;
/** Bytes of each hand-over ring. */
const RING_BYTES = 1024 * 1024;
/** Longest wait for a worker to leave its loop (its poll timeout is 1 s). */
const STOP_WAIT_MS = 1100;
/** Most workers. */
export const MAX_WORKERS = 4;
const WORKER_CANDIDATES = ["./worker.ts", "./worker.js", "./datapath/worker.js", "./src/datapath/worker.js"];
const WORKER_HINT = "build with `bun build.ts` (src/datapath/worker.ts is an entry point)";

/** What the fast path needs from the server's setup (cli/server-datapath.ts). */
export interface FastPathOptions extends DataPathPools {
  /** The listen address of the socket it joins. */
  listen: { host: string; port: number };
  /** The TUN's first queue (LinuxTun's fd; the interface must be IFF_MULTI_QUEUE for more than one worker). */
  tunFd: number;
  /** Interface name, to open more queues. */
  tunName: string;
  /** Bytes of virtio_net_hdr on the TUN (it was created with IFF_VNET_HDR), else 0 (no offloads). */
  vnet: number;
  /** Bun's UDP socket fd: the data sockets join its port. */
  controlFd: number;
  /** Socket buffers of each data socket (0 = kernel default). */
  udpBuffer: number;
  /** Worker threads; default: one per core, at most MAX_WORKERS. */
  workers?: number;
  /** With vnet: partial checksums and TCP segmentation offload (TSO4/6) on reads (default true). */
  tso?: boolean;
  /** With tso: send segments as UDP_SEGMENT runs (default true). */
  udpGso?: boolean;
  /** With tso: pace bulk sends to a client, at most 64 KiB of TSO data a turn and a 100 us pause after one (default true). */
  pace?: boolean;
  /** Let datagrams gather for up to 100 us (a TUN packet ends the wait) after a turn that received 4 or more without filling the batch (default true). */
  linger?: boolean;
  /** With vnet: coalesce UDP flows into UDP_L4 GSO writes too (default false: measured not to pay). */
  coalesceUdp?: boolean;
  /**
   * WireGuard transport data on the workers too (the door runs with the OpenSSL AEAD): its own
   * listen address and socket, or `controlFd` null when it shares the socket of `listen`.
   */
  wireGuard?: { listen: { host: string; port: number }; controlFd: number | null };
}

/** One worker and what it was given. */
interface Thread {
  worker: Worker | null;
  ctl: Int32Array;
  wakeFd: number;
  counters: SharedArrayBuffer;
}

/** Closes fds, ignoring errors (cleanup paths). */
function closeAll(fds: readonly number[]): void {
  for (const fd of fds) libc.close(fd);
}

/** Opens the data sockets, the extra TUN queues and the table; `start()` starts the threads. Throws SysError. */
export function openFastPath(opts: FastPathOptions): FastPath {
  const n = Math.max(1, Math.min(MAX_WORKERS, opts.workers ?? availableParallelism()));
  const wg = opts.wireGuard;
  const socks = openSteeredSockets(opts.controlFd, n, opts.udpBuffer, { ip: true, wg: wg !== undefined && wg.controlFd === null });
  const queues = [opts.tunFd];
  let wgSocks: SteeredSockets | null = null;
  try {
    if (wg !== undefined && wg.controlFd !== null) wgSocks = openSteeredSockets(wg.controlFd, n, opts.udpBuffer, { ip: false, wg: true });
    for (let i = 1; i < n; i++) queues.push(openTun(opts.tunName, { multiQueue: true, vnetHdr: opts.vnet > 0 }).fd);
    if (opts.vnet > 0 && opts.tso !== false) setTunOffload(opts.tunFd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
  } catch (e) {
    closeAll([...socks.fds, ...(wgSocks?.fds ?? []), ...queues.slice(1)]);
    throw e;
  }
  const p4 = opts.pool4;
  const table = new FastTable({ pool4Network: p4.network, pool4PrefixLen: p4.prefixLen, server4: p4.serverAddress, pool6: opts.pool6 }, 2 ** (32 - p4.prefixLen));
  return new FastPath(opts, { ...socks, wgFds: wgSocks?.fds ?? [], wgFamily: wgSocks?.family ?? socks.family }, queues, table);
}

/** The data sockets of a fast path: the group of `listen`, and WireGuard's own group (empty when it shares). */
interface DataSockets {
  fds: number[];
  family: number;
  wgFds: number[];
  wgFamily: number;
}

/** The fast data path; see the module comment. */
export class FastPath implements DataPath {
  readonly name: string;
  readonly listen: { host: string; port: number };
  readonly stats: DataPathStats = { handoffsTx: 0, handoffsRx: 0, handoffDrops: 0, offloadDrops: 0 };
  readonly wgListen: { host: string; port: number } | null;
  readonly wireGuard: WgSide | null;
  readonly #opts: FastPathOptions;
  readonly #udpFds: number[];
  readonly #wgFds: number[];
  /** TUN queue fds; [0] belongs to LinuxTun, the others to us. */
  readonly #queues: number[];
  readonly #family: number;
  readonly #wgFamily: number;
  readonly #table: FastTable;
  readonly #threads: Thread[] = [];
  readonly #drains: RingDrain[] = [];
  readonly #slow = new Set<Session>();
  #fold: CounterFold | null = null;
  #onFail: (err: Error) => void = () => {};
  #closed = false;

  constructor(opts: FastPathOptions, socks: DataSockets, queues: number[], table: FastTable) {
    this.#opts = opts;
    this.listen = opts.listen;
    this.#udpFds = socks.fds;
    this.#wgFds = socks.wgFds;
    this.#queues = queues;
    this.#family = socks.family;
    this.#wgFamily = socks.wgFamily;
    this.#table = table;
    const wg = opts.wireGuard;
    this.wgListen = wg !== undefined && wg.controlFd !== null ? wg.listen : null;
    this.wireGuard = wg === undefined ? null : new WgSide(table, opts.mtu);
    const offloads = opts.vnet === 0 ? "no offloads" : opts.tso !== false ? `coalescing, TSO${opts.pace !== false ? ", paced" : ""}` : "coalescing";
    const n = socks.fds.length;
    this.name = `fast (${n} worker${n > 1 ? "s" : ""}, ${offloads}${wg === undefined ? "" : ", WireGuard"})`;
  }

  start(sinks: DataPathSinks, stats: ServerStats, onFail: (err: Error) => void): void {
    this.#onFail = onFail;
    const url = findWorker(WORKER_CANDIDATES, import.meta.url, "ERR_DATAPATH_WORKER", "the fast data path", WORKER_HINT);
    for (let i = 0; i < this.#udpFds.length; i++) this.#spawn(url, i, sinks);
    this.#fold = new CounterFold(this.#threads.map((t) => t.counters), stats, this.stats);
    this.wireGuard?.useSlabs(this.#threads.map((t) => t.counters));
  }

  #spawn(url: URL, index: number, sinks: DataPathSinks): void {
    const wakeFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd < 0) throw new SysError("eventfd", errno(), "start a data-path worker");
    const rxRing = newRing(RING_BYTES);
    const txRing = newRing(RING_BYTES);
    const { datagrams, packets, wgDatagrams, wgOpened } = sinks;
    this.#drains.push(
      new RingDrain(rxRing, {
        record: (tag, payload, names, off) => {
          const ep = decodeEndpoint(names, off);
          if (ep === null) return;
          if (tag === TAG_DATAGRAM) datagrams.datagram(payload, ep.address, ep.port, false);
          else if (tag === TAG_WG_DATAGRAM) wgDatagrams?.datagram(payload, ep.address, ep.port, false);
          else if (tag === TAG_WG_OPENED) wgOpened?.((names[off + REC_NAME_EXTRA] as number) >>> 0, payload, ep.address, ep.port);
        },
      }),
      new RingDrain(txRing, { record: (_tag, payload) => packets.packet(payload), flush: () => packets.flush() }),
    );
    const control = new SharedArrayBuffer(CTL_WORDS * 4);
    const counters = new SharedArrayBuffer(counterBytes(this.#table.capacity));
    const t: Thread = { worker: new Worker(url), ctl: new Int32Array(control), wakeFd, counters };
    t.worker?.addEventListener("error", (ev) => this.#fail(new WarrenError("ERR_DATAPATH_WORKER", `data-path worker ${index} failed: ${ev.message}`)));
    this.#threads.push(t);
    const o = this.#opts;
    const tso = o.vnet > 0 && o.tso !== false;
    const msg: WorkerStart = {
      index, tunFd: this.#queues[index] as number, udpFd: this.#udpFds[index] as number, wakeFd, family: this.#family,
      packetRoom: Math.max(2048, (o.mtu + 64 + 7) & ~7), vnet: o.vnet, batch: BATCH,
      tso, udpGso: o.udpGso !== false, pace: tso && o.pace !== false, linger: o.linger !== false, coalesceUdp: o.coalesceUdp === true,
      table: this.#table.sab, counters, rxRing, txRing, control,
      wgUdpFd: this.#wgFds[index] ?? -1, wgFamily: this.#wgFamily, wgTable: this.wireGuard?.keypairs.sab ?? null,
    };
    t.worker?.postMessage(msg);
  }

  sessionUp(s: Session): void {
    const slot = this.#table.slotOf(s.addr4);
    if (slot < 0 || this.#fold === null) return;
    this.#fold.attach(slot, s);
    this.#setSlot(slot, s);
  }

  /**
   * ToyVpn datagrams are plain IP packets the workers forward; WireGuard sessions' packets they
   * seal and open themselves when they have the keypair table. Any other session keeps a SLOW
   * slot, so its TUN packets reach the router (and its door) instead of "no session".
   */
  #setSlot(slot: number, s: Session): void {
    const wg = s.protocol === "wireguard" && this.wireGuard !== null;
    const name = s.protocol === "toyvpn" ? encodeEndpoint(s.address, s.port, this.#family) : wg ? encodeEndpoint(s.address, s.port, this.#wgFamily) : null;
    this.#table.set(slot, s.serial, name, s.addr4, s.addr6, this.#slow.has(s), wg);
  }

  moved(s: Session): void {
    const slot = this.#table.slotOf(s.addr4);
    if (slot >= 0 && this.#fold !== null) this.#setSlot(slot, s);
  }

  sessionDown(s: Session): void {
    this.#slow.delete(s);
    const slot = this.#table.slotOf(s.addr4);
    if (slot < 0 || this.#fold === null) return;
    this.#table.clear(slot, s.serial);
    this.#fold.detach(slot, s, s.lastSeen);
  }

  setSlow(s: Session, slow: boolean): void {
    if (slow) this.#slow.add(s);
    else this.#slow.delete(s);
    const slot = this.#table.slotOf(s.addr4);
    if (slot >= 0) this.#table.setSlow(slot, s.serial, slow);
  }

  sync(now: number): void {
    this.#fold?.foldAll(now);
    if (this.#closed) return;
    for (const t of this.#threads) {
      if (Atomics.load(t.ctl, CTL_DONE) !== 1) continue;
      const err = Atomics.load(t.ctl, CTL_ERRNO);
      return this.#fail(err > 0 ? new SysError("recvmmsg/read", err, "move packets on the fast path") : new WarrenError("ERR_DATAPATH_WORKER", "a data-path worker stopped"));
    }
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.close();
    this.#onFail(err);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const word = new Uint8Array(EVENTFD_WORD).fill(1);
    for (const t of this.#threads) {
      Atomics.store(t.ctl, CTL_STATE, CTL_STOP);
      libc.write(t.wakeFd, word, EVENTFD_WORD);
    }
    for (const t of this.#threads) {
      if (Atomics.load(t.ctl, CTL_STARTED) === 1) Atomics.wait(t.ctl, CTL_DONE, 0, STOP_WAIT_MS);
      t.worker?.unref();
      t.worker?.terminate();
      t.worker = null;
      libc.close(t.wakeFd);
    }
    // Leaving the reuseport group / the queue set: Bun's socket and queue 0 get everything again,
    // as whole packets (the simple path cannot undo offloads).
    if (this.#opts.vnet > 0 && this.#opts.tso !== false) {
      try {
        setTunOffload(this.#opts.tunFd, 0);
      } catch {
        // the interface is going away anyway
      }
    }
    closeAll([...this.#udpFds, ...this.#wgFds, ...this.#queues.slice(1)]);
    for (const d of this.#drains) d.stop();
  }
}

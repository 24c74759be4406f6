/**
 * @module tun/linux
 * TunDevice on Linux: a non-persistent IFF_TUN | IFF_NO_PI interface opened through
 * `platform/linux/` (bun:ffi), configured by ioctls, read without blocking the event loop.
 *
 * Read path (BUN-NOTES §3):
 * 1. `poll-worker.ts` blocks in poll(fd, POLLIN) on its own thread and flips the shared
 *    control word ARMED -> READY (`poll-shared.ts`).
 * 2. The main thread sleeps in `Atomics.waitAsync` (no timers, no polling while idle).
 * 3. It drains the O_NONBLOCK fd with FFI read() into one reused, pinned arena and hands
 *    each packet to `sink.packet()` as a view; `sink.flush()` ends each batch (arena
 *    nearly full, EAGAIN, or DRAIN_CAP packets).
 * 4. After a capped drain it continues on the next macrotask (setImmediate) so UDP
 *    receive is not starved; after EAGAIN it re-arms the worker (READY -> ARMED).
 * 5. close() sets STOP and writes the worker's wake eventfd, waits (bounded) until the worker
 *    has left poll(), then closes the TUN fd, so the interface is gone when close() returns.
 * A read error other than EAGAIN/EINTR, or a throwing sink, stops reading and is reported
 * once through the `onError` given to start(); it never escapes the loop. With IFF_VNET_HDR
 * (for the fast data path) the header is stripped on reads and written as zeros.
 */

import type { Pointer } from "bun:ffi";
import { ERRNO } from "../lib/errno.ts";
import { oneLine, SysError, WarrenError } from "../lib/errors.ts";
import { findWorker } from "../lib/worker-url.ts";
import { EFD_CLOEXEC, EFD_NONBLOCK, errno, EVENTFD_WORD, libc, nativeBuffer, releaseBuffer } from "../platform/linux/libc.ts";
import { addIpv6, setIpv4, setMtu, setUp } from "../platform/linux/netconf.ts";
import { openTun, VNET_HDR_LEN } from "../platform/linux/tun.ts";
import { MAX_TUN_BATCH, type TunDevice, type TunSink, type TunStats } from "./device.ts";
import { CTL_DONE, CTL_ERRNO, CTL_SLOTS, CTL_STATE, type PollStart, STATE_ARMED, STATE_FAILED, STATE_READY, STATE_STOP } from "./poll-shared.ts";

/** Bytes of the read arena, reused for every batch. */
const ARENA_SIZE = 256 * 1024;
/** Room offered to each read(): the largest IP packet, so nothing is ever truncated. */
const READ_ROOM = 65535;
/** Packets per drain before yielding to other I/O for one macrotask (also the batch cap of the contract). */
const DRAIN_CAP = MAX_TUN_BATCH;
/** Packet start alignment inside the arena. */
const ALIGN = 8;
/** Worker poll timeout: a safety net; STOP normally wakes the worker through its eventfd. */
const POLL_TIMEOUT_MS = 1000;
/** How long close() waits for the worker to leave poll() (it takes microseconds once started). */
const STOP_WAIT_MS = POLL_TIMEOUT_MS + 100;

/** Where the poll worker may live relative to this module: source tree, or a bundle/compiled binary. */
const WORKER_CANDIDATES = ["./poll-worker.ts", "./poll-worker.js", "./tun/poll-worker.js", "./src/tun/poll-worker.js"];
const WORKER_HINT = "build with `bun build --compile src/main.ts src/tun/poll-worker.ts`";

const { EAGAIN, EBADFD, EINTR } = ERRNO;

/** Fix hint for a read error that stopped the reader (EBADFD: the interface was deleted by someone else). */
function readHint(err: number, name: string): string | undefined {
  return err === EBADFD ? `interface ${name} was deleted (ip link del?)` : undefined;
}

/** TunStats plus the reader's own failure count. */
export interface LinuxTunStats extends TunStats {
  /** read() or sink failures that stopped the reader (0 or 1). */
  readErrors: number;
}

/** Options of {@link openLinuxTun}. */
export interface LinuxTunOptions {
  /** Interface name (1-15 bytes); created if missing, removed on close. */
  name: string;
  /** Interface MTU (SIOCSIFMTU), e.g. 1400. */
  mtu: number;
  /** IPv4 address and prefix length, e.g. 10.8.0.1/24 (the kernel adds the subnet route). */
  ipv4?: { address: string; prefixLen: number };
  /** IPv6 address and prefix length, e.g. fd00:8::1/64 (needs MTU >= 1280). */
  ipv6?: { address: string; prefixLen: number };
  /** Create the interface with IFF_MULTI_QUEUE (a data path may open more queues with `openTun`). */
  multiQueue?: boolean;
  /**
   * Create it with IFF_VNET_HDR (offloads for a data path): this object then strips the
   * header from what it reads and writes a zero header (no offload) before each packet.
   */
  vnetHdr?: boolean;
  /** Called with the interface name once it is configured, before it goes up (sysctls). */
  beforeUp?: (name: string) => void;
}

/** A Linux TUN interface; see the module comment for the read path. Owns its fd. */
export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly stats: LinuxTunStats = { readPackets: 0, writePackets: 0, writeErrors: 0, readErrors: 0 };
  readonly #fd: number;
  #onError: (err: Error) => void = () => {};
  readonly #control = new Int32Array(new SharedArrayBuffer(CTL_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  #arena: { buf: Uint8Array; ptr: Pointer } | null = null;
  #sink: TunSink | null = null;
  #worker: Worker | null = null;
  /** eventfd that wakes the worker out of poll(); -1 until start(). */
  #wakeFd = -1;
  /** False once the worker failed to load: nothing will ever set CTL_DONE. */
  #workerAlive = false;
  #reading = false;
  #closed = false;
  /** Bytes of virtio_net_hdr before every packet on the fd (0 without IFF_VNET_HDR). */
  readonly vnetHeader: number;
  /** write(): a zero header and a copy of the packet, when vnetHeader > 0. */
  #wbuf: Uint8Array | null = null;

  /** Takes ownership of `fd` (an O_NONBLOCK TUN fd from `openTun`; `vnet` = its header bytes). */
  constructor(fd: number, name: string, mtu: number, vnet = 0) {
    this.#fd = fd;
    this.name = name;
    this.mtu = mtu;
    this.vnetHeader = vnet;
  }

  /**
   * The TUN fd (queue 0), for a data path that reads and writes it on its own threads
   * instead of start(); it must stop using it before close(). Owned by this object.
   */
  get fd(): number {
    return this.#fd;
  }

  /** Starts the poll worker and delivers packets to `sink`. Throws if called twice or after close. */
  start(sink: TunSink, onError: (err: Error) => void): void {
    if (this.#sink !== null || this.#closed) throw new WarrenError("ERR_TUN_STATE", `TUN ${this.name}: start() called twice or after close()`);
    this.#onError = onError;
    const url = findWorker(WORKER_CANDIDATES, import.meta.url, "ERR_TUN_WORKER", "the TUN reader", WORKER_HINT);
    const wakeFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd < 0) throw new SysError("eventfd", errno(), `start reading ${this.name}`);
    this.#wakeFd = wakeFd;
    this.#sink = sink;
    this.#arena = nativeBuffer(ARENA_SIZE);
    const worker = new Worker(url);
    worker.addEventListener("error", (ev) => {
      this.#workerAlive = false;
      this.#fail(new WarrenError("ERR_TUN_WORKER", `TUN ${this.name}: poll worker failed: ${ev.message}`));
    });
    this.#worker = worker;
    this.#workerAlive = true;
    Atomics.store(this.#control, CTL_STATE, STATE_ARMED);
    const control = this.#control.buffer as SharedArrayBuffer;
    const msg: PollStart = { fd: this.#fd, wakeFd, control, timeoutMs: POLL_TIMEOUT_MS };
    worker.postMessage(msg);
    this.#reading = true;
    this.#wait();
  }

  /** Writes one packet with FFI write(); false (counted in writeErrors) when refused or short. */
  write(pkt: Uint8Array): boolean {
    if (this.#closed || pkt.byteLength === 0) {
      this.stats.writeErrors++;
      return false;
    }
    // A subarray passes its own address (byteOffset included); the view is used only during the call.
    const out = this.vnetHeader === 0 ? pkt : this.#withHeader(pkt);
    const n = libc.write(this.#fd, out, out.byteLength);
    if (n !== out.byteLength) {
      this.stats.writeErrors++;
      return false;
    }
    this.stats.writePackets++;
    return true;
  }

  /** `pkt` behind a zero virtio_net_hdr (no offload: the kernel checks the checksums itself). */
  #withHeader(pkt: Uint8Array): Uint8Array {
    const need = this.vnetHeader + pkt.byteLength;
    if (this.#wbuf === null || this.#wbuf.byteLength < need) this.#wbuf = new Uint8Array(Math.max(need, 2048));
    const b = this.#wbuf;
    b.fill(0, 0, this.vnetHeader);
    b.set(pkt, this.vnetHeader);
    return b.subarray(0, need);
  }

  /**
   * Stops the worker and waits (bounded) until it has left poll(), then closes the fd once,
   * so the kernel has removed the interface when close() returns. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopReading();
    const worker = this.#worker;
    if (worker !== null) {
      if (this.#workerAlive) Atomics.wait(this.#control, CTL_DONE, 0, STOP_WAIT_MS);
      worker.unref();
      worker.terminate();
      this.#worker = null;
    }
    libc.close(this.#fd);
    if (this.#wakeFd >= 0) libc.close(this.#wakeFd);
    if (this.#arena !== null) releaseBuffer(this.#arena.buf);
    this.#arena = null;
  }

  /** Sleeps until the worker leaves ARMED. */
  #wait(): void {
    const res = Atomics.waitAsync(this.#control, CTL_STATE, STATE_ARMED);
    if (res.async) void res.value.then(this.#onWake);
    else this.#onWake();
  }

  readonly #onWake = (): void => {
    if (!this.#reading) return;
    const state = Atomics.load(this.#control, CTL_STATE);
    if (state === STATE_READY) this.#drain();
    else if (state === STATE_FAILED) {
      const err = Atomics.load(this.#control, CTL_ERRNO);
      this.#fail(new SysError("poll", err, `wait for packets on ${this.name}`));
    } else if (state === STATE_ARMED) this.#wait();
  };

  /** Reads until EAGAIN, a full arena, or DRAIN_CAP packets; see the module comment. */
  readonly #drain = (): void => {
    const sink = this.#sink;
    const arena = this.#arena;
    if (!this.#reading || sink === null || arena === null) return;
    let off = 0;
    let batch = 0;
    let total = 0;
    try {
      for (;;) {
        const n = libc.read(this.#fd, (arena.ptr + off) as Pointer, READ_ROOM);
        if (n <= 0) {
          const err = n < 0 ? errno() : 0;
          if (err === EINTR) continue;
          if (batch > 0) sink.flush();
          if (err === EAGAIN) this.#rearm();
          else this.#fail(new SysError("read", err, `read from ${this.name}`, readHint(err, this.name)));
          return;
        }
        this.stats.readPackets++;
        batch++;
        total++;
        sink.packet(arena.buf.subarray(off + this.vnetHeader, off + n));
        if (!this.#reading) {
          sink.flush();
          return;
        }
        off = (off + n + ALIGN - 1) & ~(ALIGN - 1);
        if (total >= DRAIN_CAP) {
          sink.flush();
          setImmediate(this.#drain);
          return;
        }
        if (ARENA_SIZE - off < READ_ROOM) {
          sink.flush();
          batch = 0;
          off = 0;
        }
      }
    } catch (err) {
      this.#fail(new WarrenError("ERR_TUN_SINK", `TUN ${this.name}: packet handler threw: ${oneLine(err)}`, { cause: err }));
    }
  };

  /** READY -> ARMED, wake the worker, sleep again. */
  #rearm(): void {
    Atomics.store(this.#control, CTL_STATE, STATE_ARMED);
    Atomics.notify(this.#control, CTL_STATE);
    this.#wait();
  }

  /** Stops reading and reports `err` once; the fd stays open until close(). */
  #fail(err: Error): void {
    if (!this.#reading) return;
    this.stats.readErrors++;
    this.#stopReading();
    this.#onError(err);
  }

  /** STOP the worker: wakes it from Atomics.wait (notify) or from poll() (eventfd); it then exits. */
  #stopReading(): void {
    this.#reading = false;
    Atomics.store(this.#control, CTL_STATE, STATE_STOP);
    Atomics.notify(this.#control, CTL_STATE);
    if (this.#wakeFd >= 0) libc.write(this.#wakeFd, new Uint8Array(EVENTFD_WORD).fill(1), EVENTFD_WORD);
  }
}

/**
 * Opens TUN `opts.name` and configures it: MTU, IPv4 address/netmask, IPv6 address, up.
 * On any failure the fd is closed (the interface disappears) and the error is rethrown:
 * ConfigError for bad arguments, SysError naming the failed step otherwise.
 */
export function openLinuxTun(opts: LinuxTunOptions): LinuxTun {
  const { fd, name } = openTun(opts.name, { multiQueue: opts.multiQueue === true, vnetHdr: opts.vnetHdr === true });
  const tun = new LinuxTun(fd, name, opts.mtu, opts.vnetHdr === true ? VNET_HDR_LEN : 0);
  try {
    setMtu(name, opts.mtu);
    if (opts.ipv4) setIpv4(name, opts.ipv4.address, opts.ipv4.prefixLen);
    if (opts.ipv6) addIpv6(name, opts.ipv6.address, opts.ipv6.prefixLen);
    opts.beforeUp?.(name);
    setUp(name);
  } catch (err) {
    tun.close();
    throw err;
  }
  return tun;
}

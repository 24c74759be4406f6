/**
 * @module server/pool
 * The IPv4 address pool. The prefix's first host address belongs to the server's
 * TUN; clients lease the following ones. A device id remembers its last address,
 * so a device that comes back (new port, new network) gets it again while it is
 * free; fresh leases avoid addresses remembered by other devices while any
 * unremembered one is free. The last host address (broadcast) is never leased.
 *
 * Each memory carries the time its address was last in use (the injected `stamp`
 * clock, Unix ms), so `leases.ts` can persist the memories across restarts and age
 * out the ones unused for too long. An address maps to at most one remembering device,
 * so the memories never outnumber the pool's client addresses (nor `rememberCap`).
 */

import { prefixMask4 } from "../protocol/ip.ts";

/** Longest pool prefix: server + broadcast + at least one client. */
export const MAX_POOL_PREFIX = 30;

/** A device's remembered address and when it was last in use (Unix ms). */
export interface PoolMemory {
  device: string;
  addr4: number;
  lastUsed: number;
}

/** Leases IPv4 addresses from one prefix. Owned by the session table. */
export class Pool4 {
  readonly network: number;
  readonly prefixLen: number;
  /** The server's own address (first host). */
  readonly serverAddress: number;
  readonly #first: number;
  readonly #last: number;
  /** Leased addresses -> the device holding each (null: a client without a device id). */
  readonly #used = new Map<number, string | null>();
  /** device id -> last address it had (oldest memory first); address -> device id that remembers it. */
  readonly #byDevice = new Map<string, { addr: number; lastUsed: number }>();
  readonly #remembered = new Map<number, string>();
  readonly #rememberCap: number;
  readonly #stamp: () => number;
  /** Kept out of dynamic leases, per owner (users' fixed addresses, WireGuard peers); leaseExact still grants them. */
  readonly #reservedBy = new Map<string, ReadonlySet<number>>();
  #reserved: ReadonlySet<number> = new Set();
  #cursor: number;
  #version = 0;

  /**
   * @param network network address (host bits clear), `prefixLen` ≤ 30.
   * @param rememberCap how many device→address memories to keep (oldest forgotten first).
   * @param stamp wall clock (Unix ms) for the memories' last use; only persisted leases need it.
   */
  constructor(network: number, prefixLen: number, rememberCap = 65536, stamp: () => number = () => 0) {
    if (prefixLen > MAX_POOL_PREFIX) throw new Error(`pool /${prefixLen} is too small: at most /${MAX_POOL_PREFIX}`);
    this.network = (network & prefixMask4(prefixLen)) >>> 0;
    this.prefixLen = prefixLen;
    const size = 2 ** (32 - prefixLen);
    this.serverAddress = this.network + 1;
    this.#first = this.network + 2;
    this.#last = this.network + size - 2;
    this.#cursor = this.#first;
    this.#rememberCap = rememberCap;
    this.#stamp = stamp;
  }

  /** Client addresses the pool can hand out. */
  get capacity(): number {
    return this.#last - this.#first + 1;
  }

  /** Addresses leased now. */
  get used(): number {
    return this.#used.size;
  }

  /** Grows whenever a memory changes (lease, release, restore, forget): a save is due when it moved. */
  get version(): number {
    return this.#version;
  }

  /** True when `addr` lies inside the pool's prefix. */
  contains(addr: number): boolean {
    return ((addr & prefixMask4(this.prefixLen)) >>> 0) === this.network;
  }

  /** True when `addr` is in the client range (leased or not). */
  isClientAddress(addr: number): boolean {
    return addr >= this.#first && addr <= this.#last;
  }

  /** True when `addr` is a client address that is leased now. */
  isLeased(addr: number): boolean {
    return this.#used.has(addr);
  }

  /**
   * Replaces the addresses `owner` keeps out of dynamic leases (`"users"`: fixed per-user
   * addresses, see auth/; `"wireguard"`: the peers' addresses).
   */
  reserve(owner: string, addrs: ReadonlySet<number>): void {
    this.#reservedBy.set(owner, addrs);
    const all = new Set<number>();
    for (const set of this.#reservedBy.values()) for (const a of set) all.add(a);
    this.#reserved = all;
  }

  /** True when some owner keeps `addr` out of dynamic leases. */
  isReserved(addr: number): boolean {
    return this.#reserved.has(addr);
  }

  /**
   * Leases an address: the device's remembered one when free, else a fresh one.
   * Returns null when the pool is full.
   */
  lease(deviceId: string | null): number | null {
    if (deviceId !== null) {
      const prev = this.#byDevice.get(deviceId)?.addr;
      if (prev !== undefined && !this.#used.has(prev) && !this.#reserved.has(prev)) return this.#take(prev, deviceId);
    }
    const cap = this.capacity;
    if (this.#used.size >= cap) return null;
    let fallback = -1;
    let a = this.#cursor;
    for (let i = 0; i < cap; i++, a = a >= this.#last ? this.#first : a + 1) {
      if (this.#used.has(a) || this.#reserved.has(a)) continue;
      if (!this.#remembered.has(a)) {
        this.#cursor = a >= this.#last ? this.#first : a + 1;
        return this.#take(a, deviceId);
      }
      if (fallback < 0) fallback = a;
    }
    // Every free address is remembered by some device: take one anyway.
    return fallback < 0 ? null : this.#take(fallback, deviceId);
  }

  /** Leases exactly `addr` (a fixed per-user address). False if outside, the server's, or in use. */
  leaseExact(addr: number, deviceId: string | null): boolean {
    if (addr < this.#first || addr > this.#last || this.#used.has(addr)) return false;
    this.#take(addr, deviceId);
    return true;
  }

  /** Returns an address to the pool. The device that held it keeps remembering it (last used: now). */
  release(addr: number): void {
    const holder = this.#used.get(addr);
    if (!this.#used.delete(addr) || holder === null || holder === undefined) return;
    const memory = this.#byDevice.get(holder);
    if (memory?.addr === addr) {
      memory.lastUsed = this.#stamp();
      this.#version++;
    }
  }

  /** Every memory, oldest first; a device holding its address now reports `now` as its last use. */
  memories(now: number): PoolMemory[] {
    const out: PoolMemory[] = [];
    for (const [device, m] of this.#byDevice) out.push({ device, addr4: m.addr, lastUsed: this.#holds(device, m.addr) ? now : m.lastUsed });
    return out;
  }

  /**
   * Remembers `device` at `addr4` as last used at `lastUsed` (a saved lease, restored
   * before any session exists). False, and nothing changes, when `addr4` is not a client
   * address or the address or the device is already remembered.
   */
  restore(device: string, addr4: number, lastUsed: number): boolean {
    if (!this.isClientAddress(addr4) || this.#remembered.has(addr4) || this.#byDevice.has(device)) return false;
    this.#remember(device, addr4, lastUsed);
    return true;
  }

  /** Forgets every memory last used before `cutoff` whose device does not hold it now; returns how many. */
  forgetUnusedSince(cutoff: number): number {
    let n = 0;
    for (const [device, m] of this.#byDevice) {
      if (m.lastUsed >= cutoff || this.#holds(device, m.addr)) continue;
      this.#byDevice.delete(device);
      if (this.#remembered.get(m.addr) === device) this.#remembered.delete(m.addr);
      n++;
    }
    if (n > 0) this.#version++;
    return n;
  }

  #holds(device: string, addr: number): boolean {
    return this.#used.get(addr) === device;
  }

  #take(addr: number, deviceId: string | null): number {
    this.#used.set(addr, deviceId);
    if (deviceId !== null) this.#remember(deviceId, addr, this.#stamp());
    return addr;
  }

  #remember(deviceId: string, addr: number, lastUsed: number): void {
    this.#version++;
    const old = this.#byDevice.get(deviceId);
    if (old !== undefined) {
      this.#byDevice.delete(deviceId);
      if (this.#remembered.get(old.addr) === deviceId) this.#remembered.delete(old.addr);
    }
    const prevOwner = this.#remembered.get(addr);
    if (prevOwner !== undefined && prevOwner !== deviceId) this.#byDevice.delete(prevOwner);
    this.#byDevice.set(deviceId, { addr, lastUsed });
    this.#remembered.set(addr, deviceId);
    if (this.#byDevice.size > this.#rememberCap) {
      const [oldest, om] = this.#byDevice.entries().next().value as [string, { addr: number }];
      this.#byDevice.delete(oldest);
      if (this.#remembered.get(om.addr) === oldest) this.#remembered.delete(om.addr);
    }
  }
}

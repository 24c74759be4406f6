/**
 * @module server/pool
 * The IPv4 address pool. The prefix's first host address belongs to the server's
 * TUN; clients lease the following ones. A device id remembers its last address,
 * so a device that comes back (new port, new network) gets it again while it is
 * free; fresh leases avoid addresses remembered by other devices while any
 * unremembered one is free. The last host address (broadcast) is never leased.
 */

import { prefixMask4 } from "../protocol/ip.ts";

/** Longest pool prefix: server + broadcast + at least one client. */
export const MAX_POOL_PREFIX = 30;

/** Leases IPv4 addresses from one prefix. Owned by the session table. */
export class Pool4 {
  readonly network: number;
  readonly prefixLen: number;
  /** The server's own address (first host). */
  readonly serverAddress: number;
  readonly #first: number;
  readonly #last: number;
  readonly #used = new Set<number>();
  /** device id -> last address it had; address -> device id that remembers it. */
  readonly #byDevice = new Map<string, number>();
  readonly #remembered = new Map<number, string>();
  readonly #rememberCap: number;
  /** Kept out of dynamic leases (users' fixed addresses); leaseExact still grants them. */
  #reserved: ReadonlySet<number> = new Set();
  #cursor: number;

  /**
   * @param network network address (host bits clear), `prefixLen` ≤ 30.
   * @param rememberCap how many device→address memories to keep (oldest forgotten first).
   */
  constructor(network: number, prefixLen: number, rememberCap = 65536) {
    if (prefixLen > MAX_POOL_PREFIX) throw new Error(`pool /${prefixLen} is too small: at most /${MAX_POOL_PREFIX}`);
    this.network = (network & prefixMask4(prefixLen)) >>> 0;
    this.prefixLen = prefixLen;
    const size = 2 ** (32 - prefixLen);
    this.serverAddress = this.network + 1;
    this.#first = this.network + 2;
    this.#last = this.network + size - 2;
    this.#cursor = this.#first;
    this.#rememberCap = rememberCap;
  }

  /** Client addresses the pool can hand out. */
  get capacity(): number {
    return this.#last - this.#first + 1;
  }

  /** Addresses leased now. */
  get used(): number {
    return this.#used.size;
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

  /** Replaces the set of reserved addresses (fixed per-user addresses; see auth/). */
  reserve(addrs: ReadonlySet<number>): void {
    this.#reserved = addrs;
  }

  /**
   * Leases an address: the device's remembered one when free, else a fresh one.
   * Returns null when the pool is full.
   */
  lease(deviceId: string | null): number | null {
    if (deviceId !== null) {
      const prev = this.#byDevice.get(deviceId);
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

  /** Returns an address to the pool. The device keeps remembering it. */
  release(addr: number): void {
    this.#used.delete(addr);
  }

  #take(addr: number, deviceId: string | null): number {
    this.#used.add(addr);
    if (deviceId !== null) this.#remember(deviceId, addr);
    return addr;
  }

  #remember(deviceId: string, addr: number): void {
    const old = this.#byDevice.get(deviceId);
    if (old !== undefined) {
      this.#byDevice.delete(deviceId);
      if (this.#remembered.get(old) === deviceId) this.#remembered.delete(old);
    }
    const prevOwner = this.#remembered.get(addr);
    if (prevOwner !== undefined && prevOwner !== deviceId) this.#byDevice.delete(prevOwner);
    this.#byDevice.set(deviceId, addr);
    this.#remembered.set(addr, deviceId);
    if (this.#byDevice.size > this.#rememberCap) {
      const oldest = this.#byDevice.keys().next().value as string;
      const oa = this.#byDevice.get(oldest) as number;
      this.#byDevice.delete(oldest);
      if (this.#remembered.get(oa) === oldest) this.#remembered.delete(oa);
    }
  }
}

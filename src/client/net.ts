/**
 * @module client/net
 * Applies the client's parameters to the host and takes them back: the TUN (address,
 * MTU, up; IPv6 turned off on it when no IPv6 address was pushed, so the kernel sends
 * no link-local chatter into the tunnel), the routes of `routes.ts`, and a state file
 * that remembers every route before it is added (write-ahead), so a run killed with
 * SIGKILL leaves a list of its leftovers that the next start removes (`cleanupStale`). The TUN itself needs
 * no such care: the kernel deletes it, with its addresses and routes, when the
 * process's fd closes.
 *
 * The OS is reached only through NetOps and StateStore (implemented on Linux by the
 * CLI's wiring of `platform/linux/`), so tests record the calls.
 */

import { ERRNO } from "../lib/errno.ts";
import { SysError, WarrenError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Params } from "../protocol/toyvpn.ts";
import type { TunDevice } from "../tun/device.ts";
import { firstAddress, mtuOf } from "./params.ts";
import { describeRoute, planRoutes, type RouteSpec, sameRoute, type ServerRoute } from "./routes.ts";
import { leftBehind, type RecoveryStore } from "./stale.ts";


/** Configures the host from the parameters; implemented by `client-net.ts`. */
export interface ClientNet {
  /** First parameters: create the TUN, set addresses and MTU, install routes. */
  up(params: Params): TunDevice;
  /** Different parameters after a re-handshake: reconfigure; returns the (possibly new) TUN. */
  update(params: Params): TunDevice;
  /** Removes every route and address it added and closes the TUN. Idempotent, never throws. */
  down(): void;
}

/** How to open the client's TUN. */
export interface ClientTunSpec {
  name: string;
  mtu: number;
  ipv4?: { address: string; prefixLen: number };
  ipv6?: { address: string; prefixLen: number };
}

/** The host operations the configurator needs. Each throws (SysError) on failure. */
export interface NetOps {
  openTun(spec: ClientTunSpec): TunDevice;
  setMtu(name: string, mtu: number): void;
  addRoute(r: RouteSpec): void;
  delRoute(r: RouteSpec): void;
  /** The route the kernel uses for `address` now (longest prefix match), or null. */
  routeTo(family: 4 | 6, address: string): ServerRoute | null;
  /** Turns IPv6 off on interface `name`; false when it has none to turn off. */
  disableIpv6(name: string): boolean;
}

/** What the state file holds. */
export interface ClientState {
  pid: number;
  tun: string;
  server: string;
  routes: RouteSpec[];
}

/** Persistence of ClientState (one file per TUN name). */
export type StateStore = RecoveryStore<ClientState>;

/** Settings of the configurator. */
export interface ClientNetOptions {
  tun: string;
  routes: "pushed" | "none";
  /** The server's address; asked when the tunnel comes up (it is resolved by then). */
  server(): { family: 4 | 6; address: string };
  pid: number;
}

/** ClientNet on NetOps + StateStore. */
export class ClientNetConfig implements ClientNet {
  readonly #o: ClientNetOptions;
  readonly #ops: NetOps;
  readonly #store: StateStore;
  readonly #log: Logger;
  #state: ClientState | null = null;
  #tun: TunDevice | null = null;
  #serverRoute: ServerRoute | null = null;
  #params: Params | null = null;

  constructor(opts: ClientNetOptions, ops: NetOps, store: StateStore, log: Logger) {
    this.#o = opts;
    this.#ops = ops;
    this.#store = store;
    this.#log = log;
  }

  /**
   * Removes what a previous run that did not stop cleanly left behind (its state file
   * lists it). Throws when that run is still alive. Returns how many routes were removed.
   */
  cleanupStale(): number {
    const old = leftBehind(this.#store, this.#o.pid, "state file");
    if (old === null) return 0;
    let removed = 0;
    for (const r of [...old.routes].reverse()) {
      try {
        this.#ops.delRoute(r);
        removed++;
      } catch {
        // Already gone (with its TUN, or by hand).
      }
    }
    this.#store.remove();
    if (old.routes.length > 0) this.#log.info(`removed ${removed} route(s) left by an earlier run (pid ${old.pid}) of ${old.tun}`);
    return removed;
  }

  /** The routes this run added and has not removed yet, as `10.8.0.0/24 dev warren1` (for status). */
  installedRoutes(): string[] {
    return (this.#state?.routes ?? []).map(describeRoute);
  }

  up(params: Params): TunDevice {
    if (this.#tun !== null) throw new WarrenError("ERR_CLIENT_STATE", "tunnel already up");
    // Before anything of ours exists: how the server is reached now.
    const server = this.#o.server();
    this.#serverRoute = this.#o.routes === "none" ? null : this.#ops.routeTo(server.family, server.address);
    this.#state = { pid: this.#o.pid, tun: this.#o.tun, server: server.address, routes: [] };
    this.#store.save(this.#state);
    this.#tun = this.#openTun(params);
    const plan = this.#plan(params);
    for (const r of plan.host) this.#add(r, "keeps the server reachable outside the tunnel");
    for (const r of plan.tunnel) this.#add(r);
    this.#params = params;
    return this.#tun;
  }

  update(params: Params): TunDevice {
    const old = this.#params;
    if (old === null || this.#tun === null) return this.up(params);
    const oldPlan = this.#plan(old);
    const newPlan = this.#plan(params);
    const readdress = !sameAddress(old, params, 4) || !sameAddress(old, params, 6);
    const keep = (r: RouteSpec, list: RouteSpec[]) => !readdress && list.some((x) => sameRoute(x, r));
    for (const r of [...oldPlan.tunnel].reverse()) if (!keep(r, newPlan.tunnel)) this.#del(r);
    if (readdress) {
      // New addresses: a fresh interface is simpler and cleaner than editing the old one.
      this.#tun.close();
      this.#tun = null;
      this.#tun = this.#openTun(params);
    } else if (mtuOf(old) !== mtuOf(params)) {
      this.#ops.setMtu(this.#o.tun, mtuOf(params));
    }
    for (const r of newPlan.host) this.#add(r, "keeps the server reachable outside the tunnel");
    for (const r of newPlan.tunnel) if (!keep(r, oldPlan.tunnel)) this.#add(r);
    this.#params = params;
    return this.#tun;
  }

  down(): void {
    const state = this.#state;
    if (state !== null) {
      for (const r of [...state.routes].reverse()) {
        try {
          this.#ops.delRoute(r);
        } catch (e) {
          this.#log.debug(`cannot delete route ${describeRoute(r)}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      state.routes.length = 0;
    }
    this.#tun?.close();
    this.#tun = null;
    this.#params = null;
    if (state !== null) this.#store.remove();
    this.#state = null;
  }

  #openTun(params: Params): TunDevice {
    const v4 = firstAddress(params, 4);
    const v6 = firstAddress(params, 6);
    const extra = params.addresses.length - (v4 ? 1 : 0) - (v6 ? 1 : 0);
    if (extra > 0) this.#log.warn(`${extra} more address(es) pushed: only the first IPv4 and IPv6 address are used`);
    const tun = this.#ops.openTun({ name: this.#o.tun, mtu: mtuOf(params), ...(v4 ? { ipv4: v4 } : {}), ...(v6 ? { ipv6: v6 } : {}) });
    if (!v6) {
      const name = this.#o.tun;
      try {
        if (this.#ops.disableIpv6(name)) this.#log.debug(`IPv6 turned off on ${name}: no IPv6 address pushed`);
      } catch (e) {
        this.#log.warn(`${e instanceof Error ? e.message : String(e)}; IPv6 packets from ${name} are dropped instead`);
      }
    }
    return tun;
  }

  #plan(params: Params) {
    const plan = planRoutes(params, {
      mode: this.#o.routes,
      tun: this.#o.tun,
      server: this.#o.server(),
      serverRoute: this.#serverRoute,
      has6: firstAddress(params, 6) !== undefined,
    });
    for (const n of plan.notes) this.#log.info(n);
    return plan;
  }

  /** Records `r` in the state file, then adds it; a route that already exists is left alone. */
  #add(r: RouteSpec, why?: string): void {
    const state = this.#state;
    if (state === null) return;
    if (state.routes.some((x) => sameRoute(x, r))) return;
    state.routes.push(r);
    this.#store.save(state);
    try {
      this.#ops.addRoute(r);
    } catch (e) {
      state.routes.pop();
      this.#store.save(state);
      if (e instanceof SysError && e.errno === ERRNO.EEXIST) {
        this.#log.info(`route ${describeRoute(r)} exists already: left as it is`);
        return;
      }
      throw e;
    }
    this.#log.info(`route ${describeRoute(r)}${why ? ` (${why})` : ""}`);
  }

  #del(r: RouteSpec): void {
    const state = this.#state;
    if (state === null) return;
    const i = state.routes.findIndex((x) => sameRoute(x, r));
    if (i < 0) return;
    try {
      this.#ops.delRoute(r);
    } catch {
      // gone already
    }
    state.routes.splice(i, 1);
    this.#store.save(state);
  }
}

function sameAddress(a: Params, b: Params, family: 4 | 6): boolean {
  const x = firstAddress(a, family);
  const y = firstAddress(b, family);
  return x?.address === y?.address && x?.prefixLen === y?.prefixLen;
}

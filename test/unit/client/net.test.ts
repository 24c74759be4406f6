/**
 * @module client-net.test
 * The client's host configuration on recording fakes: the order of operations (route
 * lookup before anything, TUN, host route, tunnel routes), the write-ahead state file,
 * clean removal, cleanup of a killed run's leftovers, existing routes left alone, and
 * reconfiguration when the parameters change.
 */
import { describe, expect, test } from "bun:test";
import { type ClientState, ClientNetConfig, type ClientTunSpec, type NetOps, type StateStore } from "../../../src/client/net.ts";
import { describeRoute, type RouteSpec } from "../../../src/client/routes.ts";
import { ERRNO } from "../../../src/lib/errno.ts";
import { SysError } from "../../../src/lib/errors.ts";
import { parseParams, type Params } from "../../../src/protocol/toyvpn.ts";
import { FakeTun } from "../../fakes/fake-tun.ts";
import type { Logger } from "../../../src/lib/log.ts";
import { quietLogger, recordingLogger } from "../../lib/log.ts";


function params(text: string): Params {
  const r = parseParams(text);
  if (!r.ok) throw new Error(r.error);
  return r.params;
}

/** One event log for ops and store, so the write-ahead order is visible. */
class World implements NetOps, StateStore {
  readonly path = "/run/warren/client-warren1-4026531840.json";
  /** Interfaces without IPv6 settings (IPv6 off in the kernel); "refuse" = a read-only /proc/sys. */
  ipv6: "on" | "absent" | "refuse" = "on";
  readonly events: string[] = [];
  readonly routes = new Set<string>();
  readonly tuns: FakeTun[] = [];
  stored: ClientState | null = null;
  alive = new Set<number>();
  existing = new Set<string>();

  openTun(spec: ClientTunSpec): FakeTun {
    this.events.push(`tun ${spec.name} mtu ${spec.mtu} ${spec.ipv4?.address ?? "-"} ${spec.ipv6?.address ?? "-"}`);
    const t = new FakeTun(spec.mtu);
    this.tuns.push(t);
    return t;
  }
  disableIpv6(name: string): boolean {
    if (this.ipv6 === "refuse") throw new Error(`cannot set net.ipv6.conf.${name}.disable_ipv6 to 1: EROFS`);
    this.events.push(`ipv6 off ${name}${this.ipv6 === "absent" ? " (none)" : ""}`);
    return this.ipv6 === "on";
  }
  setMtu(name: string, mtu: number): void {
    this.events.push(`mtu ${name} ${mtu}`);
  }
  addRoute(r: RouteSpec): void {
    const d = describeRoute(r);
    if (this.existing.has(d)) throw new SysError("ioctl SIOCADDRT", ERRNO.EEXIST, `add route ${d}`);
    this.events.push(`add ${d}`);
    this.routes.add(d);
  }
  delRoute(r: RouteSpec): void {
    const d = describeRoute(r);
    this.events.push(`del ${d}`);
    if (!this.routes.delete(d)) throw new SysError("ioctl SIOCDELRT", 3 /* ESRCH */, `delete route ${d}`);
  }
  routeTo(family: 4 | 6, address: string) {
    this.events.push(`lookup ${family} ${address}`);
    return { prefixLen: 0, dev: "v0", gateway: "10.77.1.1" };
  }
  load(): ClientState | null {
    return this.stored === null ? null : structuredClone(this.stored);
  }
  save(s: ClientState): void {
    this.stored = structuredClone(s);
    this.events.push(`save ${s.routes.map(describeRoute).join(", ") || "(none)"}`);
  }
  remove(): void {
    this.stored = null;
    this.events.push("remove state");
  }
  isAlive(pid: number): boolean {
    return this.alive.has(pid);
  }
}

function make(world: World, routes: "pushed" | "none" = "pushed", pid = 100, log: Logger = quietLogger) {
  return new ClientNetConfig({ tun: "warren1", routes, server: () => ({ family: 4, address: "192.0.2.1" }), pid }, world, world, log);
}

const DEFAULT_ROUTE = "m,1400 a,10.8.0.5,32 r,0.0.0.0,0 d,1.1.1.1";

describe("ClientNetConfig", () => {
  test("up: lookup first, state before every route, host route before the tunnel halves", () => {
    const w = new World();
    const net = make(w);
    net.up(params(DEFAULT_ROUTE));
    expect(w.events).toEqual([
      "lookup 4 192.0.2.1",
      "save (none)",
      "tun warren1 mtu 1400 10.8.0.5 -",
      "ipv6 off warren1",
      "save 192.0.2.1/32 via 10.77.1.1 dev v0",
      "add 192.0.2.1/32 via 10.77.1.1 dev v0",
      "save 192.0.2.1/32 via 10.77.1.1 dev v0, 0.0.0.0/1 dev warren1",
      "add 0.0.0.0/1 dev warren1",
      "save 192.0.2.1/32 via 10.77.1.1 dev v0, 0.0.0.0/1 dev warren1, 128.0.0.0/1 dev warren1",
      "add 128.0.0.0/1 dev warren1",
    ]);
    expect(w.stored?.pid).toBe(100);
  });

  test("down: routes removed newest first, TUN closed, state file gone; idempotent", () => {
    const w = new World();
    const net = make(w);
    net.up(params(DEFAULT_ROUTE));
    w.events.length = 0;
    net.down();
    net.down();
    expect(w.events).toEqual([
      "del 128.0.0.0/1 dev warren1",
      "del 0.0.0.0/1 dev warren1",
      "del 192.0.2.1/32 via 10.77.1.1 dev v0",
      "remove state",
    ]);
    expect(w.routes.size).toBe(0);
    expect(w.tuns[0]?.closed).toBe(true);
    expect(w.stored).toBeNull();
  });

  test("a killed run's routes are removed on the next start (already-gone ones ignored)", () => {
    const w = new World();
    make(w, "pushed", 100).up(params(DEFAULT_ROUTE)); // never taken down: SIGKILL
    w.routes.delete("0.0.0.0/1 dev warren1"); // went with the TUN
    w.routes.delete("128.0.0.0/1 dev warren1");
    const next = make(w, "pushed", 200);
    expect(next.cleanupStale()).toBe(1);
    expect(w.routes.size).toBe(0);
    expect(w.stored).toBeNull();
    expect(next.cleanupStale()).toBe(0);
  });

  test("a state file of a client that still runs is not touched", () => {
    const w = new World();
    make(w, "pushed", 100).up(params(DEFAULT_ROUTE));
    w.alive.add(100);
    expect(() => make(w, "pushed", 200).cleanupStale()).toThrow("another warren client (pid 100) uses warren1");
    expect(w.routes.size).toBe(3);
  });

  test("a route that exists already is left alone and not recorded", () => {
    const w = new World();
    w.existing.add("0.0.0.0/1 dev warren1");
    const net = make(w);
    net.up(params(DEFAULT_ROUTE));
    expect(w.stored?.routes.map(describeRoute)).toEqual(["192.0.2.1/32 via 10.77.1.1 dev v0", "128.0.0.0/1 dev warren1"]);
  });

  test("other route errors propagate; what was added is still removed by down()", () => {
    const w = new World();
    w.addRoute = (r) => {
      if (r.dest === "128.0.0.0") throw new SysError("ioctl SIOCADDRT", ERRNO.EINVAL, "add route");
      w.routes.add(describeRoute(r));
    };
    const net = make(w);
    expect(() => net.up(params(DEFAULT_ROUTE))).toThrow("cannot add route: EINVAL");
    expect(w.stored?.routes).toHaveLength(2);
    net.down();
    expect(w.routes.size).toBe(0);
    expect(w.stored).toBeNull();
  });

  test("--routes none: no lookup, no routes, only the interface", () => {
    const w = new World();
    make(w, "none").up(params("m,1400 a,10.8.0.5,32 a,fd00:8::5,128 r,0.0.0.0,0 r,::,0"));
    expect(w.events).toEqual(["save (none)", "tun warren1 mtu 1400 10.8.0.5 fd00:8::5"]);
  });

  test("update: changed routes are swapped, a new MTU set in place, the TUN kept", () => {
    const w = new World();
    const net = make(w);
    const tun = net.up(params("m,1400 a,10.8.0.5,32 r,10.8.0.0,24 r,10.9.0.0,16"));
    w.events.length = 0;
    const same = net.update(params("m,1300 a,10.8.0.5,32 r,10.8.0.0,24 r,10.10.0.0,16"));
    expect(same).toBe(tun);
    expect(w.events).toEqual([
      "del 10.9.0.0/16 dev warren1",
      "save 10.8.0.0/24 dev warren1",
      "mtu warren1 1300",
      "save 10.8.0.0/24 dev warren1, 10.10.0.0/16 dev warren1",
      "add 10.10.0.0/16 dev warren1",
    ]);
  });

  test("update that newly pushes a default route adds the host route too", () => {
    const w = new World();
    const net = make(w);
    net.up(params("m,1400 a,10.8.0.5,32 r,10.8.0.0,24"));
    net.update(params("m,1400 a,10.8.0.5,32 r,10.8.0.0,24 r,0.0.0.0,0"));
    expect(w.stored?.routes.map(describeRoute)).toEqual([
      "10.8.0.0/24 dev warren1", "192.0.2.1/32 via 10.77.1.1 dev v0", "0.0.0.0/1 dev warren1", "128.0.0.0/1 dev warren1",
    ]);
    net.down();
    expect(w.routes.size).toBe(0);
  });

  test("update with a new address: a fresh TUN with the routes put back", () => {
    const w = new World();
    const net = make(w);
    const tun = net.up(params("m,1400 a,10.8.0.5,32 r,0.0.0.0,0"));
    const fresh = net.update(params("m,1400 a,10.8.0.9,32 r,0.0.0.0,0"));
    expect(fresh).not.toBe(tun);
    expect(w.tuns[0]?.closed).toBe(true);
    expect([...w.routes].sort()).toEqual(["0.0.0.0/1 dev warren1", "128.0.0.0/1 dev warren1", "192.0.2.1/32 via 10.77.1.1 dev v0"]);
    expect(w.events.filter((e) => e.startsWith("lookup"))).toHaveLength(1);
  });

  test("no IPv6 address pushed: IPv6 is turned off on the TUN right after it is opened, before any route", () => {
    const w = new World();
    make(w).up(params("m,1400 a,10.8.0.5,32 r,10.8.0.0,24"));
    expect(w.events.slice(1, 4)).toEqual(["save (none)", "tun warren1 mtu 1400 10.8.0.5 -", "ipv6 off warren1"]);
  });

  test("an IPv6 address pushed: IPv6 stays on; a new TUN without one turns it off again", () => {
    const w = new World();
    const net = make(w);
    net.up(params("m,1400 a,10.8.0.5,32 a,fd00:8::5,128"));
    expect(w.events.filter((e) => e.startsWith("ipv6"))).toEqual([]);
    net.update(params("m,1400 a,10.8.0.5,32"));
    expect(w.events.filter((e) => e.startsWith("ipv6") || e.startsWith("tun"))).toEqual([
      "tun warren1 mtu 1400 10.8.0.5 fd00:8::5", "tun warren1 mtu 1400 10.8.0.5 -", "ipv6 off warren1",
    ]);
  });

  test("IPv6 that cannot be turned off is a warning, not a failure (the engine drops IPv6 instead)", () => {
    const w = new World();
    w.ipv6 = "refuse";
    const log = recordingLogger();
    make(w, "pushed", 100, log).up(params("m,1400 a,10.8.0.5,32 r,10.8.0.0,24"));
    expect(log.at("warn")).toEqual(["cannot set net.ipv6.conf.warren1.disable_ipv6 to 1: EROFS; IPv6 packets from warren1 are dropped instead"]);
    expect(w.routes.has("10.8.0.0/24 dev warren1")).toBe(true);
    const quiet = new World();
    quiet.ipv6 = "absent";
    const log2 = recordingLogger();
    make(quiet, "pushed", 100, log2).up(params("m,1400 a,10.8.0.5,32"));
    expect(log2.at("warn")).toEqual([]);
  });

  test("installedRoutes: what this run added and still holds, for status", () => {
    const w = new World();
    const net = make(w);
    expect(net.installedRoutes()).toEqual([]);
    net.up(params(DEFAULT_ROUTE));
    expect(net.installedRoutes()).toEqual(["192.0.2.1/32 via 10.77.1.1 dev v0", "0.0.0.0/1 dev warren1", "128.0.0.0/1 dev warren1"]);
    net.down();
    expect(net.installedRoutes()).toEqual([]);
  });
});

/**
 * @module client-routes.test
 * The client's route plan: default routes split into halves (def1), a host route that
 * keeps the server outside the tunnel only when a tunnel route would capture it, IPv6
 * routes only with an IPv6 address, and `--routes none`.
 */
import { describe, expect, test } from "bun:test";
import { type PlanInput, planRoutes } from "../../../src/client/routes.ts";
import { parseParams, type Params } from "../../../src/protocol/toyvpn.ts";

function params(text: string): Params {
  const r = parseParams(text);
  if (!r.ok) throw new Error(r.error);
  return r.params;
}

const VIA_GW: PlanInput = {
  mode: "pushed",
  tun: "warren1",
  server: { family: 4, address: "192.0.2.1" },
  serverRoute: { prefixLen: 0, dev: "eth0", gateway: "10.77.1.1" },
  has6: true,
};

const dests = (p: ReturnType<typeof planRoutes>["tunnel"]) => p.map((r) => `${r.dest}/${r.prefixLen} ${r.dev}`);

describe("planRoutes", () => {
  test("pushed default routes become halves, plus a host route to the server via the gateway", () => {
    const plan = planRoutes(params("m,1400 a,10.8.0.5,32 a,fd00:8::5,128 r,0.0.0.0,0 r,::,0"), VIA_GW);
    expect(dests(plan.tunnel)).toEqual(["0.0.0.0/1 warren1", "128.0.0.0/1 warren1", "::/1 warren1", "8000::/1 warren1"]);
    expect(plan.host).toEqual([{ family: 4, dest: "192.0.2.1", prefixLen: 32, dev: "eth0", gateway: "10.77.1.1" }]);
  });

  test("an on-link server, or one behind a more specific route, needs no host route", () => {
    const p = params("m,1400 a,10.8.0.5,32 r,0.0.0.0,0");
    expect(planRoutes(p, { ...VIA_GW, server: { family: 4, address: "10.77.1.1" }, serverRoute: { prefixLen: 24, dev: "eth0" } }).host).toEqual([]);
    // ... unless a pushed route is at least as specific as the one in use
    const q = params("m,1400 a,10.8.0.5,32 r,10.77.0.0,16");
    expect(planRoutes(q, { ...VIA_GW, server: { family: 4, address: "10.77.1.1" }, serverRoute: { prefixLen: 16, dev: "eth0" } }).host).toEqual([
      { family: 4, dest: "10.77.1.1", prefixLen: 32, dev: "eth0" },
    ]);
  });

  test("routes that do not cover the server add no host route", () => {
    const plan = planRoutes(params("m,1400 a,10.8.0.5,32 r,10.8.0.0,24"), VIA_GW);
    expect(dests(plan.tunnel)).toEqual(["10.8.0.0/24 warren1"]);
    expect(plan.host).toEqual([]);
  });

  test("an IPv6 server gets an IPv6 host route", () => {
    const plan = planRoutes(params("m,1400 a,10.8.0.5,32 a,fd00:8::5,128 r,::,0"), {
      ...VIA_GW,
      server: { family: 6, address: "2001:db8::1" },
      serverRoute: { prefixLen: 0, dev: "eth0", gateway: "fe80::1" },
    });
    expect(plan.host).toEqual([{ family: 6, dest: "2001:db8::1", prefixLen: 128, dev: "eth0", gateway: "fe80::1" }]);
  });

  test("IPv6 routes are skipped without an IPv6 address; duplicates once; host bits cleared", () => {
    const plan = planRoutes(params("m,1400 a,10.8.0.5,32 r,::,0 r,10.8.0.7,24 r,10.8.0.0,24"), { ...VIA_GW, has6: false });
    expect(dests(plan.tunnel)).toEqual(["10.8.0.0/24 warren1"]);
    expect(plan.notes.join(" ")).toContain("IPv6 routes pushed without an IPv6 address");
  });

  test("a route that is exactly the server is not sent into the tunnel", () => {
    const plan = planRoutes(params("m,1400 a,10.8.0.5,32 r,192.0.2.1,32"), VIA_GW);
    expect(plan.tunnel).toEqual([]);
  });

  test("no known route to the server: a note, no host route", () => {
    const plan = planRoutes(params("m,1400 a,10.8.0.5,32 r,0.0.0.0,0"), { ...VIA_GW, serverRoute: null });
    expect(plan.host).toEqual([]);
    expect(plan.notes.join(" ")).toContain("no route to the server");
  });

  test("--routes none: nothing at all", () => {
    expect(planRoutes(params("m,1400 a,10.8.0.5,32 r,0.0.0.0,0 r,::,0"), { ...VIA_GW, mode: "none" })).toEqual({ host: [], tunnel: [], notes: [] });
  });
});

/**
 * @module route-lookup.test
 * Longest-prefix lookups in /proc route tables captured from a namespace with
 * `10.77.1.2/24 dev d0`, `default via 10.77.1.1`, `10.99.0.0/16 via 10.77.1.3 metric 5`,
 * `2001:db8:1::2/64 dev d0`, `default via 2001:db8:1::1` (x86_64, little-endian).
 */
import { describe, expect, test } from "bun:test";
import { lookupRoute4, lookupRoute6 } from "../../../src/platform/linux/route-lookup.ts";

const ROUTE4 = [
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
  "d0\t00000000\t01014D0A\t0003\t0\t0\t0\t00000000\t0\t0\t0",
  "d0\t00014D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
  "d0\t0000630A\t03014D0A\t0003\t0\t0\t5\t0000FFFF\t0\t0\t0",
  "",
].join("\n");

const ROUTE6 = `20010db8000100000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001       d0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001       d0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000100000000000000000001 00000400 00000001 00000000 00000003       d0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000003 00000000 80200001       lo
20010db8000100000000000000000002 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       d0
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001       d0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;

describe("lookupRoute4", () => {
  test("a remote address uses the default route and its gateway", () => {
    expect(lookupRoute4(ROUTE4, "192.0.2.1", true)).toEqual({ prefixLen: 0, dev: "d0", gateway: "10.77.1.1" });
  });
  test("an on-link address: the connected /24, no gateway", () => {
    expect(lookupRoute4(ROUTE4, "10.77.1.1", true)).toEqual({ prefixLen: 24, dev: "d0" });
  });
  test("the longest prefix wins over a lower metric", () => {
    expect(lookupRoute4(ROUTE4, "10.99.3.4", true)).toEqual({ prefixLen: 16, dev: "d0", gateway: "10.77.1.3" });
  });
  test("equal prefixes: the lowest metric wins", () => {
    const text = `${ROUTE4}eth1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n`;
    expect(lookupRoute4(text, "192.0.2.1", true)?.dev).toBe("d0");
    const text2 = ROUTE4.replace("d0\t00000000\t01014D0A\t0003\t0\t0\t0", "d0\t00000000\t01014D0A\t0003\t0\t0\t200") + "eth1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
    expect(lookupRoute4(text2, "192.0.2.1", true)).toEqual({ prefixLen: 0, dev: "eth1", gateway: "192.168.1.1" });
  });
  test("no route, junk lines and bad input give null", () => {
    expect(lookupRoute4(ROUTE4.split("\n").slice(0, 1).join("\n"), "192.0.2.1", true)).toBeNull();
    expect(lookupRoute4("header\nnot a route line\n", "192.0.2.1", true)).toBeNull();
    expect(lookupRoute4(ROUTE4, "fd00::1", true)).toBeNull();
  });
  test("reject routes are skipped", () => {
    const text = `${ROUTE4}d0\t000200C0\t00000000\t0201\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`;
    expect(lookupRoute4(text, "192.0.2.1", true)?.prefixLen).toBe(0);
  });
});

describe("lookupRoute6", () => {
  test("a remote address uses the default route via its gateway", () => {
    expect(lookupRoute6(ROUTE6, "2001:db8:99::1")).toEqual({ prefixLen: 0, dev: "d0", gateway: "2001:db8:1::1" });
  });
  test("an on-link address uses the /64, not the local-table entry of our own address", () => {
    expect(lookupRoute6(ROUTE6, "2001:db8:1::1")).toEqual({ prefixLen: 64, dev: "d0" });
    expect(lookupRoute6(ROUTE6, "2001:db8:1::2")).toEqual({ prefixLen: 64, dev: "d0" });
  });
  test("lo routes and bad input are ignored", () => {
    expect(lookupRoute6(ROUTE6, "::1")).toEqual({ prefixLen: 0, dev: "d0", gateway: "2001:db8:1::1" });
    expect(lookupRoute6(ROUTE6, "10.0.0.1")).toBeNull();
    expect(lookupRoute6("", "2001:db8::1")).toBeNull();
  });
});

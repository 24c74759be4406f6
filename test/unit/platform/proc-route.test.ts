/**
 * @module test/unit/platform/proc-route.test
 * Default-route discovery from captured /proc/net/route and /proc/net/ipv6_route text.
 */

import { describe, expect, test } from "bun:test";
import { parseDefaultRoute4, parseDefaultRoute6 } from "../../../src/platform/linux/proc-route.ts";

const ROUTE4 = [
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
  "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
  "wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
  "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0",
  "",
].join("\n");

const ROUTE6 = [
  "fd980000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000400 00000001 00000000 00000001 wtp0",
  "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0",
  "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd990000000000000000000000000002 00000100 00000001 00000000 00000003 wtp0",
  "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo",
  "",
].join("\n");

describe("parseDefaultRoute4", () => {
  test("lowest metric wins; little-endian hex", () => {
    expect(parseDefaultRoute4(ROUTE4, true)).toEqual({ gateway: "192.168.1.1", dev: "eth0" });
  });
  test("big-endian hosts print the address the other way round", () => {
    expect(parseDefaultRoute4(ROUTE4.replace("0101A8C0", "C0A80101"), false)).toEqual({ gateway: "192.168.1.1", dev: "eth0" });
  });
  test("on-link default has gateway 0.0.0.0", () => {
    const text = `${ROUTE4.split("\n")[0]}\ntun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n`;
    expect(parseDefaultRoute4(text, true)).toEqual({ gateway: "0.0.0.0", dev: "tun0" });
  });
  test("no default route, down routes, junk", () => {
    const [header, , , subnet] = ROUTE4.split("\n");
    expect(parseDefaultRoute4(`${header}\n${subnet}\n`, true)).toBeNull();
    expect(parseDefaultRoute4(`${ROUTE4.split("\n")[0]}\neth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0`, true)).toBeNull();
    expect(parseDefaultRoute4("", true)).toBeNull();
    expect(parseDefaultRoute4("header\ngarbage line\n\t\t\n", true)).toBeNull();
  });
});

describe("parseDefaultRoute6", () => {
  test("lowest metric wins; reject routes on lo are skipped", () => {
    expect(parseDefaultRoute6(ROUTE6)).toEqual({ gateway: "fd99::2", dev: "wtp0" });
  });
  test("only the lo reject route: none", () => {
    expect(parseDefaultRoute6(ROUTE6.split("\n").slice(3).join("\n"))).toBeNull();
  });
  test("empty and junk", () => {
    expect(parseDefaultRoute6("")).toBeNull();
    expect(parseDefaultRoute6("x y z 1 2 3 4 5 6 7\n")).toBeNull();
  });
});

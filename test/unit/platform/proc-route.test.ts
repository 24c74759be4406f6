/**
 * @module test/unit/platform/proc-route.test
 * Default-route discovery from captured /proc/net/route and /proc/net/ipv6_route text.
 */

import { describe, expect, test } from "bun:test";
import {
  parseDefaultRoute4, parseDefaultRoute6, parseRoutes4, parseRoutes6, RTF_GATEWAY, RTF_UP,
} from "../../../src/platform/linux/proc-route.ts";
import { formatIpv4Bytes, formatIpv6 } from "../../../src/protocol/ip.ts";

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

describe("parseRoutes4 / parseRoutes6 (the one parser under both finders)", () => {
  test("IPv4: prefix from the mask, bytes in network order, decimal metric; bad lines skipped", () => {
    const text = [
      "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT",
      "eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0", // 192.168.0.0/24, little-endian host
      "eth0\t00000000\t0100A8C0\t0003\t0\t0\tx\t00000000\t0\t0\t0", // default via 192.168.0.1, unreadable metric
      "eth0\t0000000A\t00000000\t0001\t0\t0\t0\tFF00FF00\t0\t0\t0", // non-contiguous mask
      "eth1\t0000000A\tnothex\t0001\t0\t0\t0\t000000FF\t0\t0\t0", // not a hex gateway
    ].join("\n");
    const routes = parseRoutes4(text, true);
    expect(routes.map((r) => [formatIpv4Bytes(r.dest), r.prefixLen, formatIpv4Bytes(r.gateway), r.flags, r.metric, r.dev])).toEqual([
      ["192.168.0.0", 24, "0.0.0.0", RTF_UP, 100, "eth0"],
      ["0.0.0.0", 0, "192.168.0.1", RTF_UP | RTF_GATEWAY, Number.MAX_SAFE_INTEGER, "eth0"],
    ]);
  });

  test("IPv6: hex prefix length and metric; short lines and bad lengths skipped", () => {
    const z = "0".repeat(32);
    const net = "20010db8000000000000000000000000";
    const gw = "fe800000000000000000000000000001";
    const text = [
      `${net} 40 ${z} 00 ${z} 00000100 00000001 00000000 00000001 eth0`,
      `${z} 00 ${z} 00 ${gw} 00000400 00000001 00000000 00000003 eth0`,
      `${net} 81 ${z} 00 ${z} 00000100 00000001 00000000 00000001 eth0`, // /129
      `${net} 40 ${z} 00 ${z} 00000100`,
    ].join("\n");
    const routes = parseRoutes6(text);
    expect(routes.map((r) => [formatIpv6(r.dest), r.prefixLen, formatIpv6(r.gateway), r.flags, r.metric, r.dev])).toEqual([
      ["2001:db8::", 64, "::", RTF_UP, 256, "eth0"],
      ["::", 0, "fe80::1", RTF_UP | RTF_GATEWAY, 1024, "eth0"],
    ]);
  });
});

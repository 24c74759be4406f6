import { describe, expect, test } from "bun:test";
import {
  claimedLength,
  formatCidr,
  formatIpv4,
  formatIpv6,
  ipv4Dst,
  ipv4Src,
  ipv6HasPrefix,
  ipVersion,
  parseCidr,
  parseIpv4,
  parseIpv6,
} from "../../../src/protocol/ip.ts";
import { icmpEcho4, icmpEcho6, udp4 } from "../../fakes/packets.ts";

describe("header peeking", () => {
  const p4 = icmpEcho4({ src: "10.8.0.2", dst: "10.8.0.1", id: 7, seq: 1, payload: new Uint8Array(32) });
  const p6 = icmpEcho6({ src: "fd00::2", dst: "fd00::1", id: 7, seq: 1, payload: new Uint8Array(8) });

  test("version, addresses, claimed length of whole packets", () => {
    expect(ipVersion(p4)).toBe(4);
    expect(formatIpv4(ipv4Src(p4))).toBe("10.8.0.2");
    expect(formatIpv4(ipv4Dst(p4))).toBe("10.8.0.1");
    expect(claimedLength(p4)).toBe(p4.length);
    expect(ipVersion(p6)).toBe(6);
    expect(claimedLength(p6)).toBe(p6.length);
  });

  test("truncated input is -1 at every length short of the claim", () => {
    for (const p of [p4, p6]) {
      for (let n = 0; n < p.length; n++) expect(claimedLength(p.subarray(0, n))).toBe(-1);
    }
  });

  test("trailing bytes beyond the claim are allowed (the claim wins)", () => {
    const padded = new Uint8Array(p4.length + 5);
    padded.set(p4);
    expect(claimedLength(padded)).toBe(p4.length);
  });

  test("bad IHL or total length below the header is malformed", () => {
    const bad = udp4({ src: "1.2.3.4", dst: "5.6.7.8", sport: 1, dport: 2 }).slice();
    bad[0] = 0x44; // IHL 16 bytes
    expect(claimedLength(bad)).toBe(-1);
    const bad2 = udp4({ src: "1.2.3.4", dst: "5.6.7.8", sport: 1, dport: 2 }).slice();
    bad2[2] = 0;
    bad2[3] = 10; // total length 10 < header
    expect(claimedLength(bad2)).toBe(-1);
    expect(claimedLength(new Uint8Array([0x15, 0, 0, 0]))).toBe(-1);
  });
});

describe("address text", () => {
  test("IPv4", () => {
    expect(parseIpv4("10.8.0.1")).toBe(0x0a080001);
    expect(parseIpv4("255.255.255.255")).toBe(0xffffffff);
    for (const bad of ["256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", ""]) expect(parseIpv4(bad)).toBeNull();
    expect(formatIpv4(0xc0a80101)).toBe("192.168.1.1");
  });

  test("IPv6 parse and RFC 5952 format", () => {
    const cases: [string, string][] = [
      ["::", "::"],
      ["::1", "::1"],
      ["fd00:8::2", "fd00:8::2"],
      ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
      ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
      ["::ffff:a01:203", "::ffff:10.1.2.3"],
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ];
    for (const [input, out] of cases) {
      const b = parseIpv6(input);
      expect(b).not.toBeNull();
      expect(formatIpv6(b as Uint8Array)).toBe(out);
    }
    for (const bad of ["1::2::3", "12345::", ":::", "1:2:3:4:5:6:7:8:9", "g::1", "1:2:3:4:5:6:7", ""]) expect(parseIpv6(bad)).toBeNull();
  });

  test("CIDR clears host bits and checks the prefix", () => {
    expect(formatCidr(parseCidr("10.8.0.77/24") as never)).toBe("10.8.0.0/24");
    expect(formatCidr(parseCidr("fd00:8::5/64") as never)).toBe("fd00:8::/64");
    expect(parseCidr("10.8.0.0/33")).toBeNull();
    expect(parseCidr("::/129")).toBeNull();
    expect(parseCidr("10.8.0.0")).toBeNull();
    expect(parseCidr("10.8.0.0/x")).toBeNull();
  });

  test("IPv6 prefix match on packet bytes", () => {
    const pre = parseIpv6("fd00:8::") as Uint8Array;
    const a = parseIpv6("fd00:8::9") as Uint8Array;
    const b = parseIpv6("fd00:9::9") as Uint8Array;
    expect(ipv6HasPrefix(a, 0, pre, 64)).toBe(true);
    expect(ipv6HasPrefix(b, 0, pre, 64)).toBe(false);
    expect(ipv6HasPrefix(b, 0, pre, 16)).toBe(true);
    expect(ipv6HasPrefix(b, 0, pre, 31)).toBe(true);
    expect(ipv6HasPrefix(b, 0, pre, 32)).toBe(false);
  });
});

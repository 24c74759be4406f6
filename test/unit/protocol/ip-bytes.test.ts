/**
 * @module test/unit/protocol/ip-bytes.test
 * Address text <-> bytes in `protocol/ip.ts`: RFC 4291 input forms, RFC 5952
 * output, masks, and inputs that must be rejected (null, never a throw).
 */

import { describe, expect, test } from "bun:test";
import {
  formatIpv4Bytes as formatIpv4, formatIpv6, isUnspecified, networkOf, parseIpv4Bytes as parseIpv4, parseIpv6, prefixMask,
} from "../../../src/protocol/ip.ts";

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString("hex"));

describe("IPv4", () => {
  test.each([
    ["0.0.0.0", "00000000"],
    ["10.8.0.1", "0a080001"],
    ["255.255.255.255", "ffffffff"],
    ["192.0.2.10", "c000020a"],
  ])("%s", (text, bytes) => {
    expect(hex(parseIpv4(text))).toBe(bytes);
    expect(formatIpv4(Buffer.from(bytes, "hex"))).toBe(text);
  });

  test.each(["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "1..3.4", " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "1.2.3.4/24", "0x1.2.3.4", "1e1.0.0.0"])(
    "rejects %j",
    (text) => expect(parseIpv4(text)).toBeNull(),
  );

  test("formatIpv4 reads at an offset", () => {
    expect(formatIpv4(new Uint8Array([9, 9, 10, 0, 0, 2]), 2)).toBe("10.0.0.2");
  });
});

describe("IPv6", () => {
  test.each([
    ["::", "00000000000000000000000000000000", "::"],
    ["::1", "00000000000000000000000000000001", "::1"],
    ["fd00::1", "fd000000000000000000000000000001", "fd00::1"],
    ["2001:db8::", "20010db8000000000000000000000000", "2001:db8::"],
    ["2001:DB8:0:0:1:0:0:1", "20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
    ["2001:db8:0:0:0:0:2:1", "20010db8000000000000000000020001", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "20010db8000000000000ff0000428329", "2001:db8::ff00:42:8329"],
    ["1:0:0:2:0:0:0:3", "00010000000000020000000000000003", "1:0:0:2::3"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000", "1:2:3:4:5:6:7:0"],
    ["::ffff:10.0.0.1", "00000000000000000000ffff0a000001", "::ffff:10.0.0.1"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221", "64:ff9b::c000:221"],
    ["fe80::1:2:3:4", "fe800000000000000001000200030004", "fe80::1:2:3:4"],
  ])("%s", (text, bytes, formatted) => {
    expect(hex(parseIpv6(text))).toBe(bytes);
    expect(formatIpv6(Buffer.from(bytes, "hex"))).toBe(formatted);
    expect(hex(parseIpv6(formatted))).toBe(bytes);
  });

  test.each([
    "", ":", ":::", "1:::2", "1::2::3", ":1::", "::1:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::",
    "12345::", "g::1", "fe80::1%eth0", "::1.2.3", "::256.1.1.1", "1.2.3.4::", "::1.2.3.4:5", "fd00::/64", " ::1",
  ])("rejects %j", (text) => expect(parseIpv6(text)).toBeNull());

  test("formatIpv6 reads at an offset", () => {
    const buf = new Uint8Array(20);
    buf.set(parseIpv6("fd99::2") ?? [], 4);
    expect(formatIpv6(buf, 4)).toBe("fd99::2");
  });
});

describe("masks", () => {
  test.each([
    [0, 4, "00000000"],
    [8, 4, "ff000000"],
    [21, 4, "fffff800"],
    [32, 4, "ffffffff"],
    [64, 16, "ffffffffffffffff0000000000000000"],
    [127, 16, "fffffffffffffffffffffffffffffffe"],
  ])("/%i of %i bytes", (len, size, bytes) => expect(hex(prefixMask(len, size))).toBe(bytes));

  test("networkOf clears host bits", () => {
    expect(formatIpv4(networkOf(parseIpv4("10.97.1.2") ?? new Uint8Array(4), 16))).toBe("10.97.0.0");
    expect(formatIpv6(networkOf(parseIpv6("fd98::1:2") ?? new Uint8Array(16), 64))).toBe("fd98::");
  });

  test("isUnspecified", () => {
    expect(isUnspecified(new Uint8Array(4))).toBe(true);
    expect(isUnspecified(parseIpv6("::1") ?? new Uint8Array(1))).toBe(false);
  });
});

/**
 * @module packets.test
 * Checks the test packet builders against published checksum vectors and against packets
 * a Linux kernel produced (captured once from its echo replies through a TUN), and that
 * every builder round-trips through its parser.
 */
import { describe, expect, test } from "bun:test";
import {
  formatIpv4,
  formatIpv6,
  fromHex,
  icmpEcho4,
  icmpEcho6,
  internetChecksum,
  ipv4HeaderChecksumOk,
  onesComplementSum,
  parseIcmpEcho,
  parseIcmpEcho4,
  parseIcmpEcho6,
  parseIpv4,
  parseIpv6,
  parseUdp,
  parseUdp4,
  parseUdp6,
  toHex,
  udp4,
  udp6,
} from "../fakes/packets.ts";

const enc = new TextEncoder();

/** XORs one byte of `buf` with `mask`. */
function flip(buf: Uint8Array, i: number, mask: number): void {
  buf[i] = (buf[i] ?? 0) ^ mask;
}

describe("checksums", () => {
  test("RFC 1071 §3 example: sum ddf2, checksum 220d", () => {
    const data = fromHex("0001 f203 f4f5 f6f7");
    expect(onesComplementSum(data)).toBe(0xddf2);
    expect(internetChecksum(data)).toBe(0x220d);
  });

  test("odd length is padded with a zero byte", () => {
    expect(onesComplementSum(fromHex("0001 f203 f4f5 f6"))).toBe(onesComplementSum(fromHex("0001 f203 f4f5 f600")));
  });

  test("a well-known IPv4 header (checksum b861) verifies, and recomputes to b861", () => {
    const hdr = fromHex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");
    expect(ipv4HeaderChecksumOk(hdr)).toBe(true);
    const zeroed = hdr.slice();
    zeroed[10] = 0;
    zeroed[11] = 0;
    expect(internetChecksum(zeroed)).toBe(0xb861);
    hdr[8] = 0x3f; // TTL changed without fixing the checksum
    expect(ipv4HeaderChecksumOk(hdr)).toBe(false);
  });
});

describe("addresses", () => {
  test("IPv4 text <-> bytes", () => {
    expect(toHex(parseIpv4("10.8.0.1"))).toBe("0a080001");
    expect(formatIpv4(fromHex("c0a800c7"))).toBe("192.168.0.199");
    for (const bad of ["10.8.0", "10.8.0.256", "a.b.c.d", "10.8.0.1.2", ""]) expect(() => parseIpv4(bad)).toThrow();
  });

  test("IPv6 text <-> bytes, RFC 5952 output", () => {
    expect(toHex(parseIpv6("::"))).toBe("00".repeat(16));
    expect(toHex(parseIpv6("::1"))).toBe(`${"00".repeat(15)}01`);
    expect(toHex(parseIpv6("fd00:8::1"))).toBe("fd000008000000000000000000000001");
    const cases: Array<[string, string]> = [
      ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group is not compressed
      ["fd00:0008:0000:0000:0000:0000:0000:0002", "fd00:8::2"],
      ["1::", "1::"],
      ["::", "::"],
      ["0:0:1:0:0:0:1:0", "0:0:1::1:0"], // the longest run wins
    ];
    for (const [input, text] of cases) expect(formatIpv6(parseIpv6(input))).toBe(text);
    for (const bad of ["1:2:3:4:5:6:7", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8", "g::"]) {
      expect(() => parseIpv6(bad)).toThrow();
    }
  });
});

describe("ICMP echo", () => {
  test("IPv4 echo request: layout, both checksums, round trip", () => {
    const payload = enc.encode("warren-e2e-ping!");
    const pkt = icmpEcho4({ src: "10.8.0.2", dst: "10.8.0.1", id: 0x1234, seq: 7, payload });
    expect(pkt.length).toBe(20 + 8 + payload.length);
    expect(toHex(pkt.subarray(0, 1))).toBe("45");
    expect(pkt[9]).toBe(1);
    expect(ipv4HeaderChecksumOk(pkt)).toBe(true);
    expect(onesComplementSum(pkt.subarray(20))).toBe(0xffff);
    const e = parseIcmpEcho4(pkt);
    expect(e).not.toBeNull();
    expect({ ...e, payload: toHex(e?.payload ?? new Uint8Array()) }).toEqual({
      type: 8, code: 0, src: "10.8.0.2", dst: "10.8.0.1", id: 0x1234, seq: 7, ttl: 64, payload: toHex(payload),
    });
    expect(parseIcmpEcho(pkt)?.seq).toBe(7);
  });

  test("IPv4 echo reply built by hand matches a kernel's reply", () => {
    // Linux 6.18 answering an echo request to 10.8.0.1 from 10.8.0.2 (id 0x4242, seq 1,
    // payload "abcdefgh"), read from the TUN. The kernel picks its own IP id, so compare the
    // ICMP bytes; the header checksum is checked by the parser.
    const kernel = fromHex(KERNEL_ECHO_REPLY_V4);
    const e = parseIcmpEcho4(kernel);
    expect(e?.type).toBe(0);
    expect(e?.src).toBe("10.8.0.1");
    expect(e?.dst).toBe("10.8.0.2");
    const ours = icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.2", id: 0x4242, seq: 1, type: 0, payload: enc.encode("abcdefgh") });
    expect(toHex(ours.subarray(20))).toBe(toHex(kernel.subarray(20)));
  });

  test("corruption is detected", () => {
    const pkt = icmpEcho4({ src: "10.8.0.2", dst: "10.8.0.1", id: 1, seq: 1, payload: enc.encode("abc") });
    const badIcmp = pkt.slice();
    flip(badIcmp, pkt.length - 1, 0xff);
    expect(parseIcmpEcho4(badIcmp)).toBeNull();
    const badIp = pkt.slice();
    flip(badIp, 15, 1); // source address
    expect(parseIcmpEcho4(badIp)).toBeNull();
    expect(parseIcmpEcho4(pkt.subarray(0, 25))).toBeNull(); // truncated
    expect(parseIcmpEcho4(new Uint8Array(0))).toBeNull();
    expect(parseIcmpEcho6(pkt)).toBeNull(); // wrong version
    expect(parseUdp4(pkt)).toBeNull(); // wrong protocol
  });

  test("IPv6 echo request: ICMPv6 checksum over the pseudo-header, round trip", () => {
    const payload = enc.encode("odd");
    const pkt = icmpEcho6({ src: "fd00:8::2", dst: "fd00:8::1", id: 99, seq: 65535, payload });
    expect(pkt.length).toBe(40 + 8 + 3);
    expect(pkt[0]).toBe(0x60);
    expect(pkt[6]).toBe(58);
    const e = parseIcmpEcho6(pkt);
    expect(e).toMatchObject({ type: 128, code: 0, src: "fd00:8::2", dst: "fd00:8::1", id: 99, seq: 65535, ttl: 64 });
    expect(toHex(e?.payload ?? new Uint8Array())).toBe(toHex(payload));
    // The same ICMP bytes between other addresses no longer verify: the pseudo-header counts.
    const moved = pkt.slice();
    moved[39] = 3;
    expect(parseIcmpEcho6(moved)).toBeNull();
  });

  test("IPv6 echo reply built by hand matches a kernel's reply", () => {
    // Linux 6.18 answering fd00:8::2 -> fd00:8::1 (id 0x4242, seq 1, payload "abcdefgh").
    const kernel = fromHex(KERNEL_ECHO_REPLY_V6);
    const e = parseIcmpEcho6(kernel);
    expect(e).toMatchObject({ type: 129, src: "fd00:8::1", dst: "fd00:8::2", id: 0x4242, seq: 1 });
    const ours = icmpEcho6({ src: "fd00:8::1", dst: "fd00:8::2", id: 0x4242, seq: 1, type: 129, payload: enc.encode("abcdefgh") });
    expect(toHex(ours.subarray(40))).toBe(toHex(kernel.subarray(40)));
  });
});

describe("UDP", () => {
  test("IPv4 UDP: checksum, round trip", () => {
    const payload = enc.encode("hello warren");
    const pkt = udp4({ src: "10.8.0.2", dst: "10.8.0.1", sport: 40000, dport: 9000, payload });
    expect(pkt.length).toBe(20 + 8 + payload.length);
    const u = parseUdp4(pkt);
    expect(u).toMatchObject({ src: "10.8.0.2", dst: "10.8.0.1", sport: 40000, dport: 9000, ttl: 64 });
    expect(new TextDecoder().decode(u?.payload)).toBe("hello warren");
    expect(parseUdp(pkt)?.dport).toBe(9000);
    const bad = pkt.slice();
    flip(bad, pkt.length - 1, 0x10);
    expect(parseUdp4(bad)).toBeNull();
  });

  test("IPv4 UDP with checksum 0 (none) is accepted; IPv6 UDP with 0 is not", () => {
    const pkt = udp4({ src: "10.8.0.2", dst: "10.8.0.1", sport: 1, dport: 2, payload: enc.encode("x") });
    pkt[26] = 0;
    pkt[27] = 0;
    expect(parseUdp4(pkt)).not.toBeNull();
    const pkt6 = udp6({ src: "fd00:8::2", dst: "fd00:8::1", sport: 1, dport: 2, payload: enc.encode("x") });
    pkt6[46] = 0;
    pkt6[47] = 0;
    expect(parseUdp6(pkt6)).toBeNull();
  });

  test("IPv6 UDP matches a kernel-built datagram", () => {
    // Linux 6.18: UDP fd00:8::1 port 9000 -> fd00:8::2 port 40000, payload "pong", read from a TUN.
    const kernel = fromHex(KERNEL_UDP_V6);
    const u = parseUdp6(kernel);
    expect(u).toMatchObject({ src: "fd00:8::1", dst: "fd00:8::2", sport: 9000, dport: 40000 });
    const ours = udp6({ src: "fd00:8::1", dst: "fd00:8::2", sport: 9000, dport: 40000, payload: enc.encode("pong") });
    expect(toHex(ours.subarray(40))).toBe(toHex(kernel.subarray(40)));
  });

  test("IPv4 UDP matches a kernel-built datagram", () => {
    // Linux 6.18: UDP 10.8.0.1 port 9000 -> 10.8.0.2 port 40000, payload "pong", read from a TUN.
    const kernel = fromHex(KERNEL_UDP_V4);
    expect(parseUdp4(kernel)).toMatchObject({ src: "10.8.0.1", dst: "10.8.0.2", sport: 9000, dport: 40000 });
    const ours = udp4({ src: "10.8.0.1", dst: "10.8.0.2", sport: 9000, dport: 40000, payload: enc.encode("pong") });
    expect(toHex(ours.subarray(20))).toBe(toHex(kernel.subarray(20)));
  });
});

// Captured from a Linux 6.18 kernel through a TUN in a test namespace by test/e2e/capture-vectors.ts.
// The IPv6 ones carry the kernel's automatic flow label, so only their upper layers are compared.
const KERNEL_ECHO_REPLY_V4 = "45000024ce9e0000400198280a0800010a08000200002c27424200016162636465666768";
const KERNEL_ECHO_REPLY_V6 = "60028f2800103a40fd000008000000000000000000000001fd0000080000000000000000000000028100b0c7424200016162636465666768";
const KERNEL_UDP_V4 = "45000020e829400040113e910a0800010a08000223289c40000c4d84706f6e67";
const KERNEL_UDP_V6 = "60078f55000c1140fd000008000000000000000000000001fd00000800000000000000000000000223289c40000c6782706f6e67";

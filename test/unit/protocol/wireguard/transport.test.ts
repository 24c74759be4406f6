import { describe, expect, test } from "bun:test";
import { innerPacketLength, paddedLength, transportLength } from "../../../../src/protocol/wireguard/transport.ts";

describe("padding", () => {
  test("to a multiple of 16; a keepalive stays empty", () => {
    expect([0, 1, 15, 16, 17, 1400, 1401].map((n) => paddedLength(n, 0))).toEqual([0, 16, 16, 16, 32, 1408, 1408]);
    expect(transportLength(0, 0)).toBe(32);
    expect(transportLength(1400, 0)).toBe(1440);
  });

  test("never beyond the MTU, unless the packet itself is larger", () => {
    expect(paddedLength(1419, 1420)).toBe(1420);
    expect(paddedLength(1420, 1420)).toBe(1420);
    expect(paddedLength(1410, 1420)).toBe(1420);
    expect(paddedLength(1400, 1420)).toBe(1408);
    expect(paddedLength(1421, 1420)).toBe(1424);
  });
});

describe("innerPacketLength", () => {
  test("IPv4 total length and IPv6 40 + payload length, inside the padded plaintext", () => {
    const b = new Uint8Array(64);
    b.set([0x45, 0, 0, 28], 8);
    expect(innerPacketLength(b, 8, 32)).toBe(28);
    expect(innerPacketLength(b, 8, 27)).toBe(-1); // claims more than there is
    b.set([0x60, 0, 0, 0, 0, 8], 8);
    expect(innerPacketLength(b, 8, 48)).toBe(48);
    expect(innerPacketLength(b, 8, 47)).toBe(-1);
  });

  test("refuses other versions, short headers and IPv4 lengths below a header", () => {
    const b = new Uint8Array(64);
    expect(innerPacketLength(b, 0, 0)).toBe(-1);
    b[0] = 0x50;
    expect(innerPacketLength(b, 0, 64)).toBe(-1);
    b.set([0x45, 0, 0, 19]);
    expect(innerPacketLength(b, 0, 64)).toBe(-1);
    b.set([0x45, 0, 0, 20]);
    expect(innerPacketLength(b, 0, 19)).toBe(-1);
    b.set([0x60, 0, 0, 0, 0, 0]);
    expect(innerPacketLength(b, 0, 39)).toBe(-1);
  });
});

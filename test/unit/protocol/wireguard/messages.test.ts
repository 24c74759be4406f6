import { describe, expect, test } from "bun:test";
import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  RESPONSE_SIZE,
  TRANSPORT_MIN_SIZE,
} from "../../../../src/protocol/wireguard/constants.ts";
import {
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
  encodeTransport,
  isWireGuard,
  messageType,
  parse,
  readCounter,
  writeCounter,
} from "../../../../src/protocol/wireguard/messages.ts";

const fill = (n: number, start: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

describe("isWireGuard", () => {
  test("accepts type 1-4 followed by three zero bytes", () => {
    for (const t of [1, 2, 3, 4]) expect(isWireGuard(Uint8Array.of(t, 0, 0, 0, 9))).toBe(true);
  });
  test("refuses ToyVpn control (0x00), IPv4/IPv6 data, other types and short datagrams", () => {
    expect(isWireGuard(Uint8Array.of(0, 0, 0, 0))).toBe(false);
    expect(isWireGuard(Uint8Array.of(0x45, 0, 0, 20))).toBe(false);
    expect(isWireGuard(Uint8Array.of(0x60, 0, 0, 0))).toBe(false);
    expect(isWireGuard(Uint8Array.of(5, 0, 0, 0))).toBe(false);
    expect(isWireGuard(Uint8Array.of(1, 0, 1, 0))).toBe(false);
    expect(isWireGuard(Uint8Array.of(1, 0, 0))).toBe(false);
  });
});

describe("messageType", () => {
  test("needs the exact size for handshake messages and at least a keepalive for transport", () => {
    const sized = (t: number, n: number) => {
      const d = new Uint8Array(n);
      d[0] = t;
      return messageType(d);
    };
    expect(sized(1, INITIATION_SIZE)).toBe(1);
    expect(sized(1, INITIATION_SIZE + 1)).toBe(0);
    expect(sized(1, INITIATION_SIZE - 1)).toBe(0);
    expect(sized(2, RESPONSE_SIZE)).toBe(2);
    expect(sized(2, INITIATION_SIZE)).toBe(0);
    expect(sized(3, COOKIE_REPLY_SIZE)).toBe(3);
    expect(sized(3, COOKIE_REPLY_SIZE - 1)).toBe(0);
    expect(sized(4, TRANSPORT_MIN_SIZE)).toBe(4);
    expect(sized(4, 1500)).toBe(4);
    expect(sized(4, TRANSPORT_MIN_SIZE - 1)).toBe(0);
  });
});

describe("parse and encode", () => {
  test("initiation round trip keeps every field", () => {
    const f = {
      sender: 0xdeadbeef,
      ephemeral: fill(32, 1),
      encryptedStatic: fill(48, 40),
      encryptedTimestamp: fill(28, 100),
      mac1: fill(16, 150),
      mac2: fill(16, 200),
    };
    const wire = encodeInitiation(f);
    expect(wire.length).toBe(INITIATION_SIZE);
    expect(Array.from(wire.subarray(0, 8))).toEqual([1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]);
    expect(parse(wire)).toEqual({ kind: "initiation", ...f });
  });

  test("response round trip", () => {
    const f = {
      sender: 7,
      receiver: 0x01020304,
      ephemeral: fill(32, 3),
      encryptedNothing: fill(16, 9),
      mac1: fill(16, 50),
      mac2: fill(16, 70),
    };
    const wire = encodeResponse(f);
    expect(wire.length).toBe(RESPONSE_SIZE);
    expect(Array.from(wire.subarray(8, 12))).toEqual([4, 3, 2, 1]);
    expect(parse(wire)).toEqual({ kind: "response", ...f });
  });

  test("cookie reply round trip", () => {
    const f = { receiver: 42, nonce: fill(24, 5), encryptedCookie: fill(32, 77) };
    const wire = encodeCookieReply(f);
    expect(wire.length).toBe(COOKIE_REPLY_SIZE);
    expect(parse(wire)).toEqual({ kind: "cookie", ...f });
  });

  test("transport: receiver, 64-bit counter and content", () => {
    const content = fill(40, 0);
    const wire = encodeTransport(0xffffffff, 2 ** 40 + 5, content);
    expect(Array.from(wire.subarray(8, 16))).toEqual([5, 0, 0, 0, 0, 1, 0, 0]);
    expect(parse(wire)).toEqual({ kind: "transport", receiver: 0xffffffff, counter: 2 ** 40 + 5, content });
  });

  test("encoders refuse wrong field sizes", () => {
    expect(() => encodeCookieReply({ receiver: 1, nonce: fill(12, 0), encryptedCookie: fill(32, 0) })).toThrow(RangeError);
  });

  test("junk never throws and is invalid", () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let i = 0; i < 2000; i++) {
      const n = rnd() % 200;
      const d = Uint8Array.from({ length: n }, rnd);
      if (n > 0 && i % 2 === 0) d[0] = 1 + (i % 4);
      const m = parse(d);
      if (m.kind !== "invalid") expect(messageType(d)).toBeGreaterThan(0);
    }
    expect(parse(new Uint8Array(0)).kind).toBe("invalid");
    expect(parse(Uint8Array.of(4, 0, 0, 0)).kind).toBe("invalid");
  });
});

describe("counters", () => {
  test("exact up to 2^53 - 1", () => {
    const d = new Uint8Array(8);
    for (const c of [0, 1, 0xffffffff, 2 ** 32, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER]) {
      writeCounter(d, 0, c);
      expect(readCounter(d, 0)).toBe(c);
    }
  });
  test("a counter of 2^64 - 1 reads as at least 2^53", () => {
    const d = new Uint8Array(8).fill(0xff);
    expect(readCounter(d, 0)).toBeGreaterThanOrEqual(2 ** 53);
  });
});

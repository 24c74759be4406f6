import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  buildHandshake,
  buildParamsDatagram,
  classify,
  encodeParams,
  Kind,
  MAX_HANDSHAKE_PAYLOAD,
  PARAMS_DATAGRAM_SIZE,
  paramsText,
  parseHandshake,
  parseParams,
  REHANDSHAKE,
} from "../../../src/protocol/toyvpn.ts";

const refDatagram = Uint8Array.from(Buffer.from(readFileSync(new URL("../../vectors/refserver-params.hex", import.meta.url), "utf8").trim(), "hex"));
const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => new TextEncoder().encode(s);

describe("parameter datagram", () => {
  test("reference server's exact 1024-byte datagram", () => {
    expect(refDatagram.length).toBe(PARAMS_DATAGRAM_SIZE);
    const built = buildParamsDatagram("m,1400 a,10.0.0.2,32 d,8.8.8.8 r,0.0.0.0,0");
    expect(Buffer.from(built).equals(Buffer.from(refDatagram))).toBe(true);
  });

  test("decodes the reference datagram the way the Android client does", () => {
    const t = paramsText(refDatagram);
    expect(t).not.toBeNull();
    const r = parseParams(t as string);
    expect(r).toEqual({
      ok: true,
      params: {
        mtu: 1400,
        addresses: [{ address: "10.0.0.2", prefixLen: 32 }],
        routes: [{ address: "0.0.0.0", prefixLen: 0 }],
        dns: ["8.8.8.8"],
        searchDomains: [],
      },
    });
  });

  test("encode -> datagram -> decode round trip, IPv4 and IPv6, padded with spaces", () => {
    const p = {
      mtu: 1400,
      addresses: [
        { address: "10.8.0.2", prefixLen: 32 },
        { address: "fd00:8::2", prefixLen: 128 },
      ],
      routes: [
        { address: "0.0.0.0", prefixLen: 0 },
        { address: "::", prefixLen: 0 },
      ],
      dns: ["1.1.1.1", "2606:4700:4700::1111"],
      searchDomains: ["corp.example"],
    };
    const s = encodeParams(p);
    expect(s).toBe("m,1400 a,10.8.0.2,32 a,fd00:8::2,128 r,0.0.0.0,0 r,::,0 d,1.1.1.1 d,2606:4700:4700::1111 s,corp.example");
    const d = buildParamsDatagram(s);
    expect(d.length).toBe(1024);
    expect(d[0]).toBe(0);
    expect(d[1023]).toBe(0x20);
    expect(d[1 + s.length]).toBe(0x20);
    expect(parseParams(paramsText(d) as string)).toEqual({ ok: true, params: p });
  });

  test("never emits an empty or malformed field", () => {
    const base = { mtu: 1400, addresses: [], routes: [], dns: [], searchDomains: [] };
    expect(() => encodeParams({ ...base, dns: [""] })).toThrow();
    expect(() => encodeParams({ ...base, dns: ["1.1.1.1 8.8.8.8"] })).toThrow();
    expect(() => encodeParams({ ...base, searchDomains: ["a,b"] })).toThrow();
    expect(() => encodeParams({ ...base, mtu: 0 })).toThrow();
    expect(() => encodeParams({ ...base, mtu: 40000 })).toThrow();
    expect(encodeParams(base)).toBe("m,1400");
    expect(encodeParams(base)).not.toMatch(/ {2}|^ | $/);
  });

  test("too many options to fit in 1023 bytes is an error, not a truncated datagram", () => {
    const dns = Array.from({ length: 100 }, (_, i) => `10.0.0.${i + 1}`);
    expect(() => encodeParams({ mtu: 1400, addresses: [], routes: [], dns, searchDomains: [] })).toThrow(/at most 1023/);
  });

  test("parser rejects what the Android client rejects", () => {
    expect(parseParams("m,abc").ok).toBe(false);
    expect(parseParams("m,1400  a,10.0.0.2,32").ok).toBe(false); // double space -> empty option
    expect(parseParams("a,10.0.0.2").ok).toBe(false); // missing prefix
    expect(parseParams("a,10.0.0.2,x").ok).toBe(false);
    expect(parseParams("d").ok).toBe(false);
    expect(parseParams("x,whatever m,1280").ok).toBe(true); // unknown letters ignored
    expect(parseParams("!rehandshake").ok).toBe(true); // warren's control message is harmless
  });
});

describe("classify", () => {
  test("control vs data", () => {
    expect(classify(bytes())).toBe(Kind.Empty);
    expect(classify(bytes(0))).toBe(Kind.Keepalive);
    expect(classify(bytes(0, 0x61))).toBe(Kind.Handshake);
    expect(classify(REHANDSHAKE)).toBe(Kind.Rehandshake);
    expect(classify(bytes(0x45, 0))).toBe(Kind.Data4);
    expect(classify(bytes(0x60, 0))).toBe(Kind.Data6);
    expect(classify(bytes(0x10))).toBe(Kind.Junk);
    expect(classify(bytes(0xff))).toBe(Kind.Junk);
  });
});

describe("handshake payload", () => {
  test("secret and secret:id come back whole", () => {
    expect(parseHandshake(buildHandshake("s3cret"))).toEqual({ ok: true, credential: "s3cret" });
    expect(parseHandshake(buildHandshake("s3cret:phone-7"))).toEqual({ ok: true, credential: "s3cret:phone-7" });
  });

  test("embedded NUL ends the credential, like the reference server's C string", () => {
    const d = new Uint8Array([0, ...text("abc"), 0, ...text("ignored")]);
    expect(parseHandshake(d)).toEqual({ ok: true, credential: "abc" });
  });

  test("empty, NUL-first, oversized and non-UTF-8 payloads are rejected with a reason", () => {
    expect(parseHandshake(bytes(0))).toEqual({ ok: false, reason: "empty" });
    expect(parseHandshake(bytes(0, 0, 0x61))).toEqual({ ok: false, reason: "empty" });
    expect(parseHandshake(bytes(0x45, 0x61))).toEqual({ ok: false, reason: "empty" });
    const big = new Uint8Array(MAX_HANDSHAKE_PAYLOAD + 2).fill(0x61);
    big[0] = 0;
    expect(parseHandshake(big)).toEqual({ ok: false, reason: "oversized" });
    const exact = new Uint8Array(MAX_HANDSHAKE_PAYLOAD + 1).fill(0x61);
    exact[0] = 0;
    expect(parseHandshake(exact).ok).toBe(true);
    expect(parseHandshake(bytes(0, 0xff, 0xfe))).toEqual({ ok: false, reason: "not-text" });
  });
});

import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import {
  mintToken,
  parseKeyFile,
  parseRevocations,
  parseTtl,
  TokenAuth,
  tokenHash,
  verifyToken,
} from "../../../src/auth/tokens.ts";

const KEY = Uint8Array.from(Buffer.from("11".repeat(32), "hex"));
const OTHER = Uint8Array.from(Buffer.from("22".repeat(32), "hex"));
const NOW_S = 1_800_000_000;
const wall = () => NOW_S * 1000;
const pool = { contains: (a: number) => a >>> 8 === 0x0a0800, isClientAddress: (a: number) => a > 0x0a080001 && a < 0x0a0800ff };

/** Flips one bit of the character at `i` while staying in the base64url alphabet. */
function tamper(token: string, i: number): string {
  const c = token[i] as string;
  const swap = c === "A" ? "B" : "A";
  return token.slice(0, i) + swap + token.slice(i + 1);
}

describe("token mint and verify", () => {
  const token = mintToken({ id: "phone-7", exp: NOW_S + 3600, addr: "10.8.0.20" }, KEY);

  test("a fresh token verifies and carries its claims; it is short enough to paste", () => {
    expect(token.startsWith("wt1.")).toBe(true);
    expect(token.length).toBeLessThanOrEqual(100);
    const r = verifyToken(token, [KEY], NOW_S);
    expect(r).toEqual({ ok: true, claims: { id: "phone-7", exp: NOW_S + 3600, addr: "10.8.0.20" }, hash: tokenHash(token), key: KEY });
  });

  test("the documented construction (docs/TOKENS.md) gives the same token", () => {
    const payload = Buffer.from('{"i":"phone-7","e":1800003600,"a":"10.8.0.20"}').toString("base64url");
    const mac = createHmac("sha256", KEY).update(`wt1.${payload}`).digest().subarray(0, 16).toString("base64url");
    expect(`wt1.${payload}.${mac}`).toBe(token);
  });

  test("the test vectors of docs/TOKENS.md (also checked with Python's hmac module)", () => {
    expect(token).toBe("wt1.eyJpIjoicGhvbmUtNyIsImUiOjE4MDAwMDM2MDAsImEiOiIxMC44LjAuMjAifQ.fuVb-NElWY0Bzs-h_ZFWCQ");
    expect(tokenHash(token)).toBe("2b0a66e3cfbed8bdab4a804a82de1edd0d7372544c624861be62c583d88604ed");
    expect(mintToken({ id: "alice", exp: 1_800_003_600 }, KEY)).toBe("wt1.eyJpIjoiYWxpY2UiLCJlIjoxODAwMDAzNjAwfQ.zY4w0oL5jZb655EarwlgKw");
  });

  test("expired: refused with its id (for the log)", () => {
    expect(verifyToken(token, [KEY], NOW_S + 3600)).toMatchObject({ ok: false, reason: "expired-token", claims: { id: "phone-7" } });
  });

  test("one tampered character anywhere: refused", () => {
    for (let i = 4; i < token.length; i++) {
      if (token[i] === ".") continue;
      expect({ i, r: verifyToken(tamper(token, i), [KEY], NOW_S).ok }).toEqual({ i, r: false });
    }
  });

  test("the MAC's spare bits must be zero (one spelling per token)", () => {
    const last = token[token.length - 1] as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const same = alphabet[(alphabet.indexOf(last) & ~3) | ((alphabet.indexOf(last) + 1) & 3)] as string;
    expect(verifyToken(token.slice(0, -1) + same, [KEY], NOW_S).ok).toBe(false);
  });

  test("wrong key: refused; a rotated key file (new key first) still accepts old tokens", () => {
    expect(verifyToken(token, [OTHER], NOW_S)).toEqual({ ok: false, reason: "bad-token" });
    expect(verifyToken(token, [OTHER, KEY], NOW_S).ok).toBe(true);
  });

  test("malformed strings never throw", () => {
    for (const s of ["", "wt1.", "wt1..", "wt1.abc.def", "wt2.aaaaaaaaaa.AAAAAAAAAAAAAAAAAAAAAA", `wt1.${"a".repeat(600)}.AAAAAAAAAAAAAAAAAAAAAA`]) {
      expect(verifyToken(s, [KEY], NOW_S).ok).toBe(false);
    }
    // a valid MAC over a payload that is not the schema
    const payload = Buffer.from('{"i":"x","e":"soon"}').toString("base64url");
    const mac = createHmac("sha256", KEY).update(`wt1.${payload}`).digest().subarray(0, 16).toString("base64url");
    expect(verifyToken(`wt1.${payload}.${mac}`, [KEY], NOW_S)).toEqual({ ok: false, reason: "bad-token" });
  });

  test("mint refuses ids and addresses a node would refuse", () => {
    expect(() => mintToken({ id: "has space", exp: 1 }, KEY)).toThrow(/bad token id/);
    expect(() => mintToken({ id: "a:b", exp: 1 }, KEY)).toThrow(/bad token id/);
    expect(() => mintToken({ id: "a", exp: 1, addr: "10.8.0" }, KEY)).toThrow(/bad address/);
  });
});

describe("TokenAuth", () => {
  const good = mintToken({ id: "phone-7", exp: NOW_S + 60 }, KEY);
  const fixed = mintToken({ id: "cam", exp: NOW_S + 60, addr: "10.8.0.20" }, KEY);

  test("valid token, with and without a device id", () => {
    const auth = new TokenAuth([KEY], undefined, wall, pool);
    expect(auth.check(good)).toMatchObject({ ok: true, user: "phone-7", deviceId: null, fixedAddr4: null, grant: { kind: "token", id: "phone-7" } });
    expect(auth.check(`${good}:tablet`)).toMatchObject({ ok: true, user: "phone-7", deviceId: "tablet" });
    expect(auth.check(fixed)).toMatchObject({ ok: true, fixedAddr4: 0x0a080014 });
    expect(auth.check(`${good}:bad id`)).toEqual({ ok: false, reason: "bad-device-id", user: "phone-7" });
  });

  test("revoked by id or by hash; the list can be replaced (reload)", () => {
    const byId = parseRevocations("# lost phones\nphone-7\n");
    const byHash = parseRevocations(`sha256:${tokenHash(good).toUpperCase()}  # one token\n`);
    if (typeof byId === "string" || typeof byHash === "string") throw new Error("parse failed");
    const auth = new TokenAuth([KEY], byId, wall);
    expect(auth.check(good)).toEqual({ ok: false, reason: "revoked-token", user: "phone-7" });
    auth.setRevoked(byHash);
    expect(auth.check(`${good}:dev`)).toEqual({ ok: false, reason: "revoked-token", user: "phone-7" });
    expect(auth.check(fixed).ok).toBe(true);
    auth.setRevoked({ ids: new Set(), hashes: new Set() });
    expect(auth.check(good).ok).toBe(true);
  });

  test("expired, tampered and wrong-key tokens are refused with their reasons", () => {
    const auth = new TokenAuth([KEY], undefined, () => (NOW_S + 61) * 1000);
    expect(auth.check(good)).toEqual({ ok: false, reason: "expired-token", user: "phone-7" });
    expect(new TokenAuth([OTHER], undefined, wall).check(good)).toEqual({ ok: false, reason: "bad-token" });
    expect(new TokenAuth([KEY], undefined, wall).check(tamper(good, 10))).toEqual({ ok: false, reason: "bad-token" });
  });

  test("a fixed address outside the pool's client range is refused", () => {
    const auth = new TokenAuth([KEY], undefined, wall, pool);
    expect(auth.check(mintToken({ id: "x", exp: NOW_S + 60, addr: "10.9.0.5" }, KEY))).toEqual({ ok: false, reason: "bad-address", user: "x" });
  });

  test("allows(): a session's grant ends when its token is revoked or expires", () => {
    let now = NOW_S * 1000;
    const auth = new TokenAuth([KEY], undefined, () => now);
    const r = auth.check(good);
    if (!r.ok || r.grant === undefined) throw new Error("expected a grant");
    expect(auth.allows(r.grant)).toBe(true);
    auth.setRevoked({ ids: new Set(["phone-7"]), hashes: new Set() });
    expect(auth.allows(r.grant)).toBe(false);
    auth.setRevoked({ ids: new Set(), hashes: new Set() });
    now = (NOW_S + 61) * 1000;
    expect(auth.allows(r.grant)).toBe(false);
  });
});

describe("token files and durations", () => {
  test("key file: hex keys, comments, errors name the line", () => {
    const keys = parseKeyFile(`# keys\n${"ab".repeat(32)}\n\n${"CD".repeat(32)}\n`);
    expect(Array.isArray(keys) && keys.map((k) => Buffer.from(k).toString("hex"))).toEqual(["ab".repeat(32), "cd".repeat(32)]);
    expect(parseKeyFile("# nothing\n")).toBe("no key in the file");
    expect(parseKeyFile(`${"ab".repeat(32)}\nshort\n`)).toMatch(/^line 2: expected 64 hex digits/);
  });

  test("revocation file: errors name the line", () => {
    expect(parseRevocations("ok-id\nsha256:xyz\n")).toMatch(/^line 2:/);
    expect(parseRevocations("has space\n")).toMatch(/^line 1:/);
  });

  test("ttl", () => {
    expect([parseTtl("3600"), parseTtl("90m"), parseTtl("24h"), parseTtl("7d"), parseTtl("2w"), parseTtl("30s")]).toEqual([3600, 5400, 86400, 604800, 1209600, 30]);
    expect([parseTtl("0"), parseTtl("1.5h"), parseTtl("-1h"), parseTtl("h"), parseTtl("")]).toEqual([null, null, null, null, null]);
  });
});

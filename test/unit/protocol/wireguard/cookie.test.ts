import { describe, expect, test } from "bun:test";
import { hash, mac } from "../../../../src/crypto/blake2s.ts";
import { generatePrivateKey, publicKey } from "../../../../src/crypto/x25519.ts";
import { COOKIE_REFRESH_TIME, INITIATION_SIZE, RESPONSE_SIZE } from "../../../../src/protocol/wireguard/constants.ts";
import { CookieChecker, CookieGenerator, equalAt } from "../../../../src/protocol/wireguard/cookie.ts";

const pub = publicKey(generatePrivateKey());
let counter = 0;
const random = (out: Uint8Array) => out.fill(++counter);

function message(size = INITIATION_SIZE): Uint8Array {
  const m = Uint8Array.from({ length: size }, (_, i) => i * 7);
  m.set([1, 0, 0, 0]);
  return m;
}

describe("mac1", () => {
  test("is MAC(HASH('mac1----' || public key), message before mac1), checked by the receiver", () => {
    const gen = new CookieGenerator(pub);
    const chk = new CookieChecker(pub, random);
    for (const size of [INITIATION_SIZE, RESPONSE_SIZE]) {
      const m = message(size);
      gen.addMacs(m, 0);
      const key = hash(new TextEncoder().encode("mac1----"), pub);
      expect(m.subarray(size - 32, size - 16)).toEqual(mac(key, m.subarray(0, size - 32)));
      expect(m.subarray(size - 16).every((b) => b === 0)).toBe(true); // no cookie yet: mac2 zero
      expect(chk.checkMac1(m)).toBe(true);
      m[5] = (m[5] as number) ^ 1;
      expect(chk.checkMac1(m)).toBe(false);
    }
  });

  test("made for another public key does not pass", () => {
    const m = message();
    new CookieGenerator(publicKey(generatePrivateKey())).addMacs(m, 0);
    expect(new CookieChecker(pub, random).checkMac1(m)).toBe(false);
  });
});

describe("cookie reply and mac2", () => {
  function exchange(now: number) {
    const gen = new CookieGenerator(pub);
    const chk = new CookieChecker(pub, random);
    const m = message();
    gen.addMacs(m, now);
    expect(chk.checkMac2(m, "192.0.2.1", 1000, now)).toBe(false);
    const reply = chk.createReply(m, 0x11223344, "192.0.2.1", 1000, now);
    return { gen, chk, reply };
  }

  test("the reply is addressed to the sender index and carries the cookie the initiator then uses", () => {
    const { gen, chk, reply } = exchange(0);
    expect(Array.from(reply.subarray(0, 8))).toEqual([3, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
    expect(gen.consumeReply(reply, 10)).toBe(true);
    expect(gen.hasCookie(10)).toBe(true);
    const m2 = message();
    gen.addMacs(m2, 20);
    expect(chk.checkMac1(m2)).toBe(true);
    expect(chk.checkMac2(m2, "192.0.2.1", 1000, 20)).toBe(true);
    expect(chk.checkMac2(m2, "192.0.2.1", 1001, 20)).toBe(false);
    expect(chk.checkMac2(m2, "192.0.2.2", 1000, 20)).toBe(false);
  });

  test("a reply only decrypts against the mac1 of our last message", () => {
    const { gen, reply } = exchange(0);
    gen.addMacs(message(RESPONSE_SIZE), 5); // a newer message: different mac1
    expect(gen.consumeReply(reply, 10)).toBe(false);
    const fresh = new CookieGenerator(pub);
    expect(fresh.consumeReply(reply, 10)).toBe(false); // never sent anything
    const { gen: g2, reply: r2 } = exchange(0);
    r2[40] = (r2[40] as number) ^ 1;
    expect(g2.consumeReply(r2, 1)).toBe(false);
  });

  test("the cookie expires after COOKIE_REFRESH_TIME on both sides", () => {
    const { gen, chk, reply } = exchange(0);
    gen.consumeReply(reply, 0);
    expect(gen.hasCookie(COOKIE_REFRESH_TIME)).toBe(true);
    expect(gen.hasCookie(COOKIE_REFRESH_TIME + 1)).toBe(false);
    const late = message();
    gen.addMacs(late, COOKIE_REFRESH_TIME + 1);
    expect(late.subarray(INITIATION_SIZE - 16).every((b) => b === 0)).toBe(true);
    const m = message();
    gen.addMacs(m, COOKIE_REFRESH_TIME);
    expect(chk.checkMac2(m, "192.0.2.1", 1000, COOKIE_REFRESH_TIME)).toBe(true);
    expect(chk.checkMac2(m, "192.0.2.1", 1000, COOKIE_REFRESH_TIME + 1)).toBe(false); // secret too old
  });

  test("the secret rotates: cookies from before a rotation stop working", () => {
    const { gen, chk, reply } = exchange(0);
    gen.consumeReply(reply, 0);
    chk.createReply(message(), 1, "198.51.100.9", 9, COOKIE_REFRESH_TIME + 1); // renews the secret
    const m = message();
    gen.addMacs(m, COOKIE_REFRESH_TIME);
    expect(chk.checkMac2(m, "192.0.2.1", 1000, COOKIE_REFRESH_TIME + 2)).toBe(false);
    // while a cookie from the new secret works
    expect(gen.consumeReply(chk.createReply(m, 1, "192.0.2.1", 1000, COOKIE_REFRESH_TIME + 2), COOKIE_REFRESH_TIME + 2)).toBe(true);
    const m2 = message();
    gen.addMacs(m2, COOKIE_REFRESH_TIME + 3);
    expect(chk.checkMac2(m2, "192.0.2.1", 1000, COOKIE_REFRESH_TIME + 3)).toBe(true);
  });
});

describe("equalAt", () => {
  test("compares a window of one array with another", () => {
    const a = Uint8Array.of(9, 1, 2, 3);
    expect(equalAt(a, 1, Uint8Array.of(1, 2, 3), 3)).toBe(true);
    expect(equalAt(a, 1, Uint8Array.of(1, 2, 4), 3)).toBe(false);
    expect(equalAt(a, 2, Uint8Array.of(2, 3), 3)).toBe(false);
  });
});

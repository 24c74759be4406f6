/**
 * @module test/lib/fuzz
 * A seeded random source and the datagrams the fuzz test throws at the server: random
 * bytes, handshake-like control messages (valid, wrong, malformed, oversized),
 * keepalives, rehandshake bytes, IPv4/IPv6 headers with bad lengths or truncated,
 * valid-looking packets with chosen (often spoofed) addresses, and mutated copies of
 * valid ones. Everything derives from the seed: the same seed gives the same bytes.
 */

import { buildHandshake, KEEPALIVE, REHANDSHAKE } from "../../src/protocol/toyvpn.ts";
import { icmpEcho4, icmpEcho6, udp4, udp6 } from "../fakes/packets.ts";

/** A small deterministic PRNG (a Weyl sequence through a 32-bit mixing function). */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** Next 32 random bits. */
  u32(): number {
    this.#s = (this.#s + 0x9e3779b9) >>> 0;
    let z = this.#s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** A UDP endpoint as the socket reports it. */
export interface Endpoint {
  address: string;
  port: number;
}

/** A random endpoint: half from a small set (so rate limits and lockouts bite), half from anywhere (the limiter's cap). */
export function randomEndpoint(rng: Rng): Endpoint {
  const port = 1024 + rng.int(64511);
  if (rng.chance(0.5)) return { address: rng.chance(0.8) ? `::ffff:198.51.100.${rng.int(64)}` : `2001:db8:f::${rng.int(64).toString(16)}`, port };
  const v4 = rng.chance(0.7);
  return { address: v4 ? `::ffff:203.0.${rng.int(256)}.${rng.int(256)}` : `2001:db8:${rng.int(65536).toString(16)}::${rng.int(65536).toString(16)}`, port };
}

const ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-";

/** A control datagram: handshakes of every kind, keepalives, rehandshake bytes. */
export function controlDatagram(rng: Rng, secret: string): Uint8Array {
  switch (rng.int(9)) {
    case 0: {
      let id = "fz";
      for (let i = rng.int(12); i > 0; i--) id += rng.pick([...ID_CHARS]);
      return buildHandshake(rng.chance(0.2) ? secret : `${secret}:${id}`); // valid: opens sessions
    }
    case 1:
      return buildHandshake(`${secret.slice(0, rng.int(secret.length))}${rng.chance(0.5) ? "x" : ""}:phone`); // wrong secret
    case 2:
      return buildHandshake(`${secret}:${String.fromCharCode(...rng.bytes(1 + rng.int(40)).map((b) => 32 + (b % 95)))}`); // odd device ids
    case 3: {
      const d = rng.bytes(2 + rng.int(1200)); // random payload: not UTF-8, NULs, oversized
      d[0] = 0;
      return d;
    }
    case 4:
      return buildHandshake(`${secret}\u0000:trailing`);
    case 5:
      return KEEPALIVE;
    case 6:
      return REHANDSHAKE;
    case 7:
      return REHANDSHAKE.subarray(0, 1 + rng.int(REHANDSHAKE.length));
    default: {
      const d = new Uint8Array(1 + 1000 + rng.int(600)); // over the credential limit
      d.fill(0x41, 1);
      return d;
    }
  }
}

/** An IP header with lying fields, often truncated. */
export function badHeader(rng: Rng): Uint8Array {
  const v6 = rng.chance(0.4);
  const d = rng.bytes(rng.chance(0.3) ? rng.int(v6 ? 40 : 20) : (v6 ? 40 : 20) + rng.int(200));
  if (d.length > 0) d[0] = ((v6 ? 6 : 4) << 4) | ((d[0] as number) & 0x0f);
  if (!v6 && d.length >= 4 && rng.chance(0.5)) {
    const claimed = rng.pick([0, 19, 20, d.length - 1, d.length, d.length + 1, 65535]);
    d[2] = (claimed >>> 8) & 0xff;
    d[3] = claimed & 0xff;
  }
  if (v6 && d.length >= 6 && rng.chance(0.5)) {
    const claimed = rng.pick([0, d.length - 41, d.length - 40, d.length - 39, 65535]);
    d[4] = (claimed >>> 8) & 0xff;
    d[5] = claimed & 0xff;
  }
  return d;
}

/** A well-formed IPv4 or IPv6 packet from `src` to `dst` (ICMP echo or UDP, random size). */
export function ipPacket(rng: Rng, src: string, dst: string): Uint8Array {
  const payload = rng.bytes(rng.chance(0.05) ? 1400 + rng.int(7000) : rng.int(300));
  const v6 = src.includes(":");
  if (rng.chance(0.5)) return v6 ? icmpEcho6({ src, dst, id: rng.int(65536), seq: rng.int(65536), payload }) : icmpEcho4({ src, dst, id: rng.int(65536), seq: rng.int(65536), payload });
  const spec = { src, dst, sport: 1 + rng.int(65535), dport: 1 + rng.int(65535), payload };
  return v6 ? udp6(spec) : udp4(spec);
}

/** `d` with a few bits flipped, cut short, or grown. */
export function mutate(rng: Rng, d: Uint8Array): Uint8Array {
  switch (rng.int(3)) {
    case 0: {
      const out = d.slice();
      for (let i = 1 + rng.int(8); i > 0 && out.length > 0; i--) {
        const at = rng.int(out.length);
        out[at] = (out[at] as number) ^ (1 << rng.int(8));
      }
      return out;
    }
    case 1:
      return d.subarray(0, rng.int(d.length + 1)).slice();
    default: {
      const out = new Uint8Array(d.length + 1 + rng.int(64));
      out.set(d);
      out.set(rng.bytes(out.length - d.length), d.length);
      return out;
    }
  }
}

/** A random IPv4 text address inside 10.8.0.0/24 (the test pool), or anywhere. */
export function someIpv4(rng: Rng): string {
  return rng.chance(0.6) ? `10.8.0.${rng.int(256)}` : `${rng.int(224)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
}

/** A random IPv6 text address inside fd00:8::/64 (the test pool), or anywhere. */
export function someIpv6(rng: Rng): string {
  return rng.chance(0.6) ? `fd00:8::${rng.int(300).toString(16)}` : `2001:db8:${rng.int(65536).toString(16)}::${rng.int(65536).toString(16)}`;
}

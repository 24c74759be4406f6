/**
 * @module bench/crypto
 * Hand-run micro-benchmark of warren's crypto layer, one process, measurements interleaved over
 * rounds so a busy machine hurts all of them alike; prints the median and range per item.
 *
 *   node_modules/.bin/bun bench/crypto.ts [rounds=5] [ms per item=300]
 *
 * Items: ChaCha20-Poly1305 seal+open of 1400-byte packets (WireGuard transport: counter nonce, no AD)
 * per backend, with one key for both directions and with one key per direction; seal-only;
 * X25519 (DH with a prepared static key, key-pair generation); BLAKE2s HASH, MAC, HMAC, KDF2.
 */

import type { AeadBackend } from "../src/crypto/aead.ts";
import { hash, hmac, kdf2, mac } from "../src/crypto/blake2s.ts";
import { pureTsAead } from "../src/crypto/chacha-ts.ts";
import { loadOpenSslAead } from "../src/crypto/openssl.ts";
import { createPrivateKeyObject, generateKeyPair, generatePrivateKey, publicKey, sharedSecretWith } from "../src/crypto/x25519.ts";

const ROUNDS = Number(process.argv[2] ?? 5);
const MS = Number(process.argv[3] ?? 300);
const PACKET = 1400;
const HEADER = 16; // WireGuard transport header before the ciphertext

type Item = { name: string; batch: number; run: () => void };

/** seal+open of one packet in a pooled buffer, in place, like the data path. */
function sealOpen(backend: AeadBackend, perDirection: boolean): Item {
  const key = new Uint8Array(32).fill(7);
  const sender = backend.key(key);
  const receiver = perDirection ? backend.key(key) : sender;
  const buf = new Uint8Array(HEADER + PACKET + 16 + 64);
  const pt = buf.subarray(HEADER, HEADER + PACKET);
  const ct = buf.subarray(HEADER, HEADER + PACKET + 16);
  let counter = 0;
  const label = perDirection ? "key per direction" : "one key";
  return {
    name: `${backend.name.split(" ")[0]} seal+open 1400 B (${label})`,
    batch: 50,
    run: () => {
      sender.seal(counter, pt, null, ct);
      if (receiver.open(counter, ct, null, ct) !== PACKET) throw new Error("open failed");
      counter++;
    },
  };
}

function sealOnly(backend: AeadBackend): Item {
  const k = backend.key(new Uint8Array(32).fill(9));
  const buf = new Uint8Array(PACKET + 16);
  const pt = buf.subarray(0, PACKET);
  let counter = 0;
  return { name: `${backend.name.split(" ")[0]} seal 1400 B`, batch: 50, run: () => void k.seal(counter++, pt, null, buf) };
}

function handshakeItems(): Item[] {
  const server = createPrivateKeyObject(generatePrivateKey());
  const peers = Array.from({ length: 64 }, () => publicKey(generatePrivateKey()));
  const key32 = new Uint8Array(32).fill(1);
  const msg64 = new Uint8Array(64).fill(2);
  const msg116 = new Uint8Array(116).fill(3);
  let i = 0;
  return [
    { name: "x25519 DH (prepared static key)", batch: 20, run: () => void sharedSecretWith(server, peers[i++ & 63] ?? key32) },
    { name: "x25519 key pair (ephemeral)", batch: 20, run: () => void generateKeyPair() },
    { name: "blake2s HASH 64 B (native)", batch: 200, run: () => void hash(msg64) },
    { name: "blake2s MAC 116 B (mac1 of an initiation)", batch: 200, run: () => void mac(key32, msg116) },
    { name: "HMAC-BLAKE2s 32 B", batch: 200, run: () => void hmac(key32, key32) },
    { name: "KDF2 (3 HMACs)", batch: 100, run: () => void kdf2(key32, key32) },
  ];
}

function measure(item: Item): number {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < MS) {
    for (let j = 0; j < item.batch; j++) item.run();
    n += item.batch;
  }
  return n / ((performance.now() - start) / 1000);
}

function main(): void {
  const openssl = loadOpenSslAead();
  const backends: AeadBackend[] = openssl.ok ? [openssl.backend, pureTsAead] : [pureTsAead];
  if (!openssl.ok) console.log(`OpenSSL backend unavailable: ${openssl.reason}`);
  const items: Item[] = [
    ...backends.flatMap((b) => [sealOpen(b, false), sealOpen(b, true), sealOnly(b)]),
    ...handshakeItems(),
  ];
  for (const item of items) measure(item); // warm-up round
  const results = items.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) items.forEach((item, i) => results[i]?.push(measure(item)));
  console.log(`bun ${Bun.version}, ${ROUNDS} rounds x ${MS} ms, ops/s (median, min-max)`);
  for (const [i, item] of items.entries()) {
    const xs = (results[i] ?? []).sort((a, b) => a - b);
    const med = xs[xs.length >> 1] ?? 0;
    const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");
    console.log(`${item.name.padEnd(46)} ${fmt(med).padStart(11)}  (${fmt(xs[0] ?? 0)}-${fmt(xs[xs.length - 1] ?? 0)})`);
  }
}

main();

/**
 * bench/wg-protocol.ts: speed of the pure WireGuard core (src/protocol/wireguard) on one core.
 *   node_modules/.bin/bun bench/wg-protocol.ts [seconds-per-case]
 * 1. responder handshakes/s: Device.receive(initiation) = mac1 + Noise (3 DH + 1 key generation)
 *    + response + keypair, over distinct pre-built initiations (one per peer, 2000 peers);
 * 2. junk initiations/s that fail mac1 (the flood path);
 * 3. 1400-byte transport packets/s: Peer.encapsulate into one buffer, Device.receive (decrypt in
 *    place), for each AEAD backend; plus an allocation probe: 200 sentinel objects registered
 *    with a FinalizationRegistry, one per 5000 packets; any GC during the 1M packets collects
 *    some (a loop allocating one 16-byte array per step collects ~200, an allocation-free one 0).
 * Target (issue 12): >= 4,000 handshakes/s. Interleaves backends; quote ratios on a shared machine.
 */
import type { AeadBackend } from "../src/crypto/aead.ts";
import { pureTsAead } from "../src/crypto/chacha-ts.ts";
import { loadOpenSslAead } from "../src/crypto/openssl.ts";
import { generatePrivateKey, publicKey } from "../src/crypto/x25519.ts";
import { Device } from "../src/protocol/wireguard/device.ts";

const SECONDS = Number(process.argv[2] ?? 2);
const wallClock = () => 1_700_000_000_000;

function rate(label: string, n: number, ms: number): number {
  const r = (n * 1000) / ms;
  console.log(`${label.padEnd(48)} ${Math.round(r).toLocaleString("en").padStart(10)} /s  (${n} in ${ms.toFixed(0)} ms)`);
  return r;
}

function handshakes(aead: AeadBackend, peers: number): void {
  const server = new Device({ privateKey: generatePrivateKey(), aead, wallClock });
  const inits: Uint8Array[] = [];
  for (let i = 0; i < peers; i++) {
    const ck = generatePrivateKey();
    const client = new Device({ privateKey: ck, aead, wallClock });
    client.addPeer(server.publicKey, { address: "198.51.100.1", port: 51820 }).initiate(0, false);
    server.addPeer(publicKey(ck));
    inits.push((client.takeOutgoing()[0] as { data: Uint8Array }).data);
  }
  let n = 0;
  const t0 = performance.now();
  let now = 1_000_000;
  while (performance.now() - t0 < SECONDS * 1000 && n < inits.length) {
    const r = server.receive(inits[n] as Uint8Array, "192.0.2.1", 40000 + (n % 1000), now++);
    if (r.kind !== "handshake") throw new Error(`handshake ${n}: ${r.reason}`);
    server.takeOutgoing();
    n++;
  }
  rate(`responder handshakes (${aead.name})`, n, performance.now() - t0);
  const junk = inits.map((d) => {
    const j = d.slice();
    j[120] = (j[120] as number) ^ 1;
    return j;
  });
  let m = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < SECONDS * 500) {
    for (let i = 0; i < 1000; i++) server.receive(junk[i % junk.length] as Uint8Array, "203.0.113.1", 1, now);
    m += 1000;
  }
  rate(`junk initiations dropped at mac1`, m, performance.now() - t1);
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** How many of 200 unreferenced sentinels a GC collected while `step` ran 1M times. */
async function gcSentinels(step: () => void): Promise<number> {
  Bun.gc(true);
  await tick();
  let collected = 0;
  const registry = new FinalizationRegistry(() => collected++);
  for (let chunk = 0; chunk < 200; chunk++) {
    registry.register({ chunk }, chunk);
    for (let i = 0; i < 5000; i++) step();
  }
  for (let i = 0; i < 5; i++) await tick();
  return collected;
}

async function transport(aead: AeadBackend): Promise<void> {
  const ck = generatePrivateKey();
  const sk = generatePrivateKey();
  const client = new Device({ privateKey: ck, aead, wallClock });
  const server = new Device({ privateKey: sk, aead, wallClock });
  const cp = client.addPeer(publicKey(sk), { address: "198.51.100.1", port: 51820 });
  server.addPeer(publicKey(ck));
  const pkt = new Uint8Array(1400);
  pkt[0] = 0x45;
  pkt[2] = 1400 >> 8;
  pkt[3] = 1400 & 0xff;
  const out = new Uint8Array(2048);
  let now = 1_000_000;
  cp.encapsulate(pkt, now, out);
  for (let round = 0; round < 4; round++) {
    for (const m of client.takeOutgoing()) server.receive(m.data, "192.0.2.1", 40000, now);
    for (const m of server.takeOutgoing()) client.receive(m.data, "198.51.100.1", 51820, now);
  }
  const first = cp.encapsulate(pkt, now, out);
  const len = first.length;
  const outView = out.subarray(0, len);
  const rx = new Uint8Array(len);
  const step = (): void => {
    cp.encapsulate(pkt, now, out);
    rx.set(outView);
    if (server.receive(rx, "192.0.2.1", 40000, now).kind !== "deliver") throw new Error("not delivered");
  };
  for (let i = 0; i < 20_000; i++) step(); // warm up the JIT
  const collected = await gcSentinels(step);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    for (let i = 0; i < 1000; i++) step();
    n += 1000;
    now += 1;
  }
  rate(`1400-B encapsulate+decapsulate (${aead.name})`, n, performance.now() - t0);
  console.log(`${"  GC sentinels collected in 1M packets (0 = no GC)".padEnd(48)} ${String(collected).padStart(10)}`);
}

const backends: AeadBackend[] = [pureTsAead];
const openssl = loadOpenSslAead();
if (openssl.ok) backends.push(openssl.backend);
else console.log(`OpenSSL backend unavailable: ${openssl.reason}`);
const control = new Uint8Array(64);
let sink = control;
console.log(`${"GC sentinels, control loop allocating a view".padEnd(48)} ${String(await gcSentinels(() => void (sink = control.subarray(1)))).padStart(10)}`);
for (const b of backends) await transport(b);
for (const b of backends) handshakes(b, 4000);
for (const b of backends.slice().reverse()) await transport(b);
if (sink.length === 0) console.log("");

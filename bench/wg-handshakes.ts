/**
 * bench/wg-handshakes.ts: responder handshakes per second of a running WireGuard server,
 * end to end over real UDP (run by bench/wg-run.sh; usable alone inside a namespace).
 *
 *   bun bench/wg-handshakes.ts gen --count N --pool 10.64.0.0/16 --dir DIR
 *       N client key pairs: DIR/peers.conf (one [Peer] each, AllowedIPs = the next pool
 *       address) for the server, DIR/clients.key (private keys, one a line) for `load`.
 *   bun bench/wg-handshakes.ts load --server HOST:PORT --server-key BASE64 --dir DIR
 *         [--prime 2500] [--window 128] [--pid SERVER_PID]
 *       1. builds one initiation per client key (warren's own protocol core as the client;
 *          this costs client CPU before any timing starts);
 *       2. primes: sends the first --prime initiations at once, so that a server that counts
 *          initiations (warren: > 2000/s) goes "under load" and answers with cookie replies;
 *          the first cookie reply is opened (XChaCha20-Poly1305 under HASH("cookie--" || server
 *          key), the initiation's mac1 as associated data) and gives mac2 for everything after:
 *          one cookie serves every message from this socket;
 *       3. measures: the remaining initiations, mac2 added, `--window` in flight; each handshake
 *          response (92 bytes) that names one of our sender indices counts and frees a slot;
 *          a slot also frees after 500 ms without an answer (counted as lost).
 *       Prints one JSON line: answered, lost, cookies, seconds, rate (answered / seconds from
 *       the first measured send to the last answer), and with --pid the server's busiest
 *       thread's CPU % over the same window (100 = one core saturated).
 * Every initiation is for a distinct configured peer with a fresh timestamp, so each one costs
 * the server the full Noise responder work (and warren opens a session for each).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pureTsAead } from "../src/crypto/chacha-ts.ts";
import { hash, mac } from "../src/crypto/blake2s.ts";
import { xchacha20poly1305Open } from "../src/crypto/xchacha.ts";
import { generatePrivateKey, keyFromBase64, keyToBase64, publicKey } from "../src/crypto/x25519.ts";
import { Device } from "../src/protocol/wireguard/device.ts";

const arg = (name: string, def?: string): string => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};

function gen(): void {
  const count = Number(arg("--count"));
  const [net, bits] = arg("--pool").split("/");
  const base = (net ?? "").split(".").reduce((a, o) => a * 256 + Number(o), 0);
  if (count + 2 > 2 ** (32 - Number(bits))) throw new Error("pool too small");
  const peers: string[] = [];
  const privs: string[] = [];
  for (let i = 0; i < count; i++) {
    const priv = generatePrivateKey();
    const a = base + 2 + i;
    const ip = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join(".");
    peers.push(`[Peer]\nPublicKey = ${keyToBase64(publicKey(priv))}\nAllowedIPs = ${ip}/32\n`);
    privs.push(keyToBase64(priv));
  }
  const dir = arg("--dir");
  writeFileSync(join(dir, "peers.conf"), peers.join("\n"), { mode: 0o600 });
  writeFileSync(join(dir, "clients.key"), `${privs.join("\n")}\n`, { mode: 0o600 });
}

/** utime+stime ticks of the busiest thread of `pid`. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of Bun.spawnSync(["ls", `/proc/${pid}/task`]).stdout.toString().split(/\s+/).filter(Boolean)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      out.set(t, Number(f[11]) + Number(f[12]));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

async function load(): Promise<void> {
  const [host, portText] = arg("--server").split(":");
  const port = Number(portText);
  const serverKey = keyFromBase64(arg("--server-key"));
  if (serverKey === null || host === undefined) throw new Error("bad --server or --server-key");
  const prime = Number(arg("--prime", "2500"));
  const window = Number(arg("--window", "128"));
  const pid = Number(arg("--pid", "0"));
  const keys = readFileSync(join(arg("--dir"), "clients.key"), "utf8").split("\n").filter(Boolean);
  const inits: Uint8Array[] = [];
  const bySender = new Map<number, number>();
  for (const k of keys) {
    const priv = keyFromBase64(k);
    if (priv === null) throw new Error("bad key in clients.key");
    const d = new Device({ privateKey: priv, aead: pureTsAead, wallClock: Date.now });
    d.addPeer(serverKey, { address: host, port }).initiate(0, false);
    const m = d.takeOutgoing()[0]?.data;
    if (!m) throw new Error("no initiation");
    bySender.set(new DataView(m.buffer, m.byteOffset).getUint32(4, true), inits.length);
    inits.push(m);
  }
  const cookieKey = hash(new TextEncoder().encode("cookie--"), serverKey);
  let cookie: Uint8Array | null = null;
  let answered = 0;
  let cookies = 0;
  let primeAnswered = 0;
  let lastAnswer = 0;
  let inFlight = 0;
  const sentAt = new Float64Array(inits.length);
  const done = new Uint8Array(inits.length);
  let next = 0;
  let measuring = false;
  let refill = (): void => {};
  const sock = await Bun.udpSocket({
    binaryType: "uint8array",
    socket: {
      data(_s, d) {
        const who = bySender.get(new DataView(d.buffer, d.byteOffset).getUint32(d[0] === 2 ? 8 : 4, true));
        if (who === undefined || done[who]) return;
        if (d[0] === 3 && d.length === 64) {
          cookies++;
          const init = inits[who] as Uint8Array;
          cookie ??= xchacha20poly1305Open(cookieKey, d.subarray(8, 32), d.subarray(32), init.subarray(116, 132));
        } else if (d[0] === 2 && d.length === 92) {
          if (measuring) answered++;
          else primeAnswered++;
          lastAnswer = performance.now();
        } else return;
        done[who] = 1;
        if (measuring) {
          inFlight--;
          refill();
        }
      },
    },
  });
  const send = (i: number) => {
    const m = inits[i] as Uint8Array;
    if (cookie) m.set(mac(cookie, m.subarray(0, 132)), 132);
    sentAt[i] = performance.now();
    sock.send(m, port, host);
  };
  // 2. prime
  const primeN = Math.min(prime, inits.length - 1);
  for (next = 0; next < primeN; next++) send(next);
  const primeEnd = performance.now() + 3000;
  while (performance.now() < primeEnd && primeAnswered + cookies < primeN) await Bun.sleep(10);
  await Bun.sleep(300);
  // 3. measure: each answer refills the window from the receive callback; a 20 ms timer
  // retires initiations unanswered for 500 ms (counted as lost) and refills for them.
  measuring = true;
  const ticks0 = pid ? threadTicks(pid) : new Map<string, number>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let lost = 0;
  let oldest = next;
  refill = () => {
    while (inFlight < window && next < inits.length) {
      send(next++);
      inFlight++;
    }
  };
  refill();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      for (; oldest < next && (done[oldest] || now - (sentAt[oldest] as number) > 500); oldest++) {
        if (!done[oldest]) {
          done[oldest] = 1;
          lost++;
          inFlight--;
        }
      }
      refill();
      if (next >= inits.length && inFlight <= 0) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  const clientCpu = process.cpuUsage(cpu0);
  const seconds = (lastAnswer - t0) / 1000;
  const ticks1 = pid ? threadTicks(pid) : new Map<string, number>();
  let busiest = 0;
  for (const [t, v] of ticks1) busiest = Math.max(busiest, v - (ticks0.get(t) ?? v));
  const hz = 100;
  const cpu = pid ? Math.round((100 * busiest) / hz / ((performance.now() - t0) / 1000)) : null;
  sock.close();
  console.log(JSON.stringify({ kind: "handshakes", peers: inits.length, primed: primeN, primeAnswered, cookies, mac2: cookie !== null, answered, lost, seconds: Number(seconds.toFixed(3)), rate: Math.round(answered / seconds), busiestThreadCpu: cpu, clientCpu: Math.round((clientCpu.user + clientCpu.system) / 1e4 / ((performance.now() - t0) / 1000)) }));
}

if (process.argv[2] === "gen") gen();
else if (process.argv[2] === "load") await load();
else throw new Error("usage: wg-handshakes.ts gen|load ...");

/**
 * @module flood
 * A bounded handshake flood for the e2e tests, run inside a client namespace:
 *
 *   bun flood.ts --to 10.77.2.1:8000 --count 50000 [--user bob] [--min-ms 0] [--max-ms 30000]
 *
 * Sends `count` bad ToyVpn handshakes as fast as it can from one UDP socket, in
 * batches with sendMany; with --min-ms it stretches them over at least that long (so a
 * test can be sure another client handshakes while the flood is on). Three kinds, in turn: a wrong shared secret, a wrong
 * password for --user (the argon2id path), and a forged token. Prints JSON lines:
 * {"kind":"flood-started"}, {"kind":"flood-progress"} after a tenth, and
 * {"kind":"flood-done","sent","ms","t"}. Stops by itself
 * after `count` datagrams or --max-ms, whichever comes first.
 */
export {}; // a module: top-level await below

const print = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : dflt;
  if (v === undefined) {
    console.error(`flood: ${name} is required`);
    process.exit(2);
  }
  return v;
}

const to = arg("--to");
const host = to.slice(0, to.lastIndexOf(":"));
const port = Number(to.slice(to.lastIndexOf(":") + 1));
const count = Math.min(Number(arg("--count", "50000")), 1_000_000);
const user = arg("--user", "nobody");
const maxMs = Number(arg("--max-ms", "30000"));
const minMs = Number(arg("--min-ms", "0"));
const BATCH = 256;

function handshake(i: number): Uint8Array {
  const kind = i % 3;
  const text = kind === 0 ? `flood-secret-${i}` : kind === 1 ? `${user}:flood-guess-${i}` : `wt1.eyJpIjoiZmxvb2QiLCJlIjo5OTk5OTk5OTk5fQ.AAAAAAAAAAAAAAAA${(i % 1000).toString().padStart(6, "0")}`;
  const body = new TextEncoder().encode(text);
  const d = new Uint8Array(body.length + 1);
  d.set(body, 1);
  return d;
}

let drained: (() => void) | null = null;
const sock = await Bun.udpSocket({
  binaryType: "uint8array",
  socket: {
    drain() {
      drained?.();
    },
  },
});

const start = performance.now();
const deadline = start + maxMs;
print({ kind: "flood-started", count, localPort: sock.port });
let sent = 0;
let stalls = 0;
while (sent < count && performance.now() < deadline && stalls < 10_000) {
  const n = Math.min(BATCH, count - sent);
  const packets: Array<Uint8Array | string | number> = [];
  for (let k = 0; k < n; k++) packets.push(handshake(sent + k), port, host);
  const done = sock.sendMany(packets);
  if (sent < count / 10 && sent + done >= count / 10) print({ kind: "flood-progress", sent: sent + done, t: Date.now() });
  sent += done;
  if (done < n) {
    stalls++;
    await Promise.race([new Promise<void>((r) => (drained = r)), Bun.sleep(5)]);
  } else if (minMs > 0) {
    const ahead = (sent / count) * minMs - (performance.now() - start);
    if (ahead >= 1) await Bun.sleep(ahead); // ahead of the --min-ms schedule
  }
}
sock.close();
print({ kind: "flood-done", sent, ms: Math.round(performance.now() - start), stalls, t: Date.now() });
process.exit(0);

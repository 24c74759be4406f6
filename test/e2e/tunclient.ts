/**
 * @module tunclient
 * A minimal ToyVpn client with a real TUN, for tests that need the kernel's own TCP through
 * the tunnel over IPv4 and IPv6 (the C refclient configures only one address and no IPv6).
 * Run it inside a client namespace:
 *
 *   bun test/e2e/tunclient.ts --server 10.77.1.1:8000 --secret S [--tun tc0] [--mtu 1500] [--max-ms 600000]
 *
 * 1. handshake `0x00 secret` x3 over UDP; the first parameter answer is parsed with the
 *    Android rules (src/protocol/toyvpn.ts).
 * 2. opens TUN --tun (src/tun/linux.ts) with the first IPv4 and the first IPv6 `a` option and
 *    the pushed MTU (or --mtu, to play a client that ignores it), then adds every pushed
 *    route through it (platform/linux/netconf.ts ioctls; prefix-0 routes included, so run it
 *    only in a namespace).
 * 3. prints `{"kind":"up","address","address6","params","mtu"}` and moves packets both ways:
 *    TUN batches go out with one sendMany, datagrams that are not control messages are written
 *    to the TUN. A keepalive goes out every 10 s.
 * Stops on SIGTERM/SIGINT or after --max-ms (exit 3); exit 2 on usage or setup errors.
 */
import { errorCode } from "../../src/lib/errors.ts";
import { eventually } from "../lib/wait.ts";
import { parseParams } from "../../src/protocol/toyvpn.ts";
import { addRoute4, addRoute6 } from "../../src/platform/linux/netconf.ts";
import { openLinuxTun } from "../../src/tun/linux.ts";

const KEEPALIVE_MS = 10_000;

function fail(msg: string): never {
  console.error(`tunclient: ${msg}`);
  process.exit(2);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const server = arg("--server") ?? fail("--server HOST:PORT is required");
const secret = arg("--secret") ?? fail("--secret is required");
const tunName = arg("--tun") ?? "tc0";
const mtuOverride = arg("--mtu") === undefined ? null : Number(arg("--mtu"));
const maxMs = Number(arg("--max-ms") ?? 600_000);
const colon = server.lastIndexOf(":");
const host = server.slice(0, colon).replace(/^\[|\]$/g, "");
const port = Number(server.slice(colon + 1));
if (colon <= 0 || !Number.isInteger(port)) fail(`bad --server "${server}"`);

let onData: (d: Uint8Array) => void = () => {};
const answer: { text: string | null } = { text: null };
const sock = await Bun.udpSocket({
  binaryType: "uint8array",
  connect: { hostname: host, port },
  socket: {
    data(_s, d) {
      if (d.length > 1 && d[0] === 0) answer.text ??= new TextDecoder().decode(d.subarray(1));
      else if (d.length > 0 && d[0] !== 0) onData(d);
    },
    error(...a: unknown[]) {
      const err = a[a.length - 1];
      if (errorCode(err) !== "ECONNREFUSED") console.error(`tunclient: socket error: ${String(err)}`);
    },
  },
});

const hello = new Uint8Array([0, ...new TextEncoder().encode(secret)]);
for (let i = 0; i < 3; i++) sock.send(hello);
await eventually(() => answer.text !== null, 5000);
const paramsText = answer.text ?? fail("no answer to the handshake within 5 s");
const parsed = parseParams(paramsText);
if (!parsed.ok) fail(`bad parameters: ${parsed.error}`);
const p = parsed.params;
const a4 = p.addresses.find((a) => a.address.includes("."));
const a6 = p.addresses.find((a) => a.address.includes(":"));
if (a4 === undefined) fail(`no IPv4 address in "${paramsText.trim()}"`);
const mtu = mtuOverride ?? p.mtu;

const tun = openLinuxTun({
  name: tunName,
  mtu,
  ipv4: { address: a4.address, prefixLen: 32 },
  ...(a6 ? { ipv6: { address: a6.address, prefixLen: 128 } } : {}),
});
for (const r of p.routes) {
  if (r.address.includes(":")) addRoute6(r.address, r.prefixLen, tunName);
  else addRoute4(r.address, r.prefixLen, tunName);
}

// Views into the TUN arena are valid until flush() returns: sendMany copies them into the kernel.
const batch: Uint8Array[] = [];
let sendErrors = 0;
tun.start({
  packet(pkt) {
    batch.push(pkt);
  },
  flush() {
    try {
      if (batch.length === 1) sock.send(batch[0] as Uint8Array);
      else if (batch.length > 1) sock.sendMany(batch);
    } catch {
      sendErrors++;
    }
    batch.length = 0;
  },
}, (e) => console.error(`tunclient: tun: ${e.message}`));
onData = (d) => {
  tun.write(d);
};
const keepalive = setInterval(() => sock.send(new Uint8Array([0])), KEEPALIVE_MS);

const stop = (code: number) => {
  clearInterval(keepalive);
  console.log(JSON.stringify({ kind: "stopped", stats: tun.stats, sendErrors }));
  tun.close();
  sock.close();
  process.exit(code);
};
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));
setTimeout(() => stop(3), maxMs);
console.log(JSON.stringify({ kind: "up", address: a4.address, address6: a6?.address ?? null, params: paramsText.trim(), mtu }));

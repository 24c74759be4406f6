/**
 * @module capture-vectors
 * Prints the kernel-built packets used as vectors in test/unit/packets.test.ts. Run as root:
 *
 *   bun test/e2e/capture-vectors.ts
 *
 * It builds a two-namespace lab with the C reference server (TUN 10.8.0.1/24, fd00:8::1/64) and
 * a UDP sink answering "pong" on 10.8.0.1:9000 and [fd00:8::1]:9000, then re-runs itself inside
 * the client namespace (`--inner`) to handshake and send: echo requests 10.8.0.2 -> 10.8.0.1 and
 * fd00:8::2 -> fd00:8::1 (id 0x4242, seq 1, payload "abcdefgh") and UDP 40000 -> 9000. It prints
 * the kernel's answers as hex. Everything it creates is removed at the end.
 */
import { icmpEcho4, icmpEcho6, parseIcmpEcho, parseUdp, toHex, udp4, udp6 } from "../fakes/packets.ts";
import { BUN, Lab, removeStale, sleep, waitForLog, waitForUdpListener } from "./netns.ts";
import { buildCTools, spawnPeer } from "./tools.ts";

const SECRET = "vectors";

async function inner(server: string): Promise<void> {
  const got: Record<string, string> = {};
  const sock = await Bun.udpSocket({
    binaryType: "uint8array",
    connect: { hostname: server, port: 8000 },
    socket: {
      data(_s, d) {
        if (d[0] === 0) return;
        const e = parseIcmpEcho(d);
        const u = parseUdp(d);
        if (e) got[`KERNEL_ECHO_REPLY_V${d[0] === 0x45 ? 4 : 6}`] = toHex(d);
        if (u) got[`KERNEL_UDP_V${d[0] === 0x45 ? 4 : 6}`] = toHex(d);
      },
    },
  });
  const hello = new Uint8Array([0, ...new TextEncoder().encode(SECRET)]);
  for (let i = 0; i < 3; i++) sock.send(hello);
  await sleep(500);
  const payload = new TextEncoder().encode("abcdefgh");
  const pong = new TextEncoder().encode("ping");
  sock.send(icmpEcho4({ src: "10.8.0.2", dst: "10.8.0.1", id: 0x4242, seq: 1, payload }));
  sock.send(icmpEcho6({ src: "fd00:8::2", dst: "fd00:8::1", id: 0x4242, seq: 1, payload }));
  sock.send(udp4({ src: "10.8.0.2", dst: "10.8.0.1", sport: 40000, dport: 9000, payload: pong }));
  sock.send(udp6({ src: "fd00:8::2", dst: "fd00:8::1", sport: 40000, dport: 9000, payload: pong }));
  await sleep(1000);
  for (const [k, v] of Object.entries(got).sort()) console.log(`const ${k} = "${v}";`);
  sock.close();
}

async function outer(): Promise<void> {
  await removeStale();
  const lab = new Lab("vec");
  try {
    const { refserver } = await buildCTools();
    const topo = await lab.topology(1);
    const srv = lab.spawn(topo.server, "refserver", [refserver, "-p", "8000", "-k", SECRET, "-t", "wtvec0", "-A", "10.8.0.1/24",
      "-o", "m,1400 a,10.8.0.2,32"]);
    await waitForLog(srv, "listening", 10_000);
    await topo.server.ip("addr", "add", "fd00:8::1/64", "dev", "wtvec0", "nodad");
    await waitForUdpListener(topo.server, 8000, 5000);
    const s4 = spawnPeer(lab, topo.server, "sink4", ["udp-sink", "--bind", "10.8.0.1:9000", "--reply", "pong"]);
    const s6 = spawnPeer(lab, topo.server, "sink6", ["udp-sink", "--bind", "fd00:8::1:9000", "--reply", "pong"]);
    await waitForLog(s4, "listening", 10_000);
    await waitForLog(s6, "listening", 10_000);
    const c = topo.clients[0];
    if (!c) throw new Error("no client");
    process.stdout.write(await c.ns.execOk([BUN, import.meta.path, "--inner", c.serverAddr], { timeoutMs: 20_000 }));
  } finally {
    await lab.cleanup();
  }
}

if (process.argv[2] === "--inner") await inner(process.argv[3] ?? "");
else await outer();

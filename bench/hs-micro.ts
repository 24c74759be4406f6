/**
 * @module bench/hs-micro
 * Handshakes per second of the server and its ToyVpn door alone, on stand-ins (no
 * sockets, no TUN): COUNT shared-secret handshakes from distinct sources through the
 * door's `datagram`, with the server's real logger (to a file) and the default limits.
 * Shows where a handshake's time goes without the kernel; the end-to-end number comes
 * from bench/run.sh (hsflood).
 *
 *   bun bench/hs-micro.ts [COUNT=50000] [--limits-off] [--quiet]
 */
import { SecretAuth } from "../src/auth/secret.ts";
import { handshakeLimits } from "../src/config/auth-schema.ts";
import { validate } from "../src/config/load.ts";
import { ServerConfigSchema } from "../src/config/server-schema.ts";
import { systemClock } from "../src/lib/clock.ts";
import { configureLogging, getLogger } from "../src/lib/log.ts";
import { buildHandshake } from "../src/protocol/toyvpn.ts";
import { toyVpnDoor } from "../src/server/doors/toyvpn.ts";
import { Server } from "../src/server/server.ts";
import type { Transport } from "../src/transport/transport.ts";
import type { TunDevice } from "../src/tun/device.ts";

const count = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 50000);
const limitsOff = process.argv.includes("--limits-off");
const quiet = process.argv.includes("--quiet");
configureLogging({ level: quiet ? "warn" : "info", format: "text", file: { path: "/tmp/hs-micro.log", maxSize: 1 << 30, keep: 1 } });
let sent = 0;
const transport: Transport = {
  local: { address: "::", port: 8000 },
  stats: { sentDatagrams: 0, sendDrops: 0, socketErrors: 0 },
  start() {},
  queue: () => true,
  flush() {},
  sendNow: () => (sent++, true),
  close() {},
};
const tun: TunDevice = { name: "t0", mtu: 1400, stats: { readPackets: 0, writePackets: 0, writeErrors: 0 }, start() {}, write: () => true, close() {} };
const config = validate(ServerConfigSchema, {
  secret: "wbsecret", pool: "10.96.0.0/15", stateDir: "/tmp/hs-micro-state",
  ...(limitsOff ? { handshakeBudget: 0, handshakeRate: 0, lockoutFailures: 0 } : {}),
});
const door = toyVpnDoor({ ...config, limits: handshakeLimits(config) }, new SecretAuth("wbsecret"));
const server = await Server.start(config, { openTun: () => tun, openTransport: async () => transport, doors: [door], clock: systemClock, log: getLogger("warren") });
const sink = server.doors[0];
if (sink === undefined) throw new Error("no door");
const hs = buildHandshake("wbsecret");
const addrs = Array.from({ length: count }, (_, i) => `10.200.${(i >> 8) & 255}.${i & 255}`);
const t0 = performance.now();
for (let i = 0; i < count; i++) sink.datagram(hs, addrs[i] as string, 40000, false);
const ms = performance.now() - t0;
const h = server.stats.handshakes;
console.log(JSON.stringify({ count, ms: Math.round(ms), perSec: Math.round((h.ok / ms) * 1000), usEach: +((ms * 1000) / count).toFixed(1), ok: h.ok, limited: h.limited, sent }));
await server.stop();
process.exit(0);

/**
 * @module test/contract/tun-probe
 * Child process of `tun.contract.test.ts`, run inside the test namespace with
 * `ip netns exec NS bun tun-probe.ts MODE NAME [EXPECT]`. Prints JSON lines on stdout.
 *
 * - `flood`: opens LinuxTun NAME (10.99.0.1/24, MTU 1400), prints `{"event":"ready"}`,
 *   checks every packet the flood (udp-flood.ts to 10.99.0.2:9) delivers until stdin says
 *   `done`, then tests write() (a UDP packet 10.99.0.2 -> 10.99.0.1:PORT from a subarray),
 *   measures CPU over 2 s idle, closes the device and prints `{"event":"result",...}`.
 *   It must then exit on its own.
 * - `netconf`: addresses, MTU, routes, default gateways; prints what the kernel shows.
 * - `errors`: EBUSY and EINVAL from TUNSETIFF; prints the messages.
 * - `failures`: a throwing sink, then the interface deleted under the reader: each must
 *   stop reading with exactly one onError call and no exception escaping.
 */

import { spawnSync } from "bun";
import { readFileSync } from "node:fs";
import { oneLine } from "../../src/lib/errors.ts";
import { libc } from "../../src/platform/linux/libc.ts";
import * as netconf from "../../src/platform/linux/netconf.ts";
import { openTun } from "../../src/platform/linux/tun.ts";
import { openLinuxTun } from "../../src/tun/linux.ts";
import { eventually } from "../lib/wait.ts";
import { PAYLOAD_HEADER, payloadSize } from "./udp-flood.ts";

const IPV4_HEADER = 20;
const UDP_HEADER = 8;
const PROTO_UDP = 17;
const FLOOD_PORT = 9;

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function errorText(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (err) {
    return `${err instanceof Error ? err.name : "?"}: ${oneLine(err)}`;
  }
}

/** Resolves when stdin carries `done` or closes. */
async function stdinDone(): Promise<void> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of Bun.stdin.stream()) {
    text += decoder.decode(chunk);
    if (text.includes("done")) return;
  }
}

/** Checks flood packets; counts whole, malformed and out-of-order ones. */
class FloodChecker {
  received = 0;
  valid = 0;
  malformed = 0;
  other = 0;
  duplicates = 0;
  outOfOrder = 0;
  flushes = 0;
  emptyFlushes = 0;
  maxBatch = 0;
  firstBad: string[] = [];
  #pending = 0;
  #lastSeq = -1;
  readonly #seen: Uint8Array;
  constructor(expect: number) {
    this.#seen = new Uint8Array(expect);
  }
  #bad(why: string): void {
    this.malformed++;
    if (this.firstBad.length < 5) this.firstBad.push(why);
  }
  packet(pkt: Uint8Array): void {
    this.received++;
    this.#pending++;
    const n = pkt.byteLength;
    const view = new DataView(pkt.buffer, pkt.byteOffset, n);
    const version = n > 0 ? (pkt[0] ?? 0) >> 4 : 0;
    if (version === 6 && n >= 40 && view.getUint16(4) + 40 === n) {
      this.other++; // router solicitations and the like
      return;
    }
    if (version !== 4 || n < IPV4_HEADER + UDP_HEADER) return this.#bad(`version ${version} length ${n}`);
    if (view.getUint16(2) !== n) return this.#bad(`total length ${view.getUint16(2)} != ${n} delivered`);
    if (pkt[9] !== PROTO_UDP || view.getUint16(IPV4_HEADER + 2) !== FLOOD_PORT) {
      this.other++;
      return;
    }
    if (view.getUint16(IPV4_HEADER + 4) !== n - IPV4_HEADER) return this.#bad("udp length");
    const payload = pkt.subarray(IPV4_HEADER + UDP_HEADER);
    const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const seq = pv.getUint32(0);
    if (seq >= this.#seen.length) return this.#bad(`seq ${seq} out of range`);
    if (pv.getUint32(4) !== payload.byteLength || payloadSize(seq) !== payload.byteLength) {
      return this.#bad(`seq ${seq}: payload ${payload.byteLength} bytes, header says ${pv.getUint32(4)}`);
    }
    for (let i = PAYLOAD_HEADER; i < payload.byteLength; i++) {
      if (payload[i] !== ((seq + i) & 0xff)) return this.#bad(`seq ${seq}: byte ${i}`);
    }
    if (this.#seen[seq] === 1) this.duplicates++;
    this.#seen[seq] = 1;
    if (seq < this.#lastSeq) this.outOfOrder++;
    this.#lastSeq = Math.max(seq, this.#lastSeq);
    this.valid++;
  }
  flush(): void {
    this.flushes++;
    if (this.#pending === 0) this.emptyFlushes++;
    this.maxBatch = Math.max(this.maxBatch, this.#pending);
    this.#pending = 0;
  }
  get unflushed(): number {
    return this.#pending;
  }
}

/** An IPv4/UDP packet 10.99.0.2:5555 -> 10.99.0.1:port placed at offset 3 of a larger buffer. */
function udpPacketView(port: number, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const total = IPV4_HEADER + UDP_HEADER + data.length;
  const outer = new Uint8Array(total + 16).fill(0xee);
  const pkt = outer.subarray(3, 3 + total);
  const v = new DataView(pkt.buffer, pkt.byteOffset, total);
  pkt.set([0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, PROTO_UDP, 0, 0, 10, 99, 0, 2, 10, 99, 0, 1]);
  v.setUint16(2, total);
  let sum = 0;
  for (let i = 0; i < IPV4_HEADER; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(IPV4_HEADER, 5555);
  v.setUint16(IPV4_HEADER + 2, port);
  v.setUint16(IPV4_HEADER + 4, UDP_HEADER + data.length);
  v.setUint16(IPV4_HEADER + 6, 0); // UDP checksum 0 = none (allowed for IPv4)
  pkt.set(data, IPV4_HEADER + UDP_HEADER);
  return pkt;
}

async function flood(name: string, expect: number): Promise<void> {
  const checker = new FloodChecker(expect);
  const errors: string[] = [];
  const tun = openLinuxTun({ name, mtu: 1400, ipv4: { address: "10.99.0.1", prefixLen: 24 } });
  tun.start(checker, (e) => errors.push(oneLine(e)));
  emit({ event: "ready", name: tun.name });
  await stdinDone();
  await Bun.sleep(300); // let the last queued packets drain

  let written = "";
  const socket = await Bun.udpSocket({
    hostname: "10.99.0.1",
    socket: { data: (_s, data) => void (written = new TextDecoder().decode(data)) },
  });
  const text = `warren-write-test-${process.pid}`;
  const writeOk = tun.write(udpPacketView(socket.port, text));
  await eventually(() => written !== "", 2000);
  socket.close();

  const cpuBefore = process.cpuUsage();
  await Bun.sleep(2000);
  const cpu = process.cpuUsage(cpuBefore);

  tun.close();
  tun.close(); // idempotent
  const ifGone = errorText(() => netconf.ifIndex(name));
  emit({
    event: "result",
    received: checker.received, valid: checker.valid, malformed: checker.malformed, other: checker.other,
    duplicates: checker.duplicates, outOfOrder: checker.outOfOrder, flushes: checker.flushes,
    emptyFlushes: checker.emptyFlushes, unflushed: checker.unflushed, maxBatch: checker.maxBatch,
    firstBad: checker.firstBad, errors, stats: tun.stats,
    write: { ok: writeOk, receivedText: written === text },
    idleCpuMs: (cpu.user + cpu.system) / 1000, ifGone,
  });
}

function routes(family: "-4" | "-6"): string {
  return spawnSync(["ip", family, "route", "show"]).stdout.toString();
}

function netconfMode(name: string): void {
  const tun = openLinuxTun({ name, mtu: 1400, ipv4: { address: "10.99.0.1", prefixLen: 24 }, ipv6: { address: "fd99::1", prefixLen: 64 } });
  netconf.setMtu(name, 1300);
  const mtuAfter = readFileSync(`/sys/class/net/${name}/mtu`, "utf8").trim();
  const badMtu = errorText(() => netconf.setMtu(name, 20));
  netconf.addRoute4("10.98.0.0", 24, name);
  netconf.addRoute4("10.97.1.2", 16, name, "10.99.0.2"); // host bits are cleared
  netconf.addRoute4("0.0.0.0", 0, name, "10.99.0.254");
  netconf.addRoute6("fd98::", 64, name);
  netconf.addRoute6("::", 0, name, "fd99::2");
  const added = { v4: routes("-4"), v6: routes("-6"), gw4: netconf.defaultGateway4(), gw6: netconf.defaultGateway6() };
  const dupRoute = errorText(() => netconf.addRoute6("fd98::", 64, name));
  netconf.delRoute4("10.98.0.0", 24, name);
  netconf.delRoute4("10.97.0.0", 16, name, "10.99.0.2");
  netconf.delRoute4("0.0.0.0", 0, name, "10.99.0.254");
  netconf.delRoute6("fd98::", 64, name);
  netconf.delRoute6("::", 0, name, "fd99::2");
  const deleted = { v4: routes("-4"), v6: routes("-6"), gw4: netconf.defaultGateway4(), gw6: netconf.defaultGateway6() };
  const noDev = errorText(() => netconf.addRoute4("10.96.0.0", 24, "nosuchdev0"));
  const noDevIndex = errorText(() => netconf.ifIndex("nosuchdev0"));
  const badAddr = errorText(() => netconf.setIpv4(name, "10.99.0.256", 24));
  const link = spawnSync(["ip", "-o", "addr", "show", "dev", name]).stdout.toString();
  tun.close();
  emit({ event: "result", mtuAfter, badMtu, added, dupRoute, deleted, noDev, noDevIndex, badAddr, link });
}

function errorsMode(name: string): void {
  const first = openTun(name);
  const busy = errorText(() => openTun(name));
  libc.close(first.fd);
  const notTun = errorText(() => openTun("lo"));
  const template = openTun("wtp%d");
  libc.close(template.fd);
  emit({ event: "result", busy, notTun, templateName: template.name });
}

async function failuresMode(name: string): Promise<void> {
  const sinkErrors: string[] = [];
  const tun = openLinuxTun({ name, mtu: 1400, ipv4: { address: "10.99.0.1", prefixLen: 24 } });
  tun.start({ packet: () => { throw new Error("boom"); }, flush: () => {} }, (e) => sinkErrors.push(oneLine(e)));
  const socket = await Bun.udpSocket({});
  for (let i = 0; i < 3; i++) {
    socket.send("x", FLOOD_PORT, "10.99.0.2");
    await Bun.sleep(100);
  }
  const sinkStats = { ...tun.stats };
  tun.close();

  const goneErrors: string[] = [];
  const tun2 = openLinuxTun({ name, mtu: 1400, ipv4: { address: "10.99.0.1", prefixLen: 24 } });
  let packets = 0;
  tun2.start({ packet: () => void packets++, flush: () => {} }, (e) => goneErrors.push(oneLine(e)));
  await Bun.sleep(100);
  const del = spawnSync(["ip", "link", "del", name]).exitCode;
  await Bun.sleep(300);
  const goneStats = { ...tun2.stats };
  tun2.close();
  socket.close();
  emit({ event: "result", sinkErrors, sinkStats, del, goneErrors, goneStats });
}

const [mode = "", name = "", expectText = "0"] = process.argv.slice(2);
if (mode === "flood") await flood(name, Number(expectText));
else if (mode === "netconf") netconfMode(name);
else if (mode === "errors") errorsMode(name);
else if (mode === "failures") await failuresMode(name);
else {
  console.error(`usage: tun-probe.ts flood|netconf|errors NAME [EXPECT]`);
  process.exit(2);
}

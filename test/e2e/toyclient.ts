/**
 * @module toyclient
 * A scriptable ToyVpn-protocol test client with no TUN: it speaks the handshake over UDP
 * (Bun.udpSocket) and crafts the IP packets of the data phase itself (test/fakes/packets.ts).
 * Run it inside a client namespace; it prints JSON lines on stdout and always stops by itself.
 *
 *   bun test/e2e/toyclient.ts --server 10.77.3.1:8000 --secret S [--id dev]
 *       [--ping 10.8.0.1,10.8.0.2] [--count 3] [--wait-ms 1500] [--spoof-src 10.8.0.99] [--expect-none]
 *       [--keepalive] [--reconnect] [--udp-probe 10.8.0.1:9000] [--serve-echo] [--linger-ms 0]
 *       [--handshake-ms 5000] [--deadline-ms 30000] [--dump]
 *
 * Steps, in order (each optional except 1):
 *   1. handshake `0x00 secret[:id]` x3 from a fresh UDP port; collect the parameter answers for
 *      300 ms after the first and parse them strictly (the Android rules). No answer within
 *      --handshake-ms: the result says `answered: false` and the client stops there.
 *      Prints `{"kind":"up",...}`.
 *   2. --keepalive: send a lone 0x00, wait up to 2 s for a lone 0x00 back.
 *   3. --reconnect: ping the targets once from this socket (`pingsBefore`), then handshake again with
 *      the same secret/id from a NEW UDP port; the new socket becomes current, the first is "old".
 *   4. --ping: --count ICMP echo requests per target from the current socket, source = the assigned
 *      address or --spoof-src; replies matched by source, identifier and sequence number. Waits until
 *      all replies are in (or, with --expect-none, always) for up to --wait-ms after the last send.
 *      After --reconnect the same pings are also sent from the old socket (`oldPings`, another id).
 *   5. --udp-probe HOST:PORT: UDP datagrams `<label>:<nonce>` to HOST:PORT, three copies each:
 *      `spoofed` (with --spoof-src), `old` (from the old socket after --reconnect), then `legit`.
 *      A sink there shows which labels the server delivered.
 *   6. prints `{"kind":"result",...}`; with --serve-echo keeps answering ICMP echo requests to its
 *      address for --linger-ms (or until SIGTERM), then prints `{"kind":"served",...}`.
 * Exit: 0 done (read the JSON), 2 usage, 3 --deadline-ms reached (a result line is still printed).
 */
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  icmpEcho4,
  icmpEcho6,
  formatIpv6,
  parseIcmpEcho,
  parseIpv6,
  toHex,
  udp4,
  udp6,
} from "../fakes/packets.ts";
import { eventually, sleep } from "../lib/wait.ts";
import { Endpoint, handshake } from "./toysession.ts";

interface Options {
  server: { host: string; port: number };
  secret: string;
  id?: string;
  ping: string[];
  count: number;
  waitMs: number;
  spoofSrc?: string;
  expectNone: boolean;
  keepalive: boolean;
  reconnect: boolean;
  udpProbe?: { host: string; port: number };
  serveEcho: boolean;
  lingerMs: number;
  handshakeMs: number;
  deadlineMs: number;
  dump: boolean;
}

const USAGE = "usage: toyclient.ts --server HOST:PORT --secret S [--id ID] [--ping A,B] [--count N] [--wait-ms MS] "
  + "[--spoof-src ADDR] [--expect-none] [--keepalive] [--reconnect] [--udp-probe HOST:PORT] [--serve-echo] "
  + "[--linger-ms MS] [--handshake-ms MS] [--deadline-ms MS] [--dump]";

function usage(msg: string): never {
  console.error(`toyclient: ${msg}\n${USAGE}`);
  process.exit(2);
}

function hostPort(s: string, flag: string): { host: string; port: number } {
  const i = s.lastIndexOf(":");
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) usage(`${flag}: expected HOST:PORT, got "${s}"`);
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ""), port };
}

function parseArgs(argv: string[]): Options {
  const flags = new Set(["--expect-none", "--keepalive", "--reconnect", "--serve-echo", "--dump"]);
  const vals = new Map<string, string>();
  const on = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (flags.has(a)) on.add(a);
    else if (a.startsWith("--") && i + 1 < argv.length) vals.set(a, argv[++i] ?? "");
    else usage(`unexpected argument "${a}"`);
  }
  const num = (k: string, d: number) => {
    const v = vals.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) usage(`${k}: not a number: "${v}"`);
    return n;
  };
  const server = vals.get("--server");
  const secret = vals.get("--secret");
  if (!server || secret === undefined) usage("--server and --secret are required");
  const known = ["--server", "--secret", "--id", "--ping", "--count", "--wait-ms", "--spoof-src", "--udp-probe",
    "--linger-ms", "--handshake-ms", "--deadline-ms"];
  for (const k of vals.keys()) if (!known.includes(k)) usage(`unknown option ${k}`);
  const probe = vals.get("--udp-probe");
  return {
    server: hostPort(server, "--server"),
    secret,
    id: vals.get("--id"),
    ping: (vals.get("--ping") ?? "").split(",").filter((s) => s !== ""),
    count: Math.min(num("--count", 3), 100),
    waitMs: num("--wait-ms", 1500),
    spoofSrc: vals.get("--spoof-src"),
    expectNone: on.has("--expect-none"),
    keepalive: on.has("--keepalive"),
    reconnect: on.has("--reconnect"),
    udpProbe: probe ? hostPort(probe, "--udp-probe") : undefined,
    serveEcho: on.has("--serve-echo"),
    lingerMs: num("--linger-ms", 0),
    handshakeMs: num("--handshake-ms", 5000),
    deadlineMs: num("--deadline-ms", 30_000),
    dump: on.has("--dump"),
  };
}


interface PingTally {
  sent: number;
  received: number;
}

const isV6 = (addr: string) => addr.includes(":");
const canonical = (addr: string) => (isV6(addr) ? formatIpv6(parseIpv6(addr)) : addr);

/** An ICMP echo (request or reply) of the target's IP version. */
function echo(src: string, dst: string, id: number, seq: number, payload: Uint8Array, reply = false): Uint8Array {
  return isV6(dst)
    ? icmpEcho6({ src, dst, id, seq, payload, type: reply ? ICMPV6_ECHO_REPLY : ICMPV6_ECHO_REQUEST })
    : icmpEcho4({ src, dst, id, seq, payload, type: reply ? ICMP_ECHO_REPLY : ICMP_ECHO_REQUEST });
}

/** The source address `ep` uses towards `dst` (its IPv4 or IPv6 tunnel address, or the spoofed one). */
function sourceFor(ep: Endpoint, dst: string, spoof?: string): string {
  if (spoof !== undefined && isV6(spoof) === isV6(dst)) return spoof;
  return isV6(dst) ? ep.address6 : ep.address;
}

/**
 * Sends `count` echoes per target from `ep` with identifier `id` (source: `sourceFor`), and
 * counts the replies arriving on any endpoint, matched by source, identifier and sequence.
 */
async function pingAll(
  ep: Endpoint, all: Endpoint[], targets: string[], spoof: string | undefined, id: number, o: Options, earlyExit: boolean,
): Promise<Record<string, PingTally>> {
  const tally: Record<string, PingTally> = {};
  const seen = new Set<string>();
  const marks = all.map((e) => e.data.length);
  const count = () => {
    all.forEach((e, i) => {
      for (const d of e.data.slice(marks[i])) {
        const r = parseIcmpEcho(d.data);
        if (!r || (r.type !== ICMP_ECHO_REPLY && r.type !== ICMPV6_ECHO_REPLY) || r.id !== id) continue;
        const key = `${r.src}/${r.seq}`;
        const t = tally[r.src];
        if (!t || seen.has(key) || r.seq < 1 || r.seq > t.sent) continue;
        seen.add(key);
        t.received++;
      }
      marks[i] = e.data.length;
    });
  };
  const payload = new TextEncoder().encode(`toyclient ${process.pid} ${ep.label}`);
  const dsts = targets.map(canonical);
  for (const t of dsts) tally[t] = { sent: 0, received: 0 };
  for (let seq = 1; seq <= o.count; seq++) {
    for (const t of dsts) {
      const src = sourceFor(ep, t, spoof);
      if (src === "") continue; // no address of that family
      ep.send(echo(src, t, id, seq, payload));
      const entry = tally[t];
      if (entry) entry.sent++;
    }
    if (seq < o.count) await sleep(100);
  }
  const done = () => {
    count();
    return earlyExit && dsts.every((t) => (tally[t]?.received ?? 0) >= (tally[t]?.sent ?? 0));
  };
  await eventually(done, o.waitMs);
  count();
  return tally;
}

async function sendProbes(o: Options, current: Endpoint, old: Endpoint | undefined, nonce: string): Promise<string[]> {
  const probe = o.udpProbe;
  if (!probe) return [];
  const dst = canonical(probe.host);
  const labels: Array<[string, Endpoint, string]> = [];
  if (o.spoofSrc) labels.push(["spoofed", current, sourceFor(current, dst, o.spoofSrc)]);
  if (old) labels.push(["old", old, sourceFor(old, dst)]);
  labels.push(["legit", current, sourceFor(current, dst)]);
  for (const [label, ep, src] of labels) {
    const payload = new TextEncoder().encode(`${label}:${nonce}`);
    const spec = { src, dst, sport: 40000, dport: probe.port, payload };
    for (let i = 0; i < 3; i++) {
      ep.send(isV6(dst) ? udp6(spec) : udp4(spec));
      await sleep(30);
    }
  }
  return labels.map(([l]) => l);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const result: Record<string, unknown> = { kind: "result" };
  const endpoints: Endpoint[] = [];
  let served = 0;
  let resultPrinted = false;
  const print = (obj: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  /** Prints the result line, once. */
  const printResult = (error?: string) => {
    if (resultPrinted) return;
    resultPrinted = true;
    if (error) result.error = error;
    result.dataPacketsReceived = endpoints.reduce((n, e) => n + e.data.length, 0);
    if (o.dump) result.dump = endpoints.flatMap((e) => e.data.slice(0, 16).map((d) => toHex(d.data)));
    print(result);
  };
  /** Prints the result (if not yet), then the "served" line, closes the sockets and exits. */
  const finish = (code: number, error?: string): never => {
    printResult(error);
    if (o.serveEcho) print({ kind: "served", echoRequestsAnswered: served });
    for (const e of endpoints) e.close();
    process.exit(code);
  };
  setTimeout(() => finish(3, `deadline of ${o.deadlineMs} ms reached`), o.deadlineMs);
  process.on("SIGTERM", () => finish(0, "terminated"));

  const answerEchoes = (pkt: Uint8Array, ep: Endpoint) => {
    if (!o.serveEcho) return;
    const r = parseIcmpEcho(pkt);
    if (!r || (r.type !== ICMP_ECHO_REQUEST && r.type !== ICMPV6_ECHO_REQUEST)) return;
    if (r.dst !== ep.address && r.dst !== ep.address6) return;
    ep.send(echo(r.dst, r.src, r.id, r.seq, r.payload, true));
    served++;
  };

  // 1. handshake
  let current = await Endpoint.open(o.server, "first");
  endpoints.push(current);
  current.onData = answerEchoes;
  const hs = await handshake(current, o);
  result.handshake = hs;
  if (!hs.answered) return finish(0);
  print({ kind: "up", address: current.address, address6: current.address6, params: hs.params?.raw.trim(), localPort: current.port });

  // 2. keepalive
  if (o.keepalive) {
    const mark = current.controls.length;
    const start = Date.now();
    current.send(new Uint8Array([0]));
    const echoed = await eventually(() => current.controls.slice(mark).some((c) => c.data.length === 1), 2000);
    const others = current.controls.slice(mark).filter((c) => c.data.length !== 1).map((c) => c.data.length);
    result.keepalive = { echoed, ms: echoed ? Date.now() - start : undefined, otherControlSizes: others };
  }

  // 3. reconnect from a new port
  let old: Endpoint | undefined;
  const id = process.pid & 0x7fff;
  if (o.reconnect) {
    result.pingsBefore = await pingAll(current, [current], o.ping, undefined, id ^ 0x4000, o, true);
    old = current;
    current = await Endpoint.open(o.server, "second");
    endpoints.push(current);
    current.onData = answerEchoes;
    const hs2 = await handshake(current, o);
    result.reconnect = hs2;
    if (!hs2.answered) return finish(0);
  }

  // 4. pings
  if (o.ping.length > 0) {
    const oldData = old?.data.length ?? 0;
    result.pings = await pingAll(current, endpoints, o.ping, o.spoofSrc, id, o, !o.expectNone);
    if (old) {
      result.oldPings = await pingAll(old, endpoints, o.ping, undefined, id ^ 0x8000, o, false);
      result.oldSocketDataAfterReconnect = old.data.length - oldData;
    }
  }

  // 5. UDP probes
  if (o.udpProbe) {
    const nonce = Math.random().toString(16).slice(2, 10);
    result.udpProbe = { nonce, labels: await sendProbes(o, current, old, nonce) };
  }

  // 6. result, then serve echo requests for a while
  result.address = current.address;
  result.address6 = current.address6;
  result.localPort = current.port;
  printResult();
  if (o.serveEcho && o.lingerMs > 0) await sleep(o.lingerMs);
  finish(0);
}

await main();

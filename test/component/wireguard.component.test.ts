/**
 * The WireGuard front door on fakes, beside the ToyVpn door on the same socket: a client
 * built from the pure core (protocol/wireguard) handshakes through FakeUdp, gets its
 * session and fixed address, pings through the TUN, reaches a ToyVpn client through the
 * hub, roams, and is added and removed live. A client with the wrong key hears nothing.
 */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { metricsText } from "../../src/admin/metrics.ts";
import { buildSnapshot, SnapshotSchema } from "../../src/admin/snapshot.ts";
import { pureTsAead } from "../../src/crypto/chacha-ts.ts";
import { generatePrivateKey, generatePresharedKey, publicKey } from "../../src/crypto/x25519.ts";
import { parseIpv4 } from "../../src/protocol/ip.ts";
import { buildHandshake } from "../../src/protocol/toyvpn.ts";
import { Device } from "../../src/protocol/wireguard/device.ts";
import type { Peer } from "../../src/protocol/wireguard/peer.ts";
import { type WgPeerSpec } from "../../src/server/doors/wireguard/peers.ts";
import { UNDER_LOAD_RATE, wireGuardDoor, type WireGuardDoor } from "../../src/server/doors/wireguard/door.ts";
import { COOKIE_REPLY_SIZE, TYPE_COOKIE_REPLY } from "../../src/protocol/wireguard/constants.ts";
import { handshakeLimits } from "../../src/config/auth-schema.ts";
import { validate } from "../../src/config/load.ts";
import { ServerConfigSchema } from "../../src/config/server-schema.ts";
import { SecretAuth } from "../../src/auth/secret.ts";
import { toyVpnDoor } from "../../src/server/doors/toyvpn.ts";
import { Server } from "../../src/server/server.ts";
import type { Session } from "../../src/server/session.ts";
import { C_WG_RX_AT, C_WG_RX_DATA_AT, C_WG_TX_AT, counterBytes, counterIndex, G_WG_REPLAY, G_WG_UNKNOWN } from "../../src/datapath/layout.ts";
import { encodeEndpoint, type EndpointName, FastTable } from "../../src/datapath/table.ts";
import { TableView } from "../../src/datapath/view.ts";
import { unixMs } from "../../src/lib/clock.ts";
import { WG_DROP, WG_HAND, WG_HEAD, WgKeys } from "../../src/datapath/wg-keys.ts";
import { WgSide } from "../../src/datapath/wg-side.ts";
import { type Libcrypto, loadLibcrypto } from "../../src/platform/linux/libcrypto.ts";
import { FakeDataPath } from "../fakes/fake-datapath.ts";
import { FakeTun } from "../fakes/fake-tun.ts";
import { FakeUdp } from "../fakes/fake-udp.ts";
import { ManualClock } from "../fakes/manual-clock.ts";
import { formatIpv6, icmpEcho4, icmpEcho6, parseIcmpEcho4, parseIcmpEcho6 } from "../fakes/packets.ts";
import { recordingLogger } from "../lib/log.ts";
import type { DataPath } from "../../src/server/datapath.ts";

const SERVER_KEY = generatePrivateKey();
const SERVER_PORT = 8000;
const AF_INET6 = 10;

/** A WireGuard client: the pure core with one peer (the server), talking through the rig's FakeUdp. */
class WgClient {
  readonly device: Device;
  readonly server: Peer;
  readonly key = generatePrivateKey();
  address: string;
  port: number;
  readonly received: Uint8Array[] = [];
  /** Where transport data goes instead of the rig's socket (a fast path's worker), or null. */
  via: ((d: Uint8Array, address: string, port: number) => void) | null = null;

  constructor(readonly rig: Rig, endpoint: { address: string; port: number }, psk: Uint8Array | null, key?: Uint8Array) {
    if (key) this.key = key;
    this.address = endpoint.address;
    this.port = endpoint.port;
    this.device = new Device({ privateKey: this.key, aead: pureTsAead, wallClock: () => 1_800_000_000_000 + rig.clock.now() });
    this.server = this.device.addPeer(publicKey(SERVER_KEY), { address: "::ffff:192.0.2.1", port: SERVER_PORT, ...(psk ? { presharedKey: psk } : {}) });
  }

  get publicKey(): Uint8Array {
    return publicKey(this.key);
  }

  /** Sends what the client's core has queued to the server, then feeds back the server's answers until quiet. */
  pump(): void {
    for (let round = 0; round < 10; round++) {
      const out = this.device.takeOutgoing();
      for (const m of out) this.#out(m.data);
      const back = this.rig.udp.take(this.address, this.port);
      for (const d of back) {
        const r = this.device.receive(d.slice(), "::ffff:192.0.2.1", SERVER_PORT, this.rig.clock.now());
        if (r.kind === "deliver") this.received.push(r.packet.slice());
      }
      if (out.length === 0 && back.length === 0) return;
    }
  }

  connect(): void {
    this.server.initiate(this.rig.clock.now(), false);
    this.pump();
  }

  send(pkt: Uint8Array): void {
    const buf = new Uint8Array(2048);
    const r = this.server.encapsulate(pkt, this.rig.clock.now(), buf);
    if (r.kind === "send") this.#out(buf.subarray(0, r.length));
    this.pump();
  }

  #out(d: Uint8Array): void {
    if (this.via !== null && d[0] === 4) this.via(d, this.address, this.port);
    else this.rig.udp.receive(d, this.address, this.port);
  }
}

interface Rig {
  server: Server;
  wg: WireGuardDoor;
  tun: FakeTun;
  udp: FakeUdp;
  clock: ManualClock;
  logs: string[];
}

async function rig(peers: WgPeerSpec[], settings: Record<string, unknown> = {}, openDataPath?: () => DataPath): Promise<Rig> {
  const tun = new FakeTun();
  const udp = new FakeUdp();
  const clock = new ManualClock();
  const log = recordingLogger();
  const config = validate(ServerConfigSchema, { secret: "s3cret", listen: `[::]:${SERVER_PORT}`, ...settings });
  const listen = { host: "::", port: SERVER_PORT };
  const server = await Server.start(config, {
    openTun: () => tun,
    openTransport: async () => udp,
    doors: [
      toyVpnDoor({ ...config, limits: handshakeLimits(config) }, new SecretAuth("s3cret")),
      wireGuardDoor({ listen, privateKey: SERVER_KEY, peers, mtu: 1400, aead: pureTsAead, wallClock: () => 1_800_000_000_000 + clock.now() }),
    ],
    clock,
    log,
    ...(openDataPath && { openDataPath }),
  });
  return { server, wg: server.doors[1] as WireGuardDoor, tun, udp, clock, logs: log.lines };
}

const spec = (c: { publicKey: Uint8Array }, name: string, addr: string, psk: Uint8Array | null = null): WgPeerSpec => ({
  name, publicKey: c.publicKey, presharedKey: psk, addr4: parseIpv4(addr) as number, persistentKeepalive: null,
});

const ping = (src: string, dst: string, seq: number, type?: number) => icmpEcho4({ src, dst, id: 5, seq, payload: new Uint8Array(48).fill(seq), ...(type !== undefined ? { type } : {}) });

describe("WireGuard door on fakes", () => {
  test("handshake opens a session with the peer's fixed address; ping through the TUN both ways", async () => {
    const psk = generatePresharedKey();
    const r = await rig([]);
    const c = new WgClient(r, { address: "::ffff:198.51.100.5", port: 51000 }, psk);
    r.wg.sync([spec(c, "phone-1", "10.8.0.7", psk)]);
    c.connect();
    const s = r.server.sessions.all()[0];
    expect(s?.protocol).toBe("wireguard");
    expect(s?.deviceId).toBe("phone-1");
    expect(s?.addr4).toBe(parseIpv4("10.8.0.7") as number);
    expect(r.server.stats.handshakes.ok).toBe(1);
    c.send(ping("10.8.0.7", "10.8.0.1", 1));
    expect(r.tun.written.length).toBe(1);
    expect(parseIcmpEcho4(r.tun.written[0] as Uint8Array)?.seq).toBe(1);
    r.tun.inject(ping("10.8.0.1", "10.8.0.7", 1, 0));
    c.pump();
    expect(c.received.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([1]);
    expect(s?.rxPackets).toBe(1);
    expect(s?.txPackets).toBe(1);
    // a spoofed inner source is dropped (cryptokey routing)
    c.send(ping("10.8.0.99", "10.8.0.1", 2));
    expect(r.tun.written.length).toBe(1);
    expect(s?.drops.spoofed).toBe(1);
  });

  test("a ToyVpn client and a WireGuard client reach each other through the hub, on one socket", async () => {
    const r = await rig([]);
    const c = new WgClient(r, { address: "::ffff:198.51.100.6", port: 51001 }, null);
    r.wg.sync([spec(c, "laptop", "10.8.0.9")]);
    c.connect();
    for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret:toy"), "::ffff:203.0.113.3", 40000);
    r.udp.take("::ffff:203.0.113.3", 40000);
    const toy = r.server.sessions.all().find((s) => s.protocol === "toyvpn");
    expect(toy).toBeDefined();
    const toyAddr = `10.8.0.${(toy?.addr4 ?? 0) & 255}`;
    c.send(ping("10.8.0.9", toyAddr, 3));
    const toyGot = r.udp.take("::ffff:203.0.113.3", 40000);
    expect(toyGot.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([3]);
    r.udp.receive(ping(toyAddr, "10.8.0.9", 4, 0), "::ffff:203.0.113.3", 40000);
    c.pump();
    expect(c.received.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([4]);
    expect(r.server.stats.hubPackets).toBe(2);
    expect(r.server.pool4.used).toBe(2);
  });

  test("roaming: the endpoint follows the last authenticated packet", async () => {
    const r = await rig([]);
    const c = new WgClient(r, { address: "::ffff:198.51.100.7", port: 51002 }, null);
    r.wg.sync([spec(c, "roamer", "10.8.0.10")]);
    c.connect();
    c.port = 51999;
    c.send(ping("10.8.0.10", "10.8.0.1", 5));
    const s = r.server.sessions.all()[0];
    expect(s?.port).toBe(51999);
    r.tun.inject(ping("10.8.0.1", "10.8.0.10", 5, 0));
    c.pump();
    expect(c.received.length).toBe(1);
  });

  test("a client with an unknown key and junk datagrams get no answer at all, counted", async () => {
    const r = await rig([]);
    const stranger = new WgClient(r, { address: "::ffff:198.51.100.8", port: 51003 }, null);
    stranger.connect();
    expect(r.udp.sent.length).toBe(0);
    expect(r.server.sessions.size).toBe(0);
    const junk = new Uint8Array(148);
    junk[0] = 1;
    r.udp.receive(junk, "::ffff:198.51.100.9", 1);
    expect(r.udp.sent.length).toBe(0);
    expect(r.server.stats.doorDrops["wireguard:mac1"]).toBeGreaterThanOrEqual(1);
    // ... and the operator sees them: the snapshot (as the control protocol validates it) and /metrics
    const extras = { version: "t", pid: 1, logFile: null, captureOf: () => null, captureActive: 0, captureDropped: 0, controlSocket: null, metrics: null };
    const snap = v.parse(SnapshotSchema, buildSnapshot(r.server, extras, r.clock.now(), 1e12));
    expect(snap.status.doorDrops?.["wireguard:mac1"]).toBe(r.server.stats.doorDrops["wireguard:mac1"]);
    expect(metricsText(snap)).toContain(`warren_door_drops_total{protocol="wireguard",reason="mac1"} ${snap.status.doorDrops?.["wireguard:mac1"]}`);
  });

  test("peers added and removed live: unchanged peers keep their sessions; a removed one ends", async () => {
    const r = await rig([]);
    const a = new WgClient(r, { address: "::ffff:198.51.100.10", port: 52000 }, null);
    const b = new WgClient(r, { address: "::ffff:198.51.100.11", port: 52001 }, null);
    r.wg.sync([spec(a, "a", "10.8.0.20")]);
    a.connect();
    const sa = r.server.sessions.all()[0];
    const res = r.wg.sync([spec(a, "a", "10.8.0.20"), spec(b, "b", "10.8.0.21")]);
    expect(res.added.length).toBe(1);
    expect(sa?.open).toBe(true);
    b.connect();
    expect(r.server.sessions.size).toBe(2);
    r.wg.sync([spec(b, "b", "10.8.0.21")]);
    expect(sa?.open).toBe(false);
    expect(r.logs.some((l) => l.includes("session down device=a") && l.includes("reason=removed"))).toBe(true);
    // a ToyVpn client never gets a peer's reserved address
    for (let i = 0; i < 25; i++) for (let k = 0; k < 3; k++) r.udp.receive(buildHandshake(`s3cret:t${i}`), "::ffff:203.0.113.4", 41000 + i);
    expect(r.server.sessions.all().filter((s) => s.protocol === "toyvpn").some((s) => s.addr4 === parseIpv4("10.8.0.21"))).toBe(false);
  });

  test("--isolate: a WireGuard client and a ToyVpn client cannot reach each other; the server still can", async () => {
    const r = await rig([], { isolate: true });
    const c = new WgClient(r, { address: "::ffff:198.51.100.14", port: 51004 }, null);
    r.wg.sync([spec(c, "iso", "10.8.0.40")]);
    c.connect();
    for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret:toy-iso"), "::ffff:203.0.113.5", 40005);
    r.udp.take("::ffff:203.0.113.5", 40005);
    const toy = r.server.sessions.all().find((s) => s.protocol === "toyvpn");
    const wg = r.server.sessions.all().find((s) => s.protocol === "wireguard");
    const toyAddr = `10.8.0.${(toy?.addr4 ?? 0) & 255}`;
    c.send(ping("10.8.0.40", toyAddr, 6));
    expect(r.udp.take("::ffff:203.0.113.5", 40005)).toEqual([]);
    expect(wg?.drops.isolated).toBe(1);
    r.udp.receive(ping(toyAddr, "10.8.0.40", 7), "::ffff:203.0.113.5", 40005);
    c.pump();
    expect(c.received).toEqual([]);
    expect(toy?.drops.isolated).toBe(1);
    expect(r.server.stats.hubPackets).toBe(0);
    c.send(ping("10.8.0.40", "10.8.0.1", 8));
    expect(r.tun.written.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([8]);
  });

  test("--pool6: a peer gets its paired IPv6 address; IPv6 both ways, a foreign IPv6 source is spoofed", async () => {
    const r = await rig([], { pool6: "fd00:8::/64" });
    const c = new WgClient(r, { address: "::ffff:198.51.100.15", port: 51005 }, null);
    r.wg.sync([spec(c, "six", "10.8.0.41")]);
    c.connect();
    const s = r.server.sessions.all()[0];
    expect(s?.addr6 ? formatIpv6(s.addr6) : null).toBe("fd00:8::29"); // 41 = 0x29, paired with 10.8.0.41
    const ping6 = (src: string, dst: string, seq: number, type?: number) => icmpEcho6({ src, dst, id: 6, seq, payload: new Uint8Array(32).fill(seq), ...(type !== undefined ? { type } : {}) });
    c.send(ping6("fd00:8::29", "2001:db8::1", 1));
    expect(r.tun.written.map((p) => parseIcmpEcho6(p)?.seq)).toEqual([1]);
    r.tun.inject(ping6("2001:db8::1", "fd00:8::29", 1, 129));
    c.pump();
    expect(c.received.map((p) => parseIcmpEcho6(p)?.seq)).toEqual([1]);
    c.send(ping6("fd00:8::2a", "2001:db8::1", 2));
    expect(r.tun.written.length).toBe(1);
    expect(s?.drops.spoofed).toBe(1);
  });

  test("under a burst of initiations the door answers with cookie replies only; an initiation with the cookie's mac2 gets through", async () => {
    const r = await rig([]);
    const c = new WgClient(r, { address: "::ffff:198.51.100.16", port: 51006 }, null);
    r.wg.sync([spec(c, "busy", "10.8.0.42")]);
    const junk = new Uint8Array(148);
    junk[0] = 1; // an initiation's size and type, no valid mac1: counted as an initiation, never answered
    const flood = () => {
      for (let i = 0; i <= UNDER_LOAD_RATE; i++) r.udp.receive(junk, `::ffff:203.0.113.${i & 255}`, 1000 + i);
    };
    flood();
    expect(r.udp.sent.length).toBe(0);
    c.server.initiate(r.clock.now(), false);
    for (const m of c.device.takeOutgoing()) r.udp.receive(m.data, c.address, c.port);
    const back = r.udp.take(c.address, c.port);
    expect(back.map((d) => [d[0], d.length])).toEqual([[TYPE_COOKIE_REPLY, COOKIE_REPLY_SIZE]]);
    expect(r.server.sessions.size).toBe(0);
    expect(r.server.stats.doorDrops["wireguard:under-load"]).toBe(1);
    c.device.receive((back[0] as Uint8Array).slice(), "::ffff:192.0.2.1", SERVER_PORT, r.clock.now()); // the client keeps the cookie
    r.clock.advance(5500); // the client's retry (REKEY_TIMEOUT), still under load
    flood();
    c.server.initiate(r.clock.now(), true);
    c.pump();
    expect(r.server.sessions.all().map((x) => x.deviceId)).toEqual(["busy"]);
    expect(r.udp.sent.filter((d) => d.address !== c.address).length).toBe(0); // the flood heard nothing
  });

  test("a handshake the server refuses (max clients reached) gets no answer, so the client never believes it is connected", async () => {
    const r = await rig([], { maxClients: 1 });
    const a = new WgClient(r, { address: "::ffff:198.51.100.12", port: 52002 }, null);
    const b = new WgClient(r, { address: "::ffff:198.51.100.13", port: 52003 }, null);
    r.wg.sync([spec(a, "a", "10.8.0.30"), spec(b, "b", "10.8.0.31")]);
    a.connect();
    expect(r.server.sessions.size).toBe(1);
    b.server.initiate(r.clock.now(), false);
    for (const m of b.device.takeOutgoing()) r.udp.receive(m.data, b.address, b.port);
    expect(r.udp.take(b.address, b.port)).toEqual([]);
    expect(r.server.stats.handshakes.refused).toBe(1);
    expect(r.logs.some((l) => l.includes("handshake refused") && l.includes("reason=max-clients") && l.includes("peer=b"))).toBe(true);
    // once there is room, b's next initiation is answered and opens its session
    r.server.sessions.close(r.server.sessions.all()[0] as never, "kicked", r.clock.now());
    r.clock.advance(6000);
    b.connect();
    expect(r.server.sessions.all().map((s) => s.deviceId)).toEqual(["b"]);
  });
});

/**
 * A fast path whose worker is the test itself: the real forwarding table, keypair table and
 * a worker's opener/sealer (datapath/wg-keys.ts), driven one packet at a time the way
 * rx-engine.ts and tx-engine.ts drive them.
 */
class HandWorker extends FakeDataPath {
  readonly table = new FastTable({ pool4Network: parseIpv4("10.8.0.0") as number, pool4PrefixLen: 24, server4: parseIpv4("10.8.0.1") as number, pool6: null }, 256);
  override readonly wireGuard = new WgSide(this.table, 1400);
  readonly slab = new Float64Array(new SharedArrayBuffer(counterBytes(256)));
  readonly view = new TableView(this.table.sab);
  readonly keys: WgKeys;
  /** Packets the worker wrote to the TUN itself. */
  readonly tunWrites: Uint8Array[] = [];

  constructor(lib: Libcrypto) {
    super({ host: "::", port: SERVER_PORT });
    this.wireGuard.useSlabs([this.slab.buffer as SharedArrayBuffer]);
    this.keys = new WgKeys(this.wireGuard.keypairs.sab, lib.context(new Uint8Array(32)), this.slab);
  }

  override sessionUp(s: Session): void {
    super.sessionUp(s);
    this.#set(s);
  }

  override moved(s: Session): void {
    super.moved(s);
    this.#set(s);
  }

  #set(s: Session): void {
    this.table.set(this.table.slotOf(s.addr4), s.serial, encodeEndpoint(s.address, s.port, AF_INET6), s.addr4, null, false, true);
  }

  /** What receive() did, in order. */
  readonly outcomes: string[] = [];

  /** A datagram the kernel steered to the worker: what the worker did with it. */
  receive(d: Uint8Array, address: string, port: number): string {
    const what = this.#receive(d, address, port);
    this.outcomes.push(what);
    return what;
  }

  #receive(d: Uint8Array, address: string, port: number): "tun" | "keepalive" | "handed" | "raw" | "dropped" {
    const buf = d.slice();
    const names = (encodeEndpoint(address, port, AF_INET6) as EndpointName).words;
    const k = this.keys;
    k.now = unixMs();
    const n = k.open(buf, 0, buf.length);
    if (n === WG_DROP) return "dropped";
    if (n === WG_HAND) {
      this.handDatagram(buf, address, port);
      return "raw";
    }
    this.slab[counterIndex(k.slot, C_WG_RX_AT)] = k.now;
    if (k.confirmed && n === 0 && this.view.sameEndpoint(k.slot, names, 0)) return "keepalive";
    if (k.confirmed && n > 0 && this.view.decideRx(buf, WG_HEAD, n, names, 0, true) === k.slot) {
      this.slab[counterIndex(k.slot, C_WG_RX_DATA_AT)] = k.now;
      this.tunWrites.push(buf.slice(WG_HEAD, WG_HEAD + this.view.len));
      return "tun";
    }
    this.handOpened(k.index, buf, address, port);
    return "handed";
  }

  /** A TUN packet the worker read: the sealed message it sends, or "handed" to the door. */
  send(p: Uint8Array): Uint8Array | "handed" {
    const names = new Int32Array(8);
    const slot = this.view.decideTx(p, 0, p.length, names, 0);
    const buf = new Uint8Array(WG_HEAD + p.length + 48);
    buf.set(p, WG_HEAD);
    this.keys.now = unixMs();
    const m = slot >= 0 && this.view.wgKp >= 0 ? this.keys.seal(this.view.wgKp, this.view.wgIndex, buf, WG_HEAD, p.length) : -1;
    if (m < 0) {
      this.handPackets(p);
      return "handed";
    }
    this.slab[counterIndex(slot, C_WG_TX_AT)] = this.keys.now;
    return buf.slice(0, m);
  }
}

const libcrypto = loadLibcrypto();

describe.skipIf(!libcrypto.ok)("WireGuard door with a fast path that seals and opens on its workers", () => {
  async function fastRig() {
    if (!libcrypto.ok) throw new Error("no libcrypto");
    const worker = new HandWorker(libcrypto.lib);
    const r = await rig([], {}, () => worker);
    const c = new WgClient(r, { address: "::ffff:198.51.100.40", port: 53000 }, null);
    c.via = (d, address, port) => void worker.receive(d, address, port); // the kernel steers transport data to the worker
    r.wg.sync([spec(c, "fast", "10.8.0.40")]);
    c.connect();
    return { r, c, worker, s: r.server.sessions.all()[0] as Session };
  }

  /** The client's next message for `pkt` (empty: a keepalive), not yet delivered. */
  function seal(c: WgClient, pkt: Uint8Array): Uint8Array {
    const buf = new Uint8Array(2048);
    const res = c.server.encapsulate(pkt, c.rig.clock.now(), buf);
    if (res.kind !== "send") throw new Error(`client could not send: ${res.kind}`);
    return buf.slice(0, res.length);
  }

  test("the first message under the new keypair is handed over and confirms it; then packets cross no thread, both ways", async () => {
    const { r, c, worker } = await fastRig();
    expect(worker.wireGuard.keypairs.size).toBe(1); // the responder's keypair, shared at the handshake
    // The client's keepalive after the handshake: opened by the worker, finished (confirmed) by the door.
    expect(worker.outcomes).toEqual(["handed"]);
    for (let seq = 3; seq < 6; seq++) {
      expect(worker.receive(seal(c, ping("10.8.0.40", "10.8.0.1", seq)), c.address, c.port)).toBe("tun");
      const out = worker.send(ping("10.8.0.1", "10.8.0.40", seq, 0));
      if (out === "handed") throw new Error("handed over");
      const got = c.device.receive(out, "::ffff:192.0.2.1", SERVER_PORT, r.clock.now());
      expect(got.kind).toBe("deliver");
      expect(parseIcmpEcho4(got.packet)?.seq).toBe(seq);
    }
    expect(worker.tunWrites.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([3, 4, 5]);
    expect(r.tun.written.length).toBe(0);
    // The main thread seals with the same counter: a packet the door sends (one a worker handed over) is not a replay.
    worker.handPackets(ping("10.8.0.1", "10.8.0.40", 6, 0));
    c.pump();
    expect(c.received.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([6]);
    // One replay window: the same message again is dropped by the worker and counted.
    const m = seal(c, ping("10.8.0.40", "10.8.0.1", 7));
    expect(worker.receive(m, c.address, c.port)).toBe("tun");
    expect(worker.receive(m, c.address, c.port)).toBe("dropped");
    expect(worker.slab[G_WG_REPLAY]).toBe(1); // folded into the door drops by the fast path (counters.test.ts)
  });

  test("roaming reaches the forwarding table; hub and spoofed packets go to the door's rules", async () => {
    const { r, c, worker, s } = await fastRig();
    expect(worker.receive(seal(c, ping("10.8.0.40", "10.8.0.1", 1)), c.address, c.port)).toBe("tun");
    c.port = 53999;
    expect(worker.receive(seal(c, ping("10.8.0.40", "10.8.0.1", 2)), c.address, c.port)).toBe("handed");
    expect(s.port).toBe(53999);
    expect(worker.calls).toContain(`moved ${s.label}`);
    expect(worker.receive(seal(c, ping("10.8.0.40", "10.8.0.1", 3)), c.address, c.port)).toBe("tun"); // the new endpoint is known
    // A spoofed inner source is handed over and the router drops it, counted.
    expect(worker.receive(seal(c, ping("10.8.0.66", "10.8.0.1", 4)), c.address, c.port)).toBe("handed");
    expect(s.drops.spoofed).toBe(1);
    expect(r.tun.written.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([2]);
    expect(worker.tunWrites.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([1, 3]);
  });

  test("the workers' traffic drives the timers: a passive keepalive, lastSeen, and a handshake when the client falls silent", async () => {
    const { r, c, worker, s } = await fastRig();
    r.udp.take(c.address, c.port);
    r.clock.advance(1000);
    expect(worker.receive(seal(c, ping("10.8.0.40", "10.8.0.1", 2)), c.address, c.port)).toBe("tun");
    r.clock.advance(500); // a tick passes the data received to the peer's timers
    const seen = s.lastSeen;
    expect(seen).toBeGreaterThan(r.clock.now() - 1000);
    r.udp.take(c.address, c.port);
    r.clock.advance(10_500); // KEEPALIVE_TIMEOUT with nothing sent: the door sends a keepalive
    const sent = r.udp.take(c.address, c.port);
    expect(sent.map((d) => d.length)).toContain(32);
    // Now the server sends data and the client stays silent: after KEEPALIVE + REKEY_TIMEOUT the server initiates.
    const out = worker.send(ping("10.8.0.1", "10.8.0.40", 3, 0));
    expect(out).toBeInstanceOf(Uint8Array);
    r.clock.advance(17_500);
    const later = r.udp.take(c.address, c.port);
    expect(later.some((d) => d[0] === 1 && d.length === 148)).toBe(true); // an initiation
  });

  test("a rekey: the new keypair is confirmed by hand-over, packets under the old one still open, and the old one's slot is freed in time", async () => {
    const { r, c, worker } = await fastRig();
    const old = seal(c, ping("10.8.0.40", "10.8.0.1", 1)); // sealed under the first keypair, delivered late
    r.clock.advance(6000); // REKEY_TIMEOUT since the last initiation: the client may start another
    c.connect();
    expect(worker.outcomes).toEqual(["handed", "handed"]); // each keypair's first message confirms it
    expect(worker.wireGuard.keypairs.size).toBe(2); // current and previous
    expect(worker.receive(old, c.address, c.port)).toBe("tun");
    expect(worker.receive(seal(c, ping("10.8.0.40", "10.8.0.1", 2)), c.address, c.port)).toBe("tun");
    // The server sends with the new keypair: the client opens it with its new one.
    const out = worker.send(ping("10.8.0.1", "10.8.0.40", 3, 0));
    if (out === "handed") throw new Error("handed over");
    expect(c.device.receive(out, "::ffff:192.0.2.1", SERVER_PORT, r.clock.now()).kind).toBe("deliver");
    expect(c.server.keypairs.current?.localIndex).toBe(((out[4] as number) | ((out[5] as number) << 8) | ((out[6] as number) << 16) | ((out[7] as number) << 24)) >>> 0);
    // A third handshake retires the first keypair: its slot is cleared and every keypair has a
    // slot, so the worker drops its messages itself, counted as the door would.
    r.clock.advance(6000);
    c.connect();
    expect(worker.wireGuard.keypairs.size).toBe(2);
    expect(worker.receive(old, c.address, c.port)).toBe("dropped");
    expect(worker.slab[G_WG_UNKNOWN]).toBe(1);
    expect(worker.tunWrites.map((p) => parseIcmpEcho4(p)?.seq)).toEqual([1, 2]);
  });
}
);

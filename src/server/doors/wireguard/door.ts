/**
 * @module server/doors/wireguard/door
 * The WireGuard front door: standard WireGuard clients (the official apps, wg-quick,
 * wireguard-go) on the same server, pool and tools as ToyVpn. The protocol itself is the
 * pure core in protocol/wireguard/; this door feeds it datagrams and time, sends what it
 * asks for, and maps its peers to sessions:
 *   1. a datagram goes to the core (`Device.receive`, silent to the unauthenticated);
 *   2. an authenticated packet's peer gets a session (opened on its first handshake or
 *      packet, with the fixed address of its AllowedIPs) and its endpoint follows the
 *      last authenticated packet (roaming); an IP packet goes to the router, whose
 *      anti-spoofing check is WireGuard's cryptokey routing for a peer's /32 and /128;
 *   3. packets the router queues for a peer are sealed into an arena and sent with the
 *      batch; timers (keepalives, rekeys, handshake retries) run every TICK_MS.
 * Under a burst of initiations (more than UNDER_LOAD_RATE a second) the core answers
 * without a valid mac2 only with a cookie reply, as WireGuard specifies.
 * With a fast data path that moves WireGuard data (fast.ts), its workers seal and open the
 * transport data of shared keypairs themselves, and hand the door what it must finish
 * (`opened`: a keypair to confirm, roaming, hub traffic, capture).
 */

import type { AeadBackend } from "../../../crypto/aead.ts";
import { keyToBase64 } from "../../../crypto/x25519.ts";
import { TYPE_INITIATION } from "../../../protocol/wireguard/constants.ts";
import { Device } from "../../../protocol/wireguard/device.ts";
import type { Peer } from "../../../protocol/wireguard/peer.ts";
import { isWireGuard } from "../../../protocol/wireguard/messages.ts";
import type { Received } from "../../../protocol/wireguard/results.ts";
import { TRANSPORT_OFF_CONTENT, TAG_LEN } from "../../../protocol/wireguard/constants.ts";
import { transportLength } from "../../../protocol/wireguard/transport.ts";
import { formatEndpoint } from "../../../protocol/ip.ts";
import { logEvent } from "../../../lib/log-event.ts";
import { endpointField } from "../../describe.ts";
import type { DataPath } from "../../datapath.ts";
import type { DoorChange, DoorChangeResult, DoorContext, DoorSpec, FrontDoor } from "../../door.ts";
import { FastGlue } from "./fast.ts";
import type { CloseReason, Session } from "../../session.ts";
import { PeerBook, type SyncResult, type WgEntry, type WgPeerSpec } from "./peers.ts";
import { warmUp } from "./warmup.ts";

/** How often the peers' timers run. */
export const TICK_MS = 250;
/** Initiations a second beyond which the door is "under load" (cookie replies). */
export const UNDER_LOAD_RATE = 2000;
/** Bytes of the send arena: one TUN batch of sealed packets. */
const ARENA_SIZE = 1 << 20;

/** Drops of handshake messages, and which handshake counter they bump. */
const HANDSHAKE_DROPS: Record<string, "rejected" | "limited" | undefined> = {
  mac1: "rejected",
  handshake: "rejected",
  "handshake-replay": "rejected",
  "handshake-flood": "limited",
  "under-load": "limited",
};

/** What the WireGuard door is configured with. */
export interface WgDoorSettings {
  listen: { host: string; port: number };
  /** The server's static private key. */
  privateKey: Uint8Array;
  peers: readonly WgPeerSpec[];
  /** Tunnel MTU: plaintext is padded to 16 bytes, never beyond it. */
  mtu: number;
  aead: AeadBackend;
  /** Wall clock, ms since the Unix epoch (TAI64N). */
  wallClock?: () => number;
}

/** The door's spec for Server.start. */
export function wireGuardDoor(settings: WgDoorSettings): DoorSpec {
  return { protocol: "wireguard", listen: settings.listen, create: (ctx) => new WireGuardDoor(ctx, settings) };
}

/** A running WireGuard door. */
export class WireGuardDoor implements FrontDoor {
  readonly protocol = "wireguard" as const;
  readonly device: Device;
  readonly book: PeerBook;
  readonly #ctx: DoorContext;
  readonly #fast: FastGlue;
  readonly #arena = new Uint8Array(ARENA_SIZE);
  #arenaOff = 0;
  readonly #scratch = new Uint8Array(65536);
  #stopTimer: () => void;
  #burstStart = 0;
  #burstCount = 0;
  #underLoadUntil = -Infinity;

  constructor(ctx: DoorContext, settings: WgDoorSettings) {
    this.#ctx = ctx;
    this.device = new Device({ privateKey: settings.privateKey, aead: settings.aead, wallClock: settings.wallClock ?? Date.now, limits: { mtu: settings.mtu } });
    this.book = new PeerBook(this.device);
    this.#fast = new FastGlue(this.device, this.book, ctx.clock);
    this.sync(settings.peers);
    const t0 = performance.now();
    const rounds = warmUp(settings.aead);
    ctx.log.debug(`wireguard: warmed the transport path up (${rounds} round trips in ${Math.round(performance.now() - t0)} ms)`);
    this.#stopTimer = ctx.clock.every(TICK_MS, () => this.#tick());
  }

  /** The server's public key. */
  get publicKey(): Uint8Array {
    return this.device.publicKey;
  }

  /**
   * Makes the door serve exactly `specs` (the peers file, re-read): unchanged peers keep
   * their sessions; removed and changed ones lose theirs (reason `removed`).
   */
  sync(specs: readonly WgPeerSpec[]): SyncResult {
    const r = this.book.sync(specs);
    this.#ctx.reserveAddresses(this.book.addresses());
    const now = this.#ctx.clock.now();
    for (const e of [...r.removed, ...r.changed]) if (e.session !== null) this.#ctx.sessions.close(e.session, "removed", now);
    return r;
  }

  claims(d: Uint8Array): boolean {
    return isWireGuard(d);
  }

  datagram(d: Uint8Array, address: string, port: number, truncated: boolean): void {
    const ctx = this.#ctx;
    const now = ctx.clock.now();
    if (truncated) return this.#dropped("invalid");
    if (d[0] === TYPE_INITIATION) this.device.underLoad = this.#loaded(now);
    const res = this.device.receive(d, address, port, now);
    if (res.kind === "drop") this.#dropped(res.reason);
    else this.#accepted(res, now);
    this.#sendOutbox();
  }

  useDataPath(dp: DataPath | null): void {
    this.#fast.use(dp);
  }

  opened(index: number, msg: Uint8Array, address: string, port: number): void {
    const now = this.#ctx.clock.now();
    const res = this.device.opened(index, msg, msg.length - TRANSPORT_OFF_CONTENT - TAG_LEN, address, port, now);
    if (res.kind === "drop") this.#dropped(res.reason);
    else this.#accepted(res, now);
    this.#sendOutbox();
  }

  /** An authenticated message: handshake, keepalive or an IP packet. */
  #accepted(res: Received<Peer>, now: number): void {
    const peer = res.peer;
    const e = peer === null ? undefined : this.book.ofPeer(peer);
    if (e === undefined) return; // a cookie reply (we initiated): nothing more to do
    const s = this.#session(e, res.kind === "handshake", now);
    if (s === null) return;
    s.lastSeen = now;
    if (res.roamed && e.peer.address !== null) {
      s.address = e.peer.address;
      s.port = e.peer.port;
      this.#fast.moved(e);
    }
    this.#fast.publish(e);
    if (res.kind === "deliver") this.#ctx.router.fromSession(s, res.data.subarray(res.offset, res.offset + res.length));
  }

  /** The peer's session, opened now when it has none; null when the server refuses one (logged). */
  #session(e: WgEntry, handshake: boolean, now: number): Session | null {
    const stats = this.#ctx.stats;
    if (e.session !== null && e.session.open) {
      if (handshake) stats.handshakes.renewed++;
      return e.session;
    }
    const res = this.#ctx.sessions.open(
      {
        door: this, identity: e.identity, deviceId: e.spec.name, user: null, grant: null,
        address: e.peer.address ?? "", port: e.peer.port, fixedAddr4: e.spec.addr4, continues: null,
      },
      now,
    );
    if (!res.ok) {
      stats.handshakes.refused++;
      const peer = e.spec.name ?? keyToBase64(e.spec.publicKey);
      const fields = { endpoint: endpointField(e.peer.address ?? "", e.peer.port), reason: res.reason, protocol: "wireguard", peer };
      this.#ctx.log.warn(logEvent("handshake-refused", fields, `handshake refused from ${formatEndpoint(e.peer.address ?? "?", e.peer.port)} reason=${res.reason} peer=${peer}`));
      this.#silence(e.peer);
      e.peer.zeroKeys();
      return null;
    }
    stats.handshakes.ok++;
    this.book.bind(e, res.session);
    return res.session;
  }

  queue(s: Session, pkt: Uint8Array): boolean {
    const e = this.book.ofSession(s);
    if (e === undefined) return false;
    const need = transportLength(pkt.length, this.device.limits.mtu);
    if (this.#arenaOff + need > ARENA_SIZE) this.flush();
    const out = this.#arena.subarray(this.#arenaOff, this.#arenaOff + need);
    const r = e.peer.encapsulate(pkt, this.#ctx.clock.now(), out);
    if (r.kind === "send") {
      this.#arenaOff += r.length;
      return this.#ctx.transport.queue(r.length === need ? out : out.subarray(0, r.length), r.port, r.address);
    }
    this.#sendOutbox(); // queued: a handshake started
    return r.kind === "queued";
  }

  sendNow(s: Session, pkt: Uint8Array): boolean {
    const e = this.book.ofSession(s);
    if (e === undefined) return false;
    const r = e.peer.encapsulate(pkt, this.#ctx.clock.now(), this.#scratch);
    if (r.kind === "send") return this.#ctx.transport.sendNow(this.#scratch.subarray(0, r.length), r.port, r.address);
    this.#sendOutbox();
    return r.kind === "queued";
  }

  flush(): void {
    this.#ctx.transport.flush();
    this.#arenaOff = 0;
  }

  closed(s: Session, reason: CloseReason, _now: number): void {
    const e = this.book.ofSession(s);
    if (e === undefined) return;
    this.book.bind(e, null);
    // A kicked or refused peer must handshake again before anything flows.
    if (reason === "kicked" || reason === "revoked" || reason === "shutdown") e.peer.zeroKeys();
  }

  tick(_now: number): void {
    // The door runs its own timer (TICK_MS); the server's sweep has nothing more to do here.
  }

  change(_c: DoorChange): DoorChangeResult {
    return "ignored";
  }

  close(): void {
    this.#stopTimer();
    this.#stopTimer = () => {};
  }

  #tick(): void {
    const now = this.#ctx.clock.now();
    this.#fast.tick(now);
    this.device.tick(now);
    for (const e of this.book.entries()) this.#fast.publish(e);
    this.#sendOutbox();
  }

  /**
   * Takes back what the core queued for `peer` in this turn (its handshake response): a
   * refused client must hear nothing, or it would believe it is connected.
   */
  #silence(peer: Peer): void {
    for (const m of this.device.takeOutgoing()) if (m.peer !== peer) this.#ctx.transport.sendNow(m.data, m.port, m.address);
  }

  /** Sends handshake messages, keepalives and staged packets the core produced. */
  #sendOutbox(): void {
    if (this.device.outgoingCount === 0) return;
    for (const m of this.device.takeOutgoing()) this.#ctx.transport.sendNow(m.data, m.port, m.address);
  }

  /** True while initiations arrive faster than UNDER_LOAD_RATE a second (and for a second after). */
  #loaded(now: number): boolean {
    if (now - this.#burstStart >= 1000) {
      this.#burstStart = now;
      this.#burstCount = 0;
    }
    if (++this.#burstCount > UNDER_LOAD_RATE) this.#underLoadUntil = now + 1000;
    return now < this.#underLoadUntil;
  }

  /** Counts a silent drop by reason; refused handshakes also count as rejected (or limited, under load). */
  #dropped(reason: string): void {
    const stats = this.#ctx.stats;
    const key = `wireguard:${reason}`;
    stats.doorDrops[key] = (stats.doorDrops[key] ?? 0) + 1;
    const hs = HANDSHAKE_DROPS[reason];
    if (hs === undefined) return;
    stats.handshakes[hs]++;
    stats.rejections[key] = (stats.rejections[key] ?? 0) + 1;
  }
}

/**
 * @module protocol/wireguard/device
 * A WireGuard interface's protocol state, pure: our static key, the peers by public key, the
 * receiver-index table, the cookie checker and an outbox. The caller feeds it datagrams
 * (`receive`), IP packets (`Peer.encapsulate`) and time (`tick`), sends what lands in the
 * outbox, and decides when the device is under load.
 *
 * Receiving, cheapest check first, silent to anyone unauthenticated:
 * 1. type byte, three zero bytes and exact size, else drop `invalid`;
 * 2. transport: receiver index -> keypair -> its peer (`Peer.receiveTransport`);
 * 3. initiation / response: mac1 (one keyed BLAKE2s), else drop; under load, mac2 or a
 *    cookie reply; then the Noise work (initiation: decrypt the static key, find the peer,
 *    check the timestamp, answer; response: the pending handshake its receiver index names);
 * 4. cookie reply: the peer its receiver index names takes the cookie.
 */

import type { AeadBackend } from "../../crypto/aead.ts";
import { createPrivateKeyObject, generateKeyPair, sharedSecretWith, type X25519PrivateKey } from "../../crypto/x25519.ts";
import {
  COOKIE_OFF_RECEIVER, COUNTER_LIMIT, INIT_OFF_EPHEMERAL, KEY_LEN, OFF_SENDER, REKEY_AFTER_MESSAGES, REKEY_TIMEOUT_JITTER_MAX, RESP_OFF_RECEIVER,
  TIMESTAMP_LEN, TRANSPORT_OFF_RECEIVER, TYPE_COOKIE_REPLY, TYPE_INITIATION, TYPE_RESPONSE, TYPE_TRANSPORT,
} from "./constants.ts";
import type { Limits, PeerContext } from "./context.ts";
import { CookieChecker, type RandomFill } from "./cookie.ts";
import { IndexTable, type KeypairShare } from "./indices.ts";
import type { Keypair } from "./keypair.ts";
import { messageType, readU32 } from "./messages.ts";
import { noiseStart, readInitiation, type NoiseStart, type StaticIdentity } from "./noise.ts";
import { Peer } from "./peer.ts";
import { Received, Sent, type Outgoing } from "./results.ts";

/** How a device is built. Only tests set `newEphemeral`, `start` and `limits`. */
export interface DeviceOptions {
  /** Our static private key (32 bytes). */
  readonly privateKey: Uint8Array;
  /** ChaCha20-Poly1305 for transport data and handshakes. */
  readonly aead: AeadBackend;
  /** Wall-clock ms since the Unix epoch, read only to stamp initiations (TAI64N). */
  readonly wallClock: () => number;
  /** CSPRNG (default: Web Crypto `getRandomValues`). */
  readonly random?: RandomFill;
  /** Ephemeral key source (default: a fresh X25519 key pair). */
  readonly newEphemeral?: () => X25519PrivateKey;
  /** Initial ck/h (default: WireGuard's). */
  readonly start?: NoiseStart;
  /** Counter limits and MTU for padding (defaults: spec limits within 2^53, no MTU cap). */
  readonly limits?: Partial<Limits>;
}

/** Per-peer settings. */
export interface PeerOptions {
  /** 32-byte preshared key (default: 32 zero bytes, as WireGuard uses without one). */
  readonly presharedKey?: Uint8Array;
  /** Known endpoint, so we can initiate. */
  readonly address?: string;
  readonly port?: number;
  /** Persistent keepalive in seconds (0 = off). */
  readonly persistentKeepalive?: number;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, "0");
  return s;
}

/** One WireGuard interface: many peers, both handshake roles. */
export class Device implements PeerContext<Peer> {
  readonly aead: AeadBackend;
  readonly start: NoiseStart;
  readonly identity: StaticIdentity;
  readonly limits: Limits;
  readonly sent = new Sent();
  /** Set by the caller while it is flooded: initiations and responses then need a valid mac2. */
  underLoad = false;
  readonly #peers = new Map<string, Peer>();
  readonly #indices: IndexTable<Peer>;
  readonly #outbox: Outgoing<Peer>[] = [];
  readonly #received = new Received<Peer>();
  readonly #checker: CookieChecker;
  readonly #random: RandomFill;
  readonly #wallClock: () => number;
  readonly #newEphemeral: () => X25519PrivateKey;
  readonly #scratch = new Uint32Array(1);
  readonly #scratchBytes = new Uint8Array(this.#scratch.buffer);

  /** Throws RangeError when the private key is not 32 bytes. */
  constructor(o: DeviceOptions) {
    const privateKey = createPrivateKeyObject(o.privateKey);
    this.identity = { privateKey, publicKey: privateKey.publicKey };
    this.aead = o.aead;
    this.start = o.start ?? noiseStart();
    this.limits = {
      rekeyAfterMessages: o.limits?.rekeyAfterMessages ?? REKEY_AFTER_MESSAGES,
      rejectAfterMessages: o.limits?.rejectAfterMessages ?? COUNTER_LIMIT,
      mtu: o.limits?.mtu ?? 0,
    };
    this.#random = o.random ?? ((out) => void crypto.getRandomValues(out));
    this.#indices = new IndexTable(this.#random);
    this.#wallClock = o.wallClock;
    this.#newEphemeral = o.newEphemeral ?? (() => generateKeyPair().key);
    this.#checker = new CookieChecker(this.identity.publicKey, this.#random);
  }

  /** Who else moves transport data (the fast data path), or null; see {@link KeypairShare}. */
  get keypairShare(): KeypairShare<Peer> | null {
    return this.#indices.share;
  }

  set keypairShare(share: KeypairShare<Peer> | null) {
    this.#indices.share = share;
  }

  /** Our static public key. */
  get publicKey(): Uint8Array {
    return this.identity.publicKey;
  }

  /** Adds a peer; throws RangeError on a bad key length, a duplicate, our own key or a low-order key. */
  addPeer(publicKey: Uint8Array, o: PeerOptions = {}): Peer {
    const psk = o.presharedKey ?? new Uint8Array(KEY_LEN);
    if (publicKey.length !== KEY_LEN || psk.length !== KEY_LEN) throw new RangeError("WireGuard keys must be 32 bytes");
    const id = hex(publicKey);
    if (this.#peers.has(id)) throw new RangeError(`peer ${id.slice(0, 8)}… already exists`);
    if (id === hex(this.publicKey)) throw new RangeError("a peer cannot have the interface's own public key");
    const shared = sharedSecretWith(this.identity.privateKey, publicKey);
    if (shared === null) throw new RangeError(`peer ${id.slice(0, 8)}…: public key is a low-order point`);
    const peer = new Peer(this, publicKey.slice(), psk.slice(), shared);
    if (o.address !== undefined) peer.setEndpoint(o.address, o.port ?? 0);
    peer.persistentKeepalive = o.persistentKeepalive ?? 0;
    this.#peers.set(id, peer);
    return peer;
  }

  /** Removes a peer and erases its keys; its messages already in the outbox stay there. */
  removePeer(peer: Peer): void {
    const id = hex(peer.publicKey);
    if (this.#peers.get(id) !== peer) return;
    peer.zeroKeys();
    peer.timers.clear();
    this.#peers.delete(id);
  }

  /** The peer with this public key. */
  peer(publicKey: Uint8Array): Peer | undefined {
    return this.#peers.get(hex(publicKey));
  }

  /** All peers. */
  peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  /** Receiver indices in use (handshakes and keypairs), for tests and status. */
  get indexCount(): number {
    return this.#indices.size;
  }

  /**
   * One datagram from `address`:`port`. Transport data is decrypted in place; the result is
   * reused (see {@link Received}). Answers, if any, are in the outbox.
   */
  receive(d: Uint8Array, address: string, port: number, now: number): Received<Peer> {
    const res = this.#received.begin(d);
    switch (messageType(d)) {
      case TYPE_TRANSPORT: {
        const entry = this.#indices.get(readU32(d, TRANSPORT_OFF_RECEIVER));
        if (entry === undefined || entry.keypair === null) return res.drop("unknown-index");
        entry.peer.receiveTransport(entry.keypair, d, address, port, now, res);
        return res;
      }
      case TYPE_INITIATION:
        return this.#initiation(d, address, port, now, res);
      case TYPE_RESPONSE:
        return this.#response(d, address, port, now, res);
      case TYPE_COOKIE_REPLY:
        return this.#cookieReply(d, now, res);
      default:
        return res.drop("invalid");
    }
  }

  /**
   * A transport message for receiver `index` a fast data path worker opened (in place, counter
   * recorded; `n` = padded plaintext length) and handed over: as `receive` from there on.
   */
  opened(index: number, msg: Uint8Array, n: number, address: string, port: number, now: number): Received<Peer> {
    const res = this.#received.begin(msg);
    const entry = this.#indices.get(index);
    if (entry === undefined || entry.keypair === null) return res.drop("unknown-index");
    entry.peer.opened(entry.keypair, msg, n, address, port, now, res);
    return res;
  }

  /** Runs every peer's due timers (retransmits, keepalives, rekeys, key erasure) into the outbox. */
  tick(now: number): void {
    for (const peer of this.#peers.values()) peer.tick(now);
  }

  /** Messages waiting to be sent, oldest first; empties the outbox. */
  takeOutgoing(): Outgoing<Peer>[] {
    return this.#outbox.splice(0);
  }

  /** Messages waiting in the outbox. */
  get outgoingCount(): number {
    return this.#outbox.length;
  }

  #macsOk(d: Uint8Array, sender: number, address: string, port: number, now: number, res: Received<Peer>): boolean {
    if (!this.#checker.checkMac1(d)) {
      res.drop("mac1");
      return false;
    }
    if (!this.underLoad || this.#checker.checkMac2(d, address, port, now)) return true;
    const data = this.#checker.createReply(d, sender, address, port, now);
    this.#outbox.push({ peer: null, data, address, port });
    res.drop("under-load");
    return false;
  }

  #initiation(d: Uint8Array, address: string, port: number, now: number, res: Received<Peer>): Received<Peer> {
    const sender = readU32(d, OFF_SENDER);
    if (!this.#macsOk(d, sender, address, port, now, res)) return res;
    const lookup = (pub: Uint8Array): Peer | null => this.#peers.get(hex(pub)) ?? null;
    const consumed = readInitiation(this.start, this.aead, this.identity, d, INIT_OFF_EPHEMERAL, TIMESTAMP_LEN, lookup);
    if (consumed === null) return res.drop("handshake");
    consumed.peer.receiveInitiation(consumed, sender, address, port, now, res);
    return res;
  }

  #response(d: Uint8Array, address: string, port: number, now: number, res: Received<Peer>): Received<Peer> {
    if (!this.#macsOk(d, readU32(d, OFF_SENDER), address, port, now, res)) return res;
    const index = readU32(d, RESP_OFF_RECEIVER);
    const entry = this.#indices.get(index);
    if (entry === undefined || entry.keypair !== null) return res.drop("unexpected");
    entry.peer.receiveResponse(d, index, address, port, now, res);
    return res;
  }

  #cookieReply(d: Uint8Array, now: number, res: Received<Peer>): Received<Peer> {
    const entry = this.#indices.get(readU32(d, COOKIE_OFF_RECEIVER));
    if (entry === undefined) return res.drop("unexpected");
    if (!entry.peer.cookies.consumeReply(d, now)) return res.drop("cookie");
    res.kind = "handshake";
    res.peer = entry.peer;
    return res;
  }

  // --- PeerContext ---

  /** @internal */
  shareKeys(peer: Peer, kp: Keypair, sendKey: Uint8Array, receiveKey: Uint8Array): void {
    this.#indices.share?.bind(peer, kp, sendKey, receiveKey);
  }

  /** @internal */
  newIndex(peer: Peer): number {
    return this.#indices.allocate(peer);
  }

  /** @internal */
  bindIndex(index: number, keypair: Keypair): void {
    this.#indices.bind(index, keypair);
  }

  /** @internal */
  freeIndex(index: number): void {
    this.#indices.free(index);
  }

  /** @internal */
  newEphemeral(): X25519PrivateKey {
    return this.#newEphemeral();
  }

  /** @internal */
  wallClock(): number {
    return this.#wallClock();
  }

  /** @internal */
  jitter(): number {
    this.#random(this.#scratchBytes);
    return (this.#scratch[0] as number) % REKEY_TIMEOUT_JITTER_MAX;
  }

  /** @internal */
  emit(message: Outgoing<Peer>): void {
    this.#outbox.push(message);
  }
}

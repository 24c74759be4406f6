/**
 * @module server/doors/wireguard/peers
 * The WireGuard door's book of peers: each configured peer (from the peers file) with
 * its protocol state (a `Peer` of the pure core) and its session, when it has one. A
 * peer's tunnel address is fixed by its AllowedIPs; the book keeps those addresses out
 * of the dynamic pool. `sync` applies a new peers file without touching peers that did
 * not change, so `warren wg add` drops no session.
 */

import { keyToBase64 } from "../../../crypto/x25519.ts";
import type { Device } from "../../../protocol/wireguard/device.ts";
import type { Peer } from "../../../protocol/wireguard/peer.ts";
import type { Keypair } from "../../../protocol/wireguard/keypair.ts";
import type { Session } from "../../session.ts";

/** One configured peer, as the peers file gives it. */
export interface WgPeerSpec {
  /** `# Name = ...` of its section, or null. */
  name: string | null;
  publicKey: Uint8Array;
  presharedKey: Uint8Array | null;
  /** Its tunnel IPv4 address (u32): the /32 of its AllowedIPs, a client address of the pool. */
  addr4: number;
  /** Seconds, or null for none. */
  persistentKeepalive: number | null;
}

/** A peer of the book. */
export interface WgEntry {
  readonly spec: WgPeerSpec;
  /** `wg:<base64 public key>`: the session identity. */
  readonly identity: string;
  readonly peer: Peer;
  session: Session | null;
  /** The keypair the fast data path seals this peer's packets with (fast.ts), or null. */
  sending: Keypair | null;
  /** The fast data path's activity last passed to the peer (Unix ms: rx, rx data, tx; wire bytes: rx, tx). */
  readonly reported: Float64Array;
  /** The session `reported` belongs to. */
  reportedFor: Session | null;
}

/** What `sync` changed. `removed` and `changed` are the old entries: their sessions must end. */
export interface SyncResult {
  added: WgEntry[];
  removed: WgEntry[];
  changed: WgEntry[];
}

/** Two specs configure the same thing. */
function sameSpec(a: WgPeerSpec, b: WgPeerSpec): boolean {
  return (
    a.name === b.name &&
    a.addr4 === b.addr4 &&
    a.persistentKeepalive === b.persistentKeepalive &&
    keyToBase64(a.presharedKey ?? new Uint8Array(32)) === keyToBase64(b.presharedKey ?? new Uint8Array(32))
  );
}

/** The peers of one door. */
export class PeerBook {
  readonly #device: Device;
  readonly #byKey = new Map<string, WgEntry>();
  readonly #byPeer = new Map<Peer, WgEntry>();
  readonly #bySession = new Map<Session, WgEntry>();

  constructor(device: Device) {
    this.#device = device;
  }

  /** Every peer. */
  entries(): IterableIterator<WgEntry> {
    return this.#byKey.values();
  }

  /** Peers configured. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The entry of a core peer. */
  ofPeer(peer: Peer): WgEntry | undefined {
    return this.#byPeer.get(peer);
  }

  /** The entry of a session. */
  ofSession(s: Session): WgEntry | undefined {
    return this.#bySession.get(s);
  }

  /** Records (or clears) the session of an entry. */
  bind(e: WgEntry, s: Session | null): void {
    if (e.session !== null) this.#bySession.delete(e.session);
    e.session = s;
    e.sending = null; // a new session's forwarding slot names no keypair yet
    if (s !== null) this.#bySession.set(s, e);
  }

  /** The tunnel addresses of all peers. */
  addresses(): Set<number> {
    return new Set([...this.#byKey.values()].map((e) => e.spec.addr4));
  }

  /**
   * Makes the book hold exactly `specs`: new keys are added, missing ones removed, and
   * peers whose settings changed are replaced (their sessions must end). Throws
   * RangeError for a key the core refuses (our own key, a low-order point); the book
   * is then unchanged.
   */
  sync(specs: readonly WgPeerSpec[]): SyncResult {
    const next = new Map(specs.map((s) => [keyToBase64(s.publicKey), s]));
    const out: SyncResult = { added: [], removed: [], changed: [] };
    for (const [key, e] of this.#byKey) {
      const s = next.get(key);
      if (s === undefined) out.removed.push(e);
      else if (!sameSpec(e.spec, s)) out.changed.push(e);
    }
    const old = [...out.removed, ...out.changed];
    for (const e of old) this.#drop(e);
    const fresh: WgEntry[] = [];
    try {
      for (const [key, s] of next) if (!this.#byKey.has(key)) fresh.push(this.#add(key, s));
    } catch (err) {
      for (const e of fresh) this.#drop(e);
      for (const e of old) this.#restore(e);
      throw err;
    }
    const changedKeys = new Set(out.changed.map((e) => e.identity));
    out.added = fresh.filter((e) => !changedKeys.has(e.identity));
    return out;
  }

  #add(key: string, spec: WgPeerSpec): WgEntry {
    const peer = this.#device.addPeer(spec.publicKey, {
      ...(spec.presharedKey ? { presharedKey: spec.presharedKey } : {}),
      ...(spec.persistentKeepalive !== null ? { persistentKeepalive: spec.persistentKeepalive } : {}),
    });
    const e: WgEntry = { spec, identity: `wg:${key}`, peer, session: null, sending: null, reported: new Float64Array(5), reportedFor: null };
    this.#byKey.set(key, e);
    this.#byPeer.set(peer, e);
    return e;
  }

  #drop(e: WgEntry): void {
    this.#device.removePeer(e.peer);
    this.#byKey.delete(keyToBase64(e.spec.publicKey));
    this.#byPeer.delete(e.peer);
  }

  /** Puts back an entry #drop took out (a failed sync). Its keys were erased: it handshakes again. */
  #restore(e: WgEntry): void {
    const again = this.#add(keyToBase64(e.spec.publicKey), e.spec);
    if (e.session !== null) this.bind(again, e.session);
  }
}

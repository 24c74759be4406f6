/**
 * @module protocol/wireguard/context
 * What a peer needs from the device that owns it: the static identity, the crypto
 * backends, the receiver-index table, randomness, the wall clock (for TAI64N only), the shared
 * result object and the outbox. `Device` implements it; tests may fake it.
 */

import type { AeadBackend } from "../../crypto/aead.ts";
import type { X25519PrivateKey } from "../../crypto/x25519.ts";
import type { Keypair } from "./keypair.ts";
import type { NoiseStart, StaticIdentity } from "./noise.ts";
import type { Outgoing, Sent } from "./results.ts";

/** Counter limits and padding; tests shrink the limits to reach them. */
export interface Limits {
  /** Start a new handshake once a keypair has sent this many messages. */
  readonly rekeyAfterMessages: number;
  /** Never send or accept a counter at or above this. */
  readonly rejectAfterMessages: number;
  /** Pad plaintext to 16 but not beyond this (0 = no cap). */
  readonly mtu: number;
}

/** What a peer (of type P) needs from its device. */
export interface PeerContext<P> {
  readonly aead: AeadBackend;
  readonly start: NoiseStart;
  readonly identity: StaticIdentity;
  readonly limits: Limits;
  /** The shared result object `encapsulate` fills. */
  readonly sent: Sent;
  /** Shows a new keypair of `peer` and its keys, before they are erased, to whoever shares them (the fast data path). */
  shareKeys(peer: P, kp: Keypair, sendKey: Uint8Array, receiveKey: Uint8Array): void;
  /** A fresh random receiver index pointing at `peer`'s pending handshake. */
  newIndex(peer: P): number;
  /** Points `index` at a keypair. */
  bindIndex(index: number, keypair: Keypair): void;
  /** Forgets `index`. */
  freeIndex(index: number): void;
  /** A fresh ephemeral key. */
  newEphemeral(): X25519PrivateKey;
  /** Wall-clock milliseconds since the Unix epoch (for TAI64N only). */
  wallClock(): number;
  /** Whole milliseconds in [0, REKEY_TIMEOUT_JITTER_MAX). */
  jitter(): number;
  /** Puts a message in the outbox. */
  emit(message: Outgoing<P>): void;
}


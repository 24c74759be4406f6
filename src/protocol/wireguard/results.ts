/**
 * @module protocol/wireguard/results
 * What the WireGuard core tells its caller, as reused mutable objects so the data path
 * allocates nothing: each result is overwritten by the next call on the same device, so read
 * it (or copy what must outlive the call) before calling again. Messages that are not the
 * direct answer to a call (handshake messages, keepalives, staged packets, cookie replies)
 * go to the device's outbox instead; see `Device.takeOutgoing`.
 */

/** Why a received datagram was dropped. None of these produce any output. */
export type ReceiveDrop =
  | "none"
  /** Not a WireGuard message of a known type and exact size. */
  | "invalid"
  /** mac1 wrong: not for us, or junk. */
  | "mac1"
  /** Under load without a valid mac2: answered with a cookie reply instead. */
  | "under-load"
  /** Handshake message that does not decrypt, names no configured peer, or uses a bad key. */
  | "handshake"
  /** Initiation whose TAI64N timestamp is not newer than the peer's last one. */
  | "handshake-replay"
  /** More than one initiation from a peer within 20 ms. */
  | "handshake-flood"
  /** Response or cookie reply to a handshake we are not waiting for. */
  | "unexpected"
  /** Cookie reply that does not decrypt. */
  | "cookie"
  /** Transport message for a receiver index we do not have. */
  | "unknown-index"
  /** Transport message under a keypair older than REJECT_AFTER_TIME. */
  | "expired-key"
  /** Counter seen before, too far behind the window, or at the limit. */
  | "replay"
  /** Transport message whose tag does not verify. */
  | "decrypt"
  /** Authenticated plaintext that is not a whole IPv4/IPv6 packet. */
  | "malformed";

/** Result of `Device.receive`; reused: valid until the device's next call. */
export class Received<P> {
  /**
   * - `deliver`: an IP packet from `peer` sits at `data[offset, offset + length)` (decrypted in place);
   * - `keepalive`: an authenticated empty packet;
   * - `handshake`: a handshake message or cookie reply was accepted (answers are in the outbox);
   * - `drop`: see `reason`.
   */
  kind: "deliver" | "keepalive" | "handshake" | "drop" = "drop";
  /** Why it was dropped (`none` otherwise). */
  reason: ReceiveDrop = "none";
  /** The authenticated peer (null for drops and cookie replies). */
  peer: P | null = null;
  /** The datagram itself. */
  data: Uint8Array = new Uint8Array(0);
  /** Start of the inner packet in `data`. */
  offset = 0;
  /** Length of the inner packet (padding removed). */
  length = 0;
  /** The authenticated packet came from a different endpoint than the peer's last one (now updated). */
  roamed = false;

  /** A view of the inner packet (allocates a view; the data path may use data/offset/length instead). */
  get packet(): Uint8Array {
    return this.data.subarray(this.offset, this.offset + this.length);
  }

  /** Starts the result of datagram `d` (no reason, peer or roaming yet); returns this. */
  begin(d: Uint8Array): this {
    this.reason = "none";
    this.peer = null;
    this.roamed = false;
    this.data = d;
    return this;
  }

  /** Resets to a drop for `reason`; returns this. */
  drop(reason: ReceiveDrop): this {
    this.kind = "drop";
    this.reason = reason;
    this.peer = null;
    this.length = 0;
    return this;
  }
}

/** Why a packet could not be sent. */
export type SendDrop =
  | "none"
  /** The peer has no known endpoint (it never reached us and none is configured). */
  | "no-endpoint"
  /** The output buffer cannot hold the transport message. */
  | "buffer-too-small"
  /** The packet is larger than a datagram can carry. */
  | "too-big";

/** Result of `Peer.encapsulate`; reused: valid until the device's next call. */
export class Sent {
  /**
   * - `send`: `out[0, length)` is a transport message for `address`:`port`;
   * - `queued`: no usable keypair: the packet was copied and waits for the handshake just started;
   * - `drop`: see `reason`.
   */
  kind: "send" | "queued" | "drop" = "drop";
  /** Why it was dropped (`none` otherwise). */
  reason: SendDrop = "none";
  /** Bytes of `out` to send. */
  length = 0;
  /** Destination address (text, as the UDP layer takes it). */
  address = "";
  /** Destination port. */
  port = 0;

  /** Resets to a drop for `reason`; returns this. */
  drop(reason: SendDrop): this {
    this.kind = "drop";
    this.reason = reason;
    this.length = 0;
    return this;
  }
}

/** A message for the network that is not the direct answer to a call. */
export interface Outgoing<P> {
  /** The peer it belongs to (null for cookie replies to unauthenticated senders). */
  readonly peer: P | null;
  /** The whole UDP payload; owned by the receiver of this object. */
  readonly data: Uint8Array;
  /** Destination address. */
  readonly address: string;
  /** Destination port. */
  readonly port: number;
}

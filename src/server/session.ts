/**
 * @module server/session
 * One connected client as the router, the session table and the admin views see it:
 * protocol-independent. Its front door (ToyVpn, WireGuard) is reached only through the
 * `door` it carries: the router hands it IP packets to deliver, the table tells it when
 * the session ended. Whatever else a protocol keeps per session lives in its door.
 */

import type { Grant } from "../auth/secret.ts";

/** Wire protocols warren serves; the tag every session carries. */
export type Protocol = "toyvpn" | "wireguard";

/** Why a packet was dropped; per session and in the global totals. */
export const DROP_REASONS = [
  "spoofed",
  /** IPv6 from the client's own link-local address (router solicitations, MLD): never routed. */
  "link-local",
  "isolated",
  "malformed",
  "no-session",
  "no-route",
  "tun-write",
  "send",
] as const;
/** One of DROP_REASONS. */
export type DropReason = (typeof DROP_REASONS)[number];

/** Per-reason drop counters. */
export type DropCounters = Record<DropReason, number>;

/** A fresh set of zeroed drop counters. */
export function newDropCounters(): DropCounters {
  const d = {} as DropCounters;
  for (const r of DROP_REASONS) d[r] = 0;
  return d;
}

/** Why a session ended. */
export type CloseReason = "idle" | "replaced" | "kicked" | "shutdown" | "revoked" | "removed" | "failed";

/**
 * The front door's side of a session: how the router delivers packets to its peer and
 * how the table reports its end. Implemented once per protocol.
 */
export interface SessionDoor {
  readonly protocol: Protocol;
  /**
   * Queues one IP packet for `s`'s peer; sent at the end of the TUN batch (`flush`).
   * `pkt` is a view into the TUN arena, valid until that flush returns. False = dropped.
   */
  queue(s: Session, pkt: Uint8Array): boolean;
  /** Sends one IP packet to `s`'s peer now (hub forwarding). False = dropped. */
  sendNow(s: Session, pkt: Uint8Array): boolean;
  /** `s` has closed (the table already unindexed it): forget the door's own state of it. */
  closed(s: Session, reason: CloseReason, now: number): void;
}

/** One connected client. Identity fields are fixed; counters are written by the router and the door. */
export interface Session {
  /** Small unique number, also the label when there is no device id. */
  readonly serial: number;
  readonly protocol: Protocol;
  readonly door: SessionDoor;
  /**
   * Who authenticated: a user name, a token id, a WireGuard peer's key; null for the
   * shared secret. Device ids are scoped to it.
   */
  readonly identity: string | null;
  readonly deviceId: string | null;
  /** Authenticated user (users file or token subject), for display. */
  readonly user: string | null;
  /** For logs: device id, else `user#serial` or `#serial`. Never a secret. */
  readonly label: string;
  /** Peer's UDP endpoint as the socket reports it (IPv4 as ::ffff:a.b.c.d). Only the door writes it (roaming). */
  address: string;
  port: number;
  /** Tunnel IPv4 address (u32). */
  readonly addr4: number;
  /** Tunnel IPv6 address, or null when there is no IPv6 pool. */
  readonly addr6: Uint8Array | null;
  /** Low 32 bits of addr6, the key in the IPv6 index. */
  readonly addr6Key: number;
  readonly createdAt: number;
  /** Last authenticated datagram from the peer (the door writes it). */
  lastSeen: number;
  /** What the credential proved, when more than a shared secret (reloads may revoke it). */
  grant: Grant | null;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  readonly drops: DropCounters;
  open: boolean;
}

/** Low 32 bits of a 16-byte address. */
export function tail32(b: Uint8Array): number {
  return (((b[12] as number) << 24) | ((b[13] as number) << 16) | ((b[14] as number) << 8) | (b[15] as number)) >>> 0;
}

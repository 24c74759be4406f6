/**
 * @module server/stats
 * Server-wide counters. Plain numbers bumped on the data path; admin tools read a
 * snapshot. Per-session counters live on the Session itself.
 */

import { type DropCounters, newDropCounters } from "./session.ts";

/** Handshake outcomes. */
export interface HandshakeCounters {
  ok: number;
  /** Wrong secret, bad device id, unparsable payload. */
  rejected: number;
  /** Valid credential but no address left (or max clients reached). */
  refused: number;
  /** Copies of a handshake already answered (the client sends three). */
  duplicate: number;
  /** Handshakes of a live session at the same endpoint, answered again (not a new session). */
  renewed: number;
  /** Not looked at: rate-limited, locked-out source, or the server busy (see auth/ratelimit.ts). */
  limited: number;
}

/** Everything the server counts. */
export interface ServerStats {
  readonly startedAt: number;
  handshakes: HandshakeCounters;
  /** Rejected and limited handshakes by `reason=` (a small fixed set of names). */
  rejections: Record<string, number>;
  /** Packets/bytes from clients written to the TUN or forwarded to another client. */
  rxPackets: number;
  rxBytes: number;
  /** Packets/bytes sent to clients (from the TUN or the hub). */
  txPackets: number;
  txBytes: number;
  /** Client-to-client packets forwarded in userspace. */
  hubPackets: number;
  keepalives: number;
  rehandshakeRequests: number;
  /** Drops by reason, over all sessions plus datagrams with no session. */
  drops: DropCounters;
  /** Datagrams that were not ToyVpn at all (bad first byte, empty, truncated). */
  junk: number;
  /** Datagrams a front door dropped silently before any session, as `protocol:reason` (WireGuard: mac1, replay, ...). */
  doorDrops: Record<string, number>;
}

/** Fresh zeroed counters. */
export function newServerStats(now: number): ServerStats {
  return {
    startedAt: now,
    handshakes: { ok: 0, rejected: 0, refused: 0, duplicate: 0, limited: 0, renewed: 0 },
    rejections: {},
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
    hubPackets: 0,
    keepalives: 0,
    rehandshakeRequests: 0,
    drops: newDropCounters(),
    junk: 0,
    doorDrops: {},
  };
}

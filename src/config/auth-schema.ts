/**
 * @module config/auth-schema
 * The authentication and handshake-limit settings of `warren server`, as valibot
 * entries that server-schema.ts spreads into ServerConfigSchema (the types still come
 * from ServerConfigSchema alone). See docs/AUTH.md and docs/TOKENS.md.
 */

import * as v from "valibot";
import { DEFAULT_LIMITS, type HandshakeLimits } from "../auth/ratelimit.ts";
import { intIn, PathSchema } from "./fields.ts";

/** The entries ServerConfigSchema spreads in (file keys = these names). */
export function authEntries() {
  return {
    /** Users file (JSON, argon2id hashes); reloaded on SIGHUP. */
    users: v.optional(PathSchema),
    /** Key file shared with the controller (hex keys, one a line; the first mints). */
    tokenKeyFile: v.optional(PathSchema),
    /** Revoked token ids / `sha256:` hashes, one a line; reloaded on SIGHUP. */
    revoked: v.optional(PathSchema),
    /** Handshakes a second per source address (IPv6: per /64); bursts of 15x. 0 = off. */
    handshakeRate: v.optional(intIn(0, 100_000, "handshakes a second"), DEFAULT_LIMITS.perSourceRate),
    /** Handshakes a second over all sources. 0 = off. */
    handshakeBudget: v.optional(intIn(0, 10_000_000, "handshakes a second"), DEFAULT_LIMITS.globalRate),
    /** Failed handshakes from one source within 60 s that lock it out for 5 minutes. 0 = off. */
    lockoutFailures: v.optional(intIn(0, 100_000, "failures"), DEFAULT_LIMITS.lockoutFailures),
  };
}

/** The handshake limiter's tuning from validated settings (per-source burst: 15 s worth, at least 20). */
export function handshakeLimits(c: { handshakeRate: number; handshakeBudget: number; lockoutFailures: number }): Partial<HandshakeLimits> {
  return {
    perSourceRate: c.handshakeRate,
    perSourceBurst: Math.max(20, 15 * c.handshakeRate),
    globalRate: c.handshakeBudget,
    lockoutFailures: c.lockoutFailures,
  };
}

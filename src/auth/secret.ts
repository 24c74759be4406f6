/**
 * @module auth/secret
 * The shared-secret front door of the ToyVpn protocol. A handshake carries
 * `secret` or `secret:deviceid`; the secret is compared in constant time (both
 * sides hashed with SHA-256 first, so neither length nor content leaks through
 * timing). The secret can be replaced at runtime; it affects new handshakes only.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { Admission } from "./ratelimit.ts";

/** Device ids: printable ASCII without spaces or commas, 1..64 characters. */
export const DEVICE_ID_RE = /^[\x21-\x2b\x2d-\x7e]{1,64}$/;

/**
 * Why a credential was refused (the `reason=` of the log line). The first group are
 * failures of the client (they count towards a source's lockout); `busy` and
 * `rate-limited` mean "not now" and do not.
 */
export type RejectReason =
  | "bad-secret"
  | "bad-credentials"
  | "bad-device-id"
  | "bad-token"
  | "expired-token"
  | "revoked-token"
  | "user-disabled"
  | "bad-address"
  | "busy"
  | "rate-limited"
  | "locked-out";

/** What a credential proved, kept per session so a reload can end sessions it no longer allows. */
export type Grant =
  | { kind: "user"; id: string; hash: string }
  | { kind: "token"; id: string; tokenHash: string; keyId: string; expiresAt: number };

/**
 * The identity a grant proves (`user:NAME`, `token:ID`), or null for the shared secret.
 * Device ids, sticky addresses and per-identity limits are scoped to it.
 */
export function identityOf(grant: Grant | undefined | null): string | null {
  return grant ? `${grant.kind}:${grant.id}` : null;
}

/** Outcome of checking a handshake credential. */
export type AuthResult =
  | {
      ok: true;
      deviceId: string | null;
      user: string | null;
      fixedAddr4: number | null;
      /** Several fixed addresses (a user with several devices): the handshaker takes a free one. */
      fixedAddrs4?: readonly number[];
      grant?: Grant;
    }
  | { ok: false; reason: RejectReason; user?: string };

/**
 * Anything that can judge a credential. `source` identifies the client's address
 * (see auth/ratelimit.ts sourceKey) for per-source bookkeeping. A slow check
 * (a password hash) returns a promise; the promise never rejects. Before starting
 * expensive work a check asks `admit` (the handshake limiter); cheap checks never do.
 */
export interface Authenticator {
  check(credential: string, source?: string, admit?: () => Admission): AuthResult | Promise<AuthResult>;
  /** Replaces the shared secret (new handshakes only), when this authenticator has one. */
  setSecret?(secret: string): void;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Shared-secret authenticator (`secret` or `secret:deviceid`). */
export class SecretAuth implements Authenticator {
  #digest: Buffer;
  #length: number;

  constructor(secret: string) {
    this.#digest = digest(secret);
    this.#length = secret.length;
  }

  /** Replaces the secret (new handshakes only). */
  setSecret(secret: string): void {
    this.#digest = digest(secret);
    this.#length = secret.length;
  }

  check(credential: string): AuthResult {
    // Whole credential = secret: no device id.
    if (timingSafeEqual(digest(credential), this.#digest)) return { ok: true, deviceId: null, user: null, fixedAddr4: null };
    // `secret:id`: the secret is the part before the colon at the secret's length.
    // (The length is not secret-dependent in a useful way: it only picks where to split.)
    const n = this.#length;
    const head = credential.length > n && credential[n] === ":" ? credential.slice(0, n) : "\u0000";
    const match = timingSafeEqual(digest(head), this.#digest);
    if (!match) return { ok: false, reason: "bad-secret" };
    const id = credential.slice(n + 1);
    if (!DEVICE_ID_RE.test(id)) return { ok: false, reason: "bad-device-id" };
    return { ok: true, deviceId: id, user: null, fixedAddr4: null };
  }
}

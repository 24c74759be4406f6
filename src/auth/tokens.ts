/**
 * @module auth/tokens
 * Controller-issued tokens (format: docs/TOKENS.md). A controller that shares a key
 * with the nodes mints `wt1.<payload>.<mac>`; a node checks it with no database:
 *
 *   payload = base64url(JSON {"i": id, "e": expiry in Unix seconds, "a"?: IPv4})
 *   mac     = base64url(first 16 bytes of HMAC-SHA256(key, "wt1." + payload))
 *
 * Checking order: shape -> MAC under any configured key (constant time) -> payload
 * schema -> expiry -> revocation list (by id or by SHA-256 of the token). The app
 * user pastes the token as the shared secret, optionally followed by `:deviceid`.
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import * as v from "valibot";
import { parseIpv4 } from "../protocol/ip.ts";
import type { PoolRange } from "./users-file.ts";
import { type AuthResult, type Authenticator, DEVICE_ID_RE, type Grant } from "./secret.ts";

/** Every token starts with this (format version 1). */
export const TOKEN_PREFIX = "wt1.";
/** Bytes of the HMAC-SHA256 output a token carries (128 bits). */
export const TOKEN_MAC_BYTES = 16;
/** Token ids: the same alphabet as user names. */
export const TOKEN_ID_RE = /^[A-Za-z0-9._@-]{1,64}$/;
/** Longest token accepted (a sane bound; real ones are ~70-100 characters). */
export const MAX_TOKEN_LENGTH = 512;

const SHAPE_RE = /^wt1\.([A-Za-z0-9_-]{8,480})\.([A-Za-z0-9_-]{22})$/;

/** What a token says. */
export interface TokenClaims {
  id: string;
  /** Expiry, Unix seconds. */
  exp: number;
  /** Fixed IPv4 tunnel address, if any. */
  addr?: string;
}

const PayloadSchema = v.strictObject({
  i: v.pipe(v.string(), v.regex(TOKEN_ID_RE)),
  e: v.pipe(v.number(), v.integer(), v.minValue(1)),
  a: v.optional(v.pipe(v.string(), v.check((s) => parseIpv4(s) !== null))),
});

/** Result of checking a token string. */
export type TokenCheck =
  | { ok: true; claims: TokenClaims; hash: string; key: Uint8Array }
  | { ok: false; reason: "bad-token" | "expired-token"; claims?: TokenClaims };

function b64url(b: Uint8Array | string): string {
  return Buffer.from(b).toString("base64url");
}

function macOf(key: Uint8Array, signed: string): Buffer {
  return createHmac("sha256", key).update(signed, "ascii").digest().subarray(0, TOKEN_MAC_BYTES);
}

/** SHA-256 of the token text (without any `:deviceid`), lowercase hex: its name in a revocation list. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Mints a token. Throws on claims that a node would refuse. */
export function mintToken(claims: TokenClaims, key: Uint8Array): string {
  if (!TOKEN_ID_RE.test(claims.id)) throw new Error(`bad token id ${JSON.stringify(claims.id)}: use 1-64 letters, digits, '.', '_', '-' or '@'`);
  if (!Number.isInteger(claims.exp) || claims.exp < 1) throw new Error(`bad expiry ${claims.exp}`);
  if (claims.addr !== undefined && parseIpv4(claims.addr) === null) throw new Error(`bad address ${JSON.stringify(claims.addr)}`);
  const json = JSON.stringify(claims.addr === undefined ? { i: claims.id, e: claims.exp } : { i: claims.id, e: claims.exp, a: claims.addr });
  const signed = `${TOKEN_PREFIX}${b64url(json)}`;
  return `${signed}.${b64url(macOf(key, signed))}`;
}

/** Checks a token's MAC (under any of `keys`), payload and expiry. Never throws. */
export function verifyToken(token: string, keys: readonly Uint8Array[], nowSec: number): TokenCheck {
  const m = token.length <= MAX_TOKEN_LENGTH ? SHAPE_RE.exec(token) : null;
  if (m === null) return { ok: false, reason: "bad-token" };
  const signed = token.slice(0, token.lastIndexOf("."));
  // Compare the text, not the decoded bytes: 22 base64url characters carry 4 spare bits,
  // and a token must have one spelling (its hash names it in the revocation list).
  const given = Buffer.from(m[2] as string, "ascii");
  let good: Uint8Array | null = null;
  for (const k of keys) if (timingSafeEqual(Buffer.from(b64url(macOf(k, signed)), "ascii"), given)) good = k;
  if (good === null) return { ok: false, reason: "bad-token" };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(m[1] as string, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "bad-token" };
  }
  const p = v.safeParse(PayloadSchema, raw);
  if (!p.success) return { ok: false, reason: "bad-token" };
  const claims: TokenClaims = p.output.a === undefined ? { id: p.output.i, exp: p.output.e } : { id: p.output.i, exp: p.output.e, addr: p.output.a };
  if (claims.exp <= nowSec) return { ok: false, reason: "expired-token", claims };
  return { ok: true, claims, hash: tokenHash(token), key: good };
}

/** A key's name in grants: the first 16 hex digits of its SHA-256 (never the key). */
export function keyId(key: Uint8Array): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** `30s`, `90m`, `24h`, `7d`, `2w` or plain seconds -> seconds; null when unreadable. */
export function parseTtl(text: string): number | null {
  const m = /^(\d{1,9})([smhdw]?)$/.exec(text.trim());
  if (!m) return null;
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
  const n = Number(m[1]) * unit;
  return n > 0 ? n : null;
}

/** Key file text -> keys: one key a line as 64 hex digits (32 bytes); `#` comments. First line mints. */
export function parseKeyFile(text: string): Uint8Array[] | string {
  const keys: Uint8Array[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = (lines[i] as string).trim();
    if (l === "" || l.startsWith("#")) continue;
    if (!/^[0-9a-fA-F]{64}$/.test(l)) return `line ${i + 1}: expected 64 hex digits (a 32-byte key)`;
    keys.push(Uint8Array.from(Buffer.from(l, "hex")));
  }
  return keys.length > 0 ? keys : "no key in the file";
}

/** Revoked tokens: ids and SHA-256 hashes. */
export interface Revocations {
  ids: ReadonlySet<string>;
  hashes: ReadonlySet<string>;
}

/** An empty revocation list. */
export const NO_REVOCATIONS: Revocations = { ids: new Set(), hashes: new Set() };

/** Revocation file text: one token id or `sha256:<hex>` a line; `#` comments. Error text names the line. */
export function parseRevocations(text: string): Revocations | string {
  const ids = new Set<string>();
  const hashes = new Set<string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = (lines[i] as string).replace(/#.*$/, "").trim();
    if (l === "") continue;
    const h = /^sha256:([0-9a-fA-F]{64})$/.exec(l);
    if (h) hashes.add((h[1] as string).toLowerCase());
    else if (TOKEN_ID_RE.test(l)) ids.add(l);
    else return `line ${i + 1}: expected a token id or sha256:<64 hex digits>`;
  }
  return { ids, hashes };
}

/** The token authenticator (synchronous: one HMAC per key). */
export class TokenAuth implements Authenticator {
  #keys: readonly Uint8Array[];
  #keyIds: ReadonlySet<string>;
  #revoked: Revocations;
  readonly #wallNow: () => number;
  readonly #pool: PoolRange | null;

  /** `wallNow` gives Unix time in ms (tests pass a fixed one). */
  constructor(keys: readonly Uint8Array[], revoked: Revocations = NO_REVOCATIONS, wallNow: () => number = Date.now, pool: PoolRange | null = null) {
    this.#keys = keys;
    this.#keyIds = new Set(keys.map(keyId));
    this.#revoked = revoked;
    this.#wallNow = wallNow;
    this.#pool = pool;
  }

  /** Replaces the keys (reload). */
  setKeys(keys: readonly Uint8Array[]): void {
    this.#keys = keys;
    this.#keyIds = new Set(keys.map(keyId));
  }

  /** Replaces the revocation list (reload). */
  setRevoked(r: Revocations): void {
    this.#revoked = r;
  }

  /** Entries in the revocation list. */
  get revokedCount(): number {
    return this.#revoked.ids.size + this.#revoked.hashes.size;
  }

  check(credential: string): AuthResult {
    const colon = credential.indexOf(":");
    const token = colon < 0 ? credential : credential.slice(0, colon);
    const deviceId = colon < 0 ? null : credential.slice(colon + 1);
    const nowMs = this.#wallNow();
    const r = verifyToken(token, this.#keys, Math.floor(nowMs / 1000));
    if (!r.ok) return r.claims ? { ok: false, reason: r.reason, user: r.claims.id } : { ok: false, reason: r.reason };
    const id = r.claims.id;
    if (this.#revoked.ids.has(id) || this.#revoked.hashes.has(r.hash)) return { ok: false, reason: "revoked-token", user: id };
    if (deviceId !== null && !DEVICE_ID_RE.test(deviceId)) return { ok: false, reason: "bad-device-id", user: id };
    const addr = r.claims.addr === undefined ? null : (parseIpv4(r.claims.addr) as number);
    if (addr !== null && this.#pool !== null && !this.#pool.isClientAddress(addr)) return { ok: false, reason: "bad-address", user: id };
    return { ok: true, deviceId, user: id, fixedAddr4: addr, grant: { kind: "token", id, tokenHash: r.hash, keyId: keyId(r.key), expiresAt: r.claims.exp * 1000 } };
  }

  /** Whether a session with this grant is still allowed (its key still configured, not revoked, not expired). */
  allows(grant: Grant): boolean {
    if (grant.kind !== "token") return true;
    if (!this.#keyIds.has(grant.keyId)) return false;
    return !this.#revoked.ids.has(grant.id) && !this.#revoked.hashes.has(grant.tokenHash) && grant.expiresAt > this.#wallNow();
  }
}

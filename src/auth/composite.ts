/**
 * @module auth/composite
 * Several ways in at once: the shared secret, the users file and controller
 * tokens. One credential is routed like this (the cheap checks first, for every
 * handshake; only the users file's argon2 check asks the limiter):
 *   1. shared secret (if on): a match (`secret` or `secret:deviceid`) is accepted
 *   2. `wt1.` prefix and tokens on: the token decides (synchronous HMAC)
 *   3. `name:password[:deviceid]` naming a user of the file: the users file decides
 *      (may be a promise: argon2id runs off the event loop)
 *   4. otherwise the secret's refusal (`bad-secret`), or `bad-credentials`
 * Every step compares in constant time; nothing here logs.
 */

import type { Admission } from "./ratelimit.ts";
import { type AuthResult, type Authenticator, type Grant, SecretAuth } from "./secret.ts";
import { TOKEN_PREFIX, type TokenAuth } from "./tokens.ts";
import { parseUserCredential, type UsersAuth } from "./users.ts";

/** The modes that are on. A mode left null is off. */
export interface AuthModes {
  secret: SecretAuth | null;
  users: UsersAuth | null;
  tokens: TokenAuth | null;
}

/** Routes each credential to the mode it belongs to. */
export class CompositeAuth implements Authenticator {
  readonly modes: AuthModes;

  constructor(modes: AuthModes) {
    this.modes = modes;
  }

  /** Names of the modes that are on, e.g. `["shared secret", "users", "tokens"]`. */
  names(): string[] {
    const m = this.modes;
    return [m.secret && "shared secret", m.users && "users", m.tokens && "tokens"].filter((x): x is string => typeof x === "string");
  }

  /** Replaces the shared secret (control socket `set secret`); turns the mode on if it was off. */
  setSecret(secret: string): void {
    if (this.modes.secret) this.modes.secret.setSecret(secret);
    else this.modes.secret = new SecretAuth(secret);
  }

  check(credential: string, source?: string, admit?: () => Admission): AuthResult | Promise<AuthResult> {
    const { secret, users, tokens } = this.modes;
    let refusal: AuthResult | null = null;
    if (secret !== null) {
      const r = secret.check(credential);
      if (r.ok) return r;
      refusal = r;
    }
    if (tokens !== null && credential.startsWith(TOKEN_PREFIX)) return tokens.check(credential);
    if (users !== null) {
      const c = parseUserCredential(credential);
      if (c !== null && users.has(c.user)) return users.check(credential, source, admit);
    }
    return refusal ?? { ok: false, reason: "bad-credentials" };
  }

  /** Whether a session holding `grant` is still allowed (reloads, token expiry). */
  allows(grant: Grant): boolean {
    if (grant.kind === "user") return this.modes.users !== null && this.modes.users.allows(grant);
    return this.modes.tokens !== null && this.modes.tokens.allows(grant);
  }
}

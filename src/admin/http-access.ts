/**
 * @module admin/http-access
 * Who may read the HTTP listener (admin/http.ts), checked before any route:
 *
 *   1. Host header: the listen address (any IP literal when it listens on 0.0.0.0 or
 *      ::), `localhost`, or a name given with --metrics-host. Anything else is refused
 *      with 421: a web page an operator visits cannot point its own DNS name at the
 *      listener (DNS rebinding) and read /api/status with every client's address. An IP
 *      literal is safe to accept: a browser sends one only when the user typed it.
 *   2. With --metrics-token-file: the dashboard and /api/* need the token, as
 *      `Authorization: Bearer TOKEN` or as the session cookie that `/?token=TOKEN` sets
 *      (HttpOnly, SameSite=Strict, Path=/; the login answers 303 to `/` so the token
 *      leaves the address bar). /metrics and /healthz need it too, unless
 *      --metrics-public. The cookie holds a hash of the token, never the token.
 *      Comparisons are constant-time (both sides hashed to SHA-256 first).
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ConfigError, fsReason, WarrenError } from "../lib/errors.ts";
import { got } from "../lib/issues.ts";
import type { Logger } from "../lib/log.ts";
import { formatIpv4, formatIpv6, isUnspecified, parseIpv4, parseIpv6 } from "../protocol/ip.ts";

/** The name of the session cookie. */
export const COOKIE = "warren_session";
/** Shortest token accepted from the token file. */
export const MIN_TOKEN_LENGTH = 16;
/** RFC 6750 b64token: what fits in `Authorization: Bearer`. */
const TOKEN_RE = /^[A-Za-z0-9._~+/-]+=*$/;

/** How the listener is guarded. */
export interface HttpAccessOptions {
  /** The IP literal the listener is bound to. */
  listenHost: string;
  /** Extra Host names (--metrics-host). */
  hosts?: readonly string[];
  /** The token (from --metrics-token-file), or null for none. */
  token?: string | null;
  /** /metrics and /healthz without the token (--metrics-public). */
  publicProbes?: boolean;
}

const PLAIN = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** An IP literal as one canonical text, or null. */
function ipKey(text: string): string | null {
  const a4 = parseIpv4(text);
  if (a4 !== null) return formatIpv4(a4);
  const a6 = parseIpv6(text);
  return a6 === null ? null : formatIpv6(a6);
}

/** The host part of a Host header (`name:port`, `[v6]:port`), lower case, without a trailing dot. */
export function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  const m = /^\[([^\]]*)\](?::\d*)?$/.exec(h) ?? /^([^:]*)(?::\d*)?$/.exec(h);
  return (m ? (m[1] as string) : h).replace(/\.$/, "");
}

/** Reads the token file: one token (trailing whitespace ignored); warns when others can read it. */
export function readTokenFile(path: string, log: Logger): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError("metricsTokenFile", `cannot read it: ${fsReason(e)}${got(path)}`);
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_RE.test(token)) {
    throw new WarrenError("ERR_METRICS", `metrics token file ${path}: expected one token of at least ${MIN_TOKEN_LENGTH} characters (letters, digits, . _ ~ + / -), e.g. from: openssl rand -hex 32`);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) log.warn(`metrics token file ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  return token;
}

/** The Host and token checks of one listener. */
export class HttpAccess {
  readonly #anyIp: boolean;
  readonly #names: Set<string>;
  readonly #tokenHash: Buffer | null;
  readonly #cookieHash: Buffer | null;
  readonly #cookieValue: string;
  readonly #publicProbes: boolean;

  constructor(o: HttpAccessOptions) {
    const listen = ipKey(o.listenHost);
    const a6 = parseIpv6(o.listenHost);
    this.#anyIp = o.listenHost === "0.0.0.0" || (a6 !== null && isUnspecified(a6));
    this.#names = new Set(["localhost", ...(listen !== null ? [listen] : []), ...(o.hosts ?? []).map((h) => hostOf(h))]);
    const token = o.token ?? null;
    this.#tokenHash = token === null ? null : sha256(token);
    this.#cookieValue = token === null ? "" : sha256(`warren-dashboard\u0000${token}`).toString("hex");
    this.#cookieHash = token === null ? null : sha256(this.#cookieValue);
    this.#publicProbes = o.publicProbes ?? false;
  }

  /** Whether a token is required anywhere. */
  get guarded(): boolean {
    return this.#tokenHash !== null;
  }

  /** A refusal for `req` to `path`, or null to let it through to the routes. */
  check(req: Request, url: URL): Response | null {
    const host = req.headers.get("host");
    if (host === null || !this.#hostOk(hostOf(host))) {
      return new Response("misdirected request: unknown Host (see --metrics-host)\n", { status: 421, headers: PLAIN });
    }
    if (this.#tokenHash === null) return null;
    const path = url.pathname;
    if (this.#publicProbes && (path === "/metrics" || path === "/healthz")) return null;
    const login = url.searchParams.get("token");
    if (login !== null && (path === "/" || path === "/index.html")) return this.#login(login);
    if (this.#authorized(req)) return null;
    return unauthorized(path === "/" || path === "/index.html");
  }

  #hostOk(host: string): boolean {
    if (this.#names.has(host)) return true;
    const ip = ipKey(host);
    return ip !== null && (this.#anyIp || this.#names.has(ip));
  }

  #authorized(req: Request): boolean {
    const auth = req.headers.get("authorization");
    const bearer = auth !== null ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
    if (bearer !== undefined) return timingSafeEqual(sha256(bearer), this.#tokenHash as Buffer);
    const cookie = cookieValue(req.headers.get("cookie"), COOKIE);
    return cookie !== null && timingSafeEqual(sha256(cookie), this.#cookieHash as Buffer);
  }

  /** `/?token=T`: sets the session cookie and sends the browser to `/` (the token leaves the URL). */
  #login(token: string): Response {
    if (!timingSafeEqual(sha256(token), this.#tokenHash as Buffer)) return unauthorized(true);
    return new Response(null, {
      status: 303,
      headers: {
        location: "/",
        "set-cookie": `${COOKIE}=${this.#cookieValue}; HttpOnly; SameSite=Strict; Path=/`,
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
      },
    });
  }
}

/** The value of cookie `name` in a Cookie header, or null. */
function cookieValue(header: string | null, name: string): string | null {
  if (header === null) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

const LOGIN_STYLE = "body{font:15px system-ui,sans-serif;margin:3em}input{font:inherit}";
/** The login page's CSP allows exactly its one inline style block, by hash: no 'unsafe-inline'. */
const LOGIN_CSP = `default-src 'none'; style-src 'sha256-${createHash("sha256").update(LOGIN_STYLE).digest("base64")}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
const LOGIN_PAGE = `<!doctype html><meta charset="utf-8"><title>warren</title>
<style>${LOGIN_STYLE}</style>
<form method="get" action="/"><p>This warren dashboard needs its token (--metrics-token-file).</p>
<p><input name="token" type="password" autocomplete="current-password" size="40" autofocus> <button>Open</button></p></form>
`;

/** 401: a token form for the dashboard, plain text for the rest. */
function unauthorized(page: boolean): Response {
  const headers = { "www-authenticate": 'Bearer realm="warren"', "cache-control": "no-store", "referrer-policy": "no-referrer" };
  if (!page) return new Response("unauthorized: send Authorization: Bearer TOKEN (see --metrics-token-file)\n", { status: 401, headers: { ...PLAIN, ...headers } });
  return new Response(LOGIN_PAGE, { status: 401, headers: { ...headers, "content-type": "text/html; charset=utf-8", "content-security-policy": LOGIN_CSP, "x-content-type-options": "nosniff" } });
}

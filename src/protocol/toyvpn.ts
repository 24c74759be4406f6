/**
 * @module protocol/toyvpn
 * The ToyVpn wire protocol as the Android app speaks it (see
 * `docs/PROTOCOL.md` and shared/TOYVPN-PROTOCOL.md): datagram classification,
 * handshake payloads, the 1024-byte parameter datagram, and warren's one extra
 * control message. Pure: bytes in, decisions out; never throws on wire input.
 */

// --- specification (Android ToyVpn) ---
/** First byte of every control message. */
export const CONTROL_BYTE = 0x00;
/** The client sends its handshake this many times; the server answers as often. */
export const HANDSHAKE_REPEAT = 3;
/** Size of the parameter datagram, space padded. */
export const PARAMS_DATAGRAM_SIZE = 1024;
/** The Android client parses the MTU as a Java `short`. */
export const MAX_PARAM_MTU = 32767;

// --- warren extensions (invisible to the Android app) ---
/**
 * Control message asking a client to handshake again ("!rehandshake" after 0x00).
 * The Android app ignores control messages in the data phase, and even parsed as
 * parameters `!` is an unknown option letter, so it is harmless.
 */
export const REHANDSHAKE_TEXT = "!rehandshake";
/** Longest credential accepted in a handshake, in bytes after the 0x00. */
export const MAX_HANDSHAKE_PAYLOAD = 1000;

/** What one datagram from a client is. Small integers, so the hot path allocates nothing. */
export const Kind = {
  /** Zero-length datagram. */
  Empty: 0,
  /** A lone 0x00. */
  Keepalive: 1,
  /** 0x00 + credential. */
  Handshake: 2,
  /** warren's rehandshake request (seen by warren's client). */
  Rehandshake: 3,
  /** A raw IPv4 packet. */
  Data4: 4,
  /** A raw IPv6 packet. */
  Data6: 6,
  /** First nibble is neither 4 nor 6 and the first byte is not 0x00. */
  Junk: 7,
} as const;
/** One of the `Kind` values. */
export type Kind = (typeof Kind)[keyof typeof Kind];

const REHANDSHAKE_BYTES = new TextEncoder().encode(REHANDSHAKE_TEXT);

/** Classifies a datagram by its first bytes. */
export function classify(d: Uint8Array): Kind {
  if (d.length === 0) return Kind.Empty;
  const b0 = d[0] as number;
  if (b0 === CONTROL_BYTE) {
    if (d.length === 1) return Kind.Keepalive;
    if (d.length === 1 + REHANDSHAKE_BYTES.length && bytesEqualAt(d, 1, REHANDSHAKE_BYTES)) return Kind.Rehandshake;
    return Kind.Handshake;
  }
  const v = b0 >>> 4;
  return v === 4 ? Kind.Data4 : v === 6 ? Kind.Data6 : Kind.Junk;
}

function bytesEqualAt(d: Uint8Array, off: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (d[off + i] !== want[i]) return false;
  return true;
}

/** Result of reading a handshake datagram. */
export type HandshakePayload =
  | { ok: true; credential: string }
  | { ok: false; reason: "empty" | "oversized" | "not-text" };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The credential carried by `0x00 credential`. Like the reference server it reads
 * a C string: bytes after an embedded NUL are ignored. The credential is returned
 * whole (`secret`, `secret:id`, `user:password[:id]`); `auth/` splits it.
 */
export function parseHandshake(d: Uint8Array): HandshakePayload {
  if (d.length < 2 || d[0] !== CONTROL_BYTE) return { ok: false, reason: "empty" };
  let end = d.indexOf(0, 1);
  if (end < 0) end = d.length;
  if (end === 1) return { ok: false, reason: "empty" };
  if (end - 1 > MAX_HANDSHAKE_PAYLOAD) return { ok: false, reason: "oversized" };
  try {
    return { ok: true, credential: utf8.decode(d.subarray(1, end)) };
  } catch {
    return { ok: false, reason: "not-text" };
  }
}

/** Builds `0x00 credential` as a client sends it. */
export function buildHandshake(credential: string): Uint8Array {
  const body = new TextEncoder().encode(credential);
  const out = new Uint8Array(1 + body.length);
  out[0] = CONTROL_BYTE;
  out.set(body, 1);
  return out;
}

/** The lone keepalive byte. */
export const KEEPALIVE = new Uint8Array([CONTROL_BYTE]);

/** The rehandshake control message. */
export const REHANDSHAKE = (() => {
  const out = new Uint8Array(1 + REHANDSHAKE_BYTES.length);
  out.set(REHANDSHAKE_BYTES, 1);
  return out;
})();

/** Tunnel parameters, as pushed to a client. All text fields are literals already validated. */
export interface Params {
  mtu: number;
  /** `a` options: address + prefix length (IPv4 and/or IPv6). */
  addresses: { address: string; prefixLen: number }[];
  /** `r` options. */
  routes: { address: string; prefixLen: number }[];
  /** `d` options. */
  dns: string[];
  /** `s` options. */
  searchDomains: string[];
}

const FIELD_RE = /^[^\s,]+$/;

/**
 * `m,1400 a,10.8.0.2,32 r,0.0.0.0,0 d,1.1.1.1` — one space between options, commas
 * between fields. Throws (a programming or config error, not wire input) on an
 * empty or malformed field, since the Android app would give up on it.
 */
export function encodeParams(p: Params): string {
  const text = formatParams(p);
  if (text.length > PARAMS_DATAGRAM_SIZE - 1) throw new Error(`parameters are ${text.length} bytes, at most ${PARAMS_DATAGRAM_SIZE - 1} fit`);
  return text;
}

/** The parameter text of `p` whatever its length (encodeParams also checks that it fits). */
export function formatParams(p: Params): string {
  const parts: string[] = [];
  const field = (f: string | number): string => {
    const s = String(f);
    if (!FIELD_RE.test(s)) throw new Error(`bad parameter field ${JSON.stringify(s)}`);
    return s;
  };
  if (!Number.isInteger(p.mtu) || p.mtu < 1 || p.mtu > MAX_PARAM_MTU) throw new Error(`bad MTU ${p.mtu}`);
  parts.push(`m,${p.mtu}`);
  for (const a of p.addresses) parts.push(`a,${field(a.address)},${field(a.prefixLen)}`);
  for (const r of p.routes) parts.push(`r,${field(r.address)},${field(r.prefixLen)}`);
  for (const d of p.dns) parts.push(`d,${field(d)}`);
  for (const s of p.searchDomains) parts.push(`s,${field(s)}`);
  return parts.join(" ");
}

/** `0x00` + `text`, padded with spaces to 1024 bytes. `text` must be ASCII and fit. */
export function buildParamsDatagram(text: string): Uint8Array {
  const out = new Uint8Array(PARAMS_DATAGRAM_SIZE).fill(0x20);
  out[0] = CONTROL_BYTE;
  for (let i = 0; i < text.length; i++) out[1 + i] = text.charCodeAt(i) & 0x7f;
  return out;
}

/** Result of parsing a parameter datagram the way the Android client does. */
export type ParsedParams = { ok: true; params: Params } | { ok: false; error: string };

/**
 * Parses the text after the 0x00 exactly as strictly as the Android client:
 * trim, split on single spaces, split on commas, switch on the first character;
 * unknown letters are ignored; a missing or non-numeric number is "Bad parameter".
 */
export function parseParams(text: string): ParsedParams {
  const p: Params = { mtu: 0, addresses: [], routes: [], dns: [], searchDomains: [] };
  const trimmed = text.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "");
  const num = (s: string | undefined, max: number): number => {
    if (s === undefined || !/^-?\d+$/.test(s)) return NaN;
    const n = Number(s);
    return n >= 0 && n <= max ? n : NaN;
  };
  for (const option of trimmed.split(" ")) {
    const f = option.split(",");
    const bad = (): ParsedParams => ({ ok: false, error: `Bad parameter: ${option}` });
    if (option.length === 0) return bad();
    switch (option[0]) {
      case "m": {
        const mtu = num(f[1], MAX_PARAM_MTU);
        if (Number.isNaN(mtu)) return bad();
        p.mtu = mtu;
        break;
      }
      case "a":
      case "r": {
        const prefixLen = num(f[2], 128);
        if (!f[1] || Number.isNaN(prefixLen)) return bad();
        (option[0] === "a" ? p.addresses : p.routes).push({ address: f[1], prefixLen });
        break;
      }
      case "d":
        if (!f[1]) return bad();
        p.dns.push(f[1]);
        break;
      case "s":
        if (!f[1]) return bad();
        p.searchDomains.push(f[1]);
        break;
      default:
        break;
    }
  }
  return { ok: true, params: p };
}

/** Text of a parameter datagram (after the 0x00), or null if `d` is not a control message. */
export function paramsText(d: Uint8Array): string | null {
  if (d.length < 2 || d[0] !== CONTROL_BYTE) return null;
  let s = "";
  for (let i = 1; i < d.length; i++) s += String.fromCharCode(d[i] as number);
  return s;
}

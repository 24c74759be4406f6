/**
 * @module protocol/wireguard/messages
 * The four WireGuard messages on the wire (paper 5.4): classification, a tagged-union parser
 * with exact-length checks, and encoders. Every message starts with a type byte and three zero
 * bytes; integers are little-endian. Parsing never throws: anything malformed is
 * `{ kind: "invalid" }`. The hot path uses {@link messageType} and the `read*` helpers, which
 * allocate nothing; {@link parse} returns views into the datagram (valid while it is).
 */

import {
  COOKIE_OFF_COOKIE,
  COOKIE_OFF_NONCE,
  COOKIE_OFF_RECEIVER,
  COOKIE_REPLY_SIZE,
  INIT_OFF_EPHEMERAL,
  INIT_OFF_MAC1,
  INIT_OFF_MAC2,
  INIT_OFF_STATIC,
  INIT_OFF_TIMESTAMP,
  INITIATION_SIZE,
  KEY_LEN,
  MAC_LEN,
  OFF_SENDER,
  OFF_TYPE,
  RESP_OFF_EMPTY,
  RESP_OFF_EPHEMERAL,
  RESP_OFF_MAC1,
  RESP_OFF_MAC2,
  RESP_OFF_RECEIVER,
  RESPONSE_SIZE,
  TAG_LEN,
  TIMESTAMP_LEN,
  TRANSPORT_MIN_SIZE,
  TRANSPORT_OFF_CONTENT,
  TRANSPORT_OFF_COUNTER,
  TRANSPORT_OFF_RECEIVER,
  TYPE_COOKIE_REPLY,
  TYPE_INITIATION,
  TYPE_RESPONSE,
  TYPE_TRANSPORT,
  XNONCE_LEN,
} from "./constants.ts";

/** A parsed message; byte fields are views into the datagram. */
export type Message =
  | {
      kind: "initiation";
      sender: number;
      ephemeral: Uint8Array;
      encryptedStatic: Uint8Array;
      encryptedTimestamp: Uint8Array;
      mac1: Uint8Array;
      mac2: Uint8Array;
    }
  | {
      kind: "response";
      sender: number;
      receiver: number;
      ephemeral: Uint8Array;
      encryptedNothing: Uint8Array;
      mac1: Uint8Array;
      mac2: Uint8Array;
    }
  | { kind: "cookie"; receiver: number; nonce: Uint8Array; encryptedCookie: Uint8Array }
  | { kind: "transport"; receiver: number; counter: number; content: Uint8Array }
  | { kind: "invalid" };

/** True when the datagram looks like WireGuard (type 1-4, then three zero bytes); for demultiplexing beside ToyVpn. */
export function isWireGuard(d: Uint8Array): boolean {
  if (d.length < 4) return false;
  const t = d[OFF_TYPE] as number;
  return t >= TYPE_INITIATION && t <= TYPE_TRANSPORT && d[1] === 0 && d[2] === 0 && d[3] === 0;
}

/**
 * The message type (1-4) when the datagram has that type's exact size (initiation, response,
 * cookie reply) or at least a keepalive's size (transport); 0 otherwise. Allocates nothing.
 */
export function messageType(d: Uint8Array): number {
  if (!isWireGuard(d)) return 0;
  const t = d[OFF_TYPE] as number;
  const n = d.length;
  if (t === TYPE_TRANSPORT) return n >= TRANSPORT_MIN_SIZE ? t : 0;
  if (t === TYPE_INITIATION) return n === INITIATION_SIZE ? t : 0;
  if (t === TYPE_RESPONSE) return n === RESPONSE_SIZE ? t : 0;
  return n === COOKIE_REPLY_SIZE ? t : 0;
}

/** Little-endian u32 at `off`; the caller checked the length. */
export function readU32(d: Uint8Array, off: number): number {
  return ((d[off] as number) | ((d[off + 1] as number) << 8) | ((d[off + 2] as number) << 16) | ((d[off + 3] as number) << 24)) >>> 0;
}

/** Writes a little-endian u32 at `off`. */
export function writeU32(d: Uint8Array, off: number, v: number): void {
  d[off] = v;
  d[off + 1] = v >>> 8;
  d[off + 2] = v >>> 16;
  d[off + 3] = v >>> 24;
}

/**
 * The 64-bit little-endian counter at `off` as a number. Values at or above 2^53 come back
 * rounded but still at or above 2^53, so a comparison with a limit below 2^53 stays correct.
 */
export function readCounter(d: Uint8Array, off: number): number {
  return readU32(d, off) + readU32(d, off + 4) * 0x1_0000_0000;
}

/** Writes `counter` (an integer below 2^53) as 64-bit little-endian at `off`. */
export function writeCounter(d: Uint8Array, off: number, counter: number): void {
  writeU32(d, off, counter >>> 0);
  writeU32(d, off + 4, Math.floor(counter / 0x1_0000_0000));
}

/** Writes the type byte and the three zero bytes. */
export function writeType(d: Uint8Array, type: number): void {
  d[OFF_TYPE] = type;
  d[1] = 0;
  d[2] = 0;
  d[3] = 0;
}

/** Writes a transport header (type 4, receiver, counter) at the start of `out`. */
export function writeTransportHeader(out: Uint8Array, receiver: number, counter: number): void {
  writeType(out, TYPE_TRANSPORT);
  writeU32(out, TRANSPORT_OFF_RECEIVER, receiver);
  writeCounter(out, TRANSPORT_OFF_COUNTER, counter);
}

/** Parses one datagram into a tagged union; never throws. */
export function parse(d: Uint8Array): Message {
  switch (messageType(d)) {
    case TYPE_INITIATION:
      return {
        kind: "initiation",
        sender: readU32(d, OFF_SENDER),
        ephemeral: d.subarray(INIT_OFF_EPHEMERAL, INIT_OFF_STATIC),
        encryptedStatic: d.subarray(INIT_OFF_STATIC, INIT_OFF_TIMESTAMP),
        encryptedTimestamp: d.subarray(INIT_OFF_TIMESTAMP, INIT_OFF_MAC1),
        mac1: d.subarray(INIT_OFF_MAC1, INIT_OFF_MAC2),
        mac2: d.subarray(INIT_OFF_MAC2, INITIATION_SIZE),
      };
    case TYPE_RESPONSE:
      return {
        kind: "response",
        sender: readU32(d, OFF_SENDER),
        receiver: readU32(d, RESP_OFF_RECEIVER),
        ephemeral: d.subarray(RESP_OFF_EPHEMERAL, RESP_OFF_EMPTY),
        encryptedNothing: d.subarray(RESP_OFF_EMPTY, RESP_OFF_MAC1),
        mac1: d.subarray(RESP_OFF_MAC1, RESP_OFF_MAC2),
        mac2: d.subarray(RESP_OFF_MAC2, RESPONSE_SIZE),
      };
    case TYPE_COOKIE_REPLY:
      return {
        kind: "cookie",
        receiver: readU32(d, COOKIE_OFF_RECEIVER),
        nonce: d.subarray(COOKIE_OFF_NONCE, COOKIE_OFF_COOKIE),
        encryptedCookie: d.subarray(COOKIE_OFF_COOKIE, COOKIE_REPLY_SIZE),
      };
    case TYPE_TRANSPORT:
      return {
        kind: "transport",
        receiver: readU32(d, TRANSPORT_OFF_RECEIVER),
        counter: readCounter(d, TRANSPORT_OFF_COUNTER),
        content: d.subarray(TRANSPORT_OFF_CONTENT),
      };
    default:
      return { kind: "invalid" };
  }
}

function put(out: Uint8Array, off: number, field: Uint8Array, len: number, name: string): void {
  if (field.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${field.length}`);
  out.set(field, off);
}

/** Fields of an initiation, for {@link encodeInitiation}. */
export type InitiationFields = Omit<Extract<Message, { kind: "initiation" }>, "kind">;
/** Fields of a response, for {@link encodeResponse}. */
export type ResponseFields = Omit<Extract<Message, { kind: "response" }>, "kind">;
/** Fields of a cookie reply, for {@link encodeCookieReply}. */
export type CookieReplyFields = Omit<Extract<Message, { kind: "cookie" }>, "kind">;

/** A 148-byte initiation; throws RangeError when a field has the wrong size (a programming error). */
export function encodeInitiation(f: InitiationFields): Uint8Array {
  const out = new Uint8Array(INITIATION_SIZE);
  writeType(out, TYPE_INITIATION);
  writeU32(out, OFF_SENDER, f.sender);
  put(out, INIT_OFF_EPHEMERAL, f.ephemeral, KEY_LEN, "ephemeral");
  put(out, INIT_OFF_STATIC, f.encryptedStatic, KEY_LEN + TAG_LEN, "encryptedStatic");
  put(out, INIT_OFF_TIMESTAMP, f.encryptedTimestamp, TIMESTAMP_LEN + TAG_LEN, "encryptedTimestamp");
  put(out, INIT_OFF_MAC1, f.mac1, MAC_LEN, "mac1");
  put(out, INIT_OFF_MAC2, f.mac2, MAC_LEN, "mac2");
  return out;
}

/** A 92-byte response; throws RangeError when a field has the wrong size. */
export function encodeResponse(f: ResponseFields): Uint8Array {
  const out = new Uint8Array(RESPONSE_SIZE);
  writeType(out, TYPE_RESPONSE);
  writeU32(out, OFF_SENDER, f.sender);
  writeU32(out, RESP_OFF_RECEIVER, f.receiver);
  put(out, RESP_OFF_EPHEMERAL, f.ephemeral, KEY_LEN, "ephemeral");
  put(out, RESP_OFF_EMPTY, f.encryptedNothing, TAG_LEN, "encryptedNothing");
  put(out, RESP_OFF_MAC1, f.mac1, MAC_LEN, "mac1");
  put(out, RESP_OFF_MAC2, f.mac2, MAC_LEN, "mac2");
  return out;
}

/** A 64-byte cookie reply; throws RangeError when a field has the wrong size. */
export function encodeCookieReply(f: CookieReplyFields): Uint8Array {
  const out = new Uint8Array(COOKIE_REPLY_SIZE);
  writeType(out, TYPE_COOKIE_REPLY);
  writeU32(out, COOKIE_OFF_RECEIVER, f.receiver);
  put(out, COOKIE_OFF_NONCE, f.nonce, XNONCE_LEN, "nonce");
  put(out, COOKIE_OFF_COOKIE, f.encryptedCookie, MAC_LEN + TAG_LEN, "encryptedCookie");
  return out;
}

/**
 * A transport message for an already-encrypted `content` (ciphertext + tag), allocated; the
 * data path writes into its own buffer with {@link writeTransportHeader} instead.
 */
export function encodeTransport(receiver: number, counter: number, content: Uint8Array): Uint8Array {
  const out = new Uint8Array(TRANSPORT_OFF_CONTENT + content.length);
  writeTransportHeader(out, receiver, counter);
  out.set(content, TRANSPORT_OFF_CONTENT);
  return out;
}

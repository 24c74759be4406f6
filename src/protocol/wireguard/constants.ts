/**
 * @module protocol/wireguard/constants
 * WireGuard's numbers, in the protocol's own words: the "specification" block is what the
 * WireGuard paper (section 6 and 5.4) and every interoperable implementation fix; the
 * "implementation" block is warren's tuning and may change without breaking the wire.
 * Times are milliseconds, because `now` is milliseconds everywhere in `protocol/`.
 */

// --- specification: Noise construction and labels (paper 5.4) ---
/** The Noise protocol name; HASH of it is the initial chaining key. */
export const CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/** WireGuard's prologue (mixed into the initial hash). */
export const IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";
/** Label of the mac1 key: HASH(LABEL_MAC1 || responder static public key). */
export const LABEL_MAC1 = "mac1----";
/** Label of the cookie-reply key: HASH(LABEL_COOKIE || responder static public key). */
export const LABEL_COOKIE = "cookie--";

// --- specification: message types and sizes (paper 5.4.2-5.4.6) ---
/** Handshake initiation. */
export const TYPE_INITIATION = 1;
/** Handshake response. */
export const TYPE_RESPONSE = 2;
/** Cookie reply. */
export const TYPE_COOKIE_REPLY = 3;
/** Transport data (and keepalives). */
export const TYPE_TRANSPORT = 4;

/** Bytes of an X25519 key, a hash, a chaining key and an AEAD key. */
export const KEY_LEN = 32;
/** Bytes of a Poly1305 tag. */
export const TAG_LEN = 16;
/** Bytes of mac1, mac2 and a cookie. */
export const MAC_LEN = 16;
/** Bytes of a TAI64N timestamp. */
export const TIMESTAMP_LEN = 12;
/** Bytes of an XChaCha20-Poly1305 nonce (cookie reply). */
export const XNONCE_LEN = 24;

/** Size of a handshake initiation. */
export const INITIATION_SIZE = 148;
/** Size of a handshake response. */
export const RESPONSE_SIZE = 92;
/** Size of a cookie reply. */
export const COOKIE_REPLY_SIZE = 64;
/** Bytes before the ciphertext of a transport message (type, receiver, counter). */
export const TRANSPORT_HEADER_SIZE = 16;
/** Smallest transport message: a keepalive (header + tag of an empty plaintext). */
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + TAG_LEN;
/** Transport plaintext is zero-padded to a multiple of this. */
export const PADDING_MULTIPLE = 16;

/** Offsets in every message: the type byte then three zero bytes. */
export const OFF_TYPE = 0;
/** Offset of the sender index (initiation, response). */
export const OFF_SENDER = 4;

/** Initiation: ephemeral public key. */
export const INIT_OFF_EPHEMERAL = 8;
/** Initiation: encrypted static public key (32 + tag). */
export const INIT_OFF_STATIC = 40;
/** Initiation: encrypted timestamp (12 + tag). */
export const INIT_OFF_TIMESTAMP = 88;
/** Initiation: mac1. */
export const INIT_OFF_MAC1 = 116;
/** Initiation: mac2. */
export const INIT_OFF_MAC2 = 132;

/** Response: receiver index (the initiator's sender index). */
export const RESP_OFF_RECEIVER = 8;
/** Response: ephemeral public key. */
export const RESP_OFF_EPHEMERAL = 12;
/** Response: encrypted empty payload (tag only). */
export const RESP_OFF_EMPTY = 44;
/** Response: mac1. */
export const RESP_OFF_MAC1 = 60;
/** Response: mac2. */
export const RESP_OFF_MAC2 = 76;

/** Cookie reply: receiver index (the sender index of the message it answers). */
export const COOKIE_OFF_RECEIVER = 4;
/** Cookie reply: XChaCha20 nonce. */
export const COOKIE_OFF_NONCE = 8;
/** Cookie reply: encrypted cookie (16 + tag). */
export const COOKIE_OFF_COOKIE = 32;

/** Transport: receiver index. */
export const TRANSPORT_OFF_RECEIVER = 4;
/** Transport: 64-bit little-endian counter. */
export const TRANSPORT_OFF_COUNTER = 8;
/** Transport: ciphertext. */
export const TRANSPORT_OFF_CONTENT = 16;

// --- specification: timers and limits (paper 6.1-6.5) ---
/** Initiate a new handshake after this many messages under one key (2^60, exact as a double). */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
/** No message may use a counter at or after 2^64 - 2^13 - 1 (exact, as a bigint). */
export const REJECT_AFTER_MESSAGES = 2n ** 64n - 2n ** 13n - 1n;
/** The initiator of the current keypair rekeys after this age. */
export const REKEY_AFTER_TIME = 120_000;
/** A keypair older than this is used for nothing. */
export const REJECT_AFTER_TIME = 180_000;
/** Give up retrying a handshake after this long. */
export const REKEY_ATTEMPT_TIME = 90_000;
/** Retransmit an unanswered initiation after this long (plus jitter). */
export const REKEY_TIMEOUT = 5_000;
/** Up to this much random jitter is added to REKEY_TIMEOUT (wireguard-go and Linux: 333 ms). */
export const REKEY_TIMEOUT_JITTER_MAX = 334;
/** Retries before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** Send a passive keepalive when data was received but nothing sent for this long. */
export const KEEPALIVE_TIMEOUT = 10_000;
/** A cookie (and the responder's cookie secret) is valid this long. */
export const COOKIE_REFRESH_TIME = 120_000;
/** A responder accepts at most one initiation per peer per this interval (50 per second). */
export const HANDSHAKE_INITIATION_RATE = 20;
/** All key material of a peer is erased after this long without a new handshake. */
export const ZERO_KEYS_AFTER = 3 * REJECT_AFTER_TIME;

// --- implementation (warren tuning; not on the wire) ---
/**
 * Largest counter warren sends or accepts: 2^53, the edge of exact JS numbers. At 10 M
 * packets/s a keypair would need 28 years to reach it, far beyond REJECT_AFTER_TIME, so a
 * counter at or above it is never honest traffic.
 */
export const COUNTER_LIMIT = Number.MAX_SAFE_INTEGER;
/** Replay window in packets (RFC 6479 ring of 32-bit words; one word is kept as slack). */
export const REPLAY_WINDOW_WORDS = 128;
/** Packets held per peer while a handshake is in flight (wireguard-go holds 128). */
export const MAX_STAGED_PACKETS = 128;
/** Largest datagram (and so transport message) warren handles. */
export const MAX_MESSAGE_SIZE = 65535;

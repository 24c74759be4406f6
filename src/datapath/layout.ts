/**
 * @module datapath/layout
 * The shared memory the fast data path's threads agree on. No imports: the Worker
 * bundle stays small, and every offset lives in one place.
 *
 * 1. The forwarding table (one SharedArrayBuffer, written only by the main thread):
 *    a 64-byte header, then CAPACITY slots of 64 bytes (Int32 words). Slot h belongs to
 *    the tunnel address with host index h (IPv4: address - pool network; IPv6: the low
 *    32 bits, which pool6 derives from the same host index).
 *      header  W_POOL4_NET, W_POOL4_MASK, W_SERVER4, W_CAPACITY, W_POOL6_LEN, W_POOL6 (16 bytes)
 *      slot    W_SEQ (seqlock), W_SERIAL (owner session, 0 = free), W_FLAGS,
 *              W_NAMELEN + W_NAME (the client's sockaddr as recvmmsg reports it and
 *              sendmmsg takes it), W_ADDR4, W_ADDR6 (16 bytes)
 *    Seqlock: the main thread makes W_SEQ odd, writes the slot, makes it even again.
 *    A worker reads W_SEQ (odd: treat as absent), reads the fields, reads W_SEQ again;
 *    if it changed the reading is void.
 * 1b. Counters: one Float64Array per worker, which is its only writer (exact up to 2^53):
 *    COUNTER_HEADER globals G_*, then COUNTERS_PER_SLOT per slot (C_*). The main thread
 *    reads and folds them (counters.ts); nobody ever resets them.
 * 2. Rings (one SharedArrayBuffer each, single producer = a worker, single consumer =
 *    the main thread): packets a worker hands over to the main thread (the door, the router).
 * 3. A control block per worker: run state, exit flag, errno.
 * 4. WireGuard keypairs (one SharedArrayBuffer; see section 4 below).
 */

// --- 1. forwarding table
/** Bytes of the table header. */
export const HEADER_BYTES = 64;
/** Bytes per slot. */
export const SLOT_BYTES = 80;
/** Int32 words per slot. */
export const SLOT_WORDS = SLOT_BYTES / 4;
/** Most slots a table has (host indexes at or beyond it always take the slow path). */
export const MAX_CAPACITY = 65536;

// header words (Int32 index)
/** IPv4 pool network address (u32 stored as i32). */
export const W_POOL4_NET = 0;
/** IPv4 pool netmask. */
export const W_POOL4_MASK = 1;
/** The server's own IPv4 tunnel address. */
export const W_SERVER4 = 2;
/** Slots in the table. */
export const W_CAPACITY = 3;
/** IPv6 pool prefix length; 0 = no IPv6 pool. */
export const W_POOL6_LEN = 4;
/** IPv6 pool prefix bytes, 4 words starting here (byte offset W_POOL6 * 4). */
export const W_POOL6 = 8;

// slot words (Int32 index relative to the slot's first word)
/** Seqlock word: odd while the main thread rewrites the slot. */
export const W_SEQ = 0;
/** Serial of the owning session; 0 = free. */
export const W_SERIAL = 1;
/** F_* bits. */
export const W_FLAGS = 2;
/** Length of the sockaddr in W_NAME (16 or 28). */
export const W_NAMELEN = 3;
/** The client's sockaddr, 7 words. */
export const W_NAME = 4;
/** Words of a sockaddr in W_NAME. */
export const NAME_WORDS = 7;
/** The session's IPv4 tunnel address. */
export const W_ADDR4 = 11;
/** The session's IPv6 tunnel address, 4 words (valid with F_HAS6). */
export const W_ADDR6 = 12;
/** F_WG: the WireGuard keypair slot (section 4) to send with; -1 = none (SLOW). */
export const W_WG_KP = 16;
/** F_WG: that keypair's local index (the slot is stale when they differ). */
export const W_WG_INDEX = 17;

/** The slot forwards: a session owns it. */
export const F_ACTIVE = 1;
/** Every packet of this session goes through the main thread (capture is on, not a ToyVpn session, or no usable endpoint). */
export const F_SLOW = 2;
/** W_ADDR6 holds an address. */
export const F_HAS6 = 4;
/** A WireGuard session: W_NAME is on the WireGuard socket, packets are sealed with W_WG_KP. */
export const F_WG = 8;

// --- 1b. counters: one Float64Array per worker (its only writer), the main thread reads
/** Float64s before the first slot's counters (the worker's global counters G_*). */
export const COUNTER_HEADER = 16;
/** Float64s per slot. */
export const COUNTERS_PER_SLOT = 14;
/** The first of them are counts the main thread folds (C_RX_PACKETS .. C_DROP_SEND); the rest are times. */
export const FOLDED_PER_SLOT = 8;
/** TUN packets for no session. */
export const G_TX_NO_SESSION = 0;
/** TUN packets the worker could not hand to the main thread (ring full). */
export const G_TX_HANDOFF_DROPS = 1;
/** Datagrams the worker could not hand to the main thread (ring full). */
export const G_RX_HANDOFF_DROPS = 2;
/** Datagrams cut by the kernel (longer than the rx buffer): junk. */
export const G_RX_TRUNCATED = 3;
/** TUN packets handed to the main thread. */
export const G_TX_HANDOFFS = 4;
/** Datagrams handed to the main thread. */
export const G_RX_HANDOFFS = 5;
/** TUN packets with an offload the worker cannot undo (never asked for) or bad GSO headers. */
export const G_TX_OFFLOAD_DROPS = 6;
/** Packets from the client written to the TUN. */
export const C_RX_PACKETS = 0;
/** Bytes of those packets. */
export const C_RX_BYTES = 1;
/** Packets sent to the client. */
export const C_TX_PACKETS = 2;
/** Bytes of those packets. */
export const C_TX_BYTES = 3;
/** TUN writes the kernel refused: drop "tun-write". */
export const C_DROP_TUN_WRITE = 4;
/** Sends the kernel refused: drop "send". */
export const C_DROP_SEND = 5;
/** WireGuard: Unix ms of the last authenticated message the worker received (a time, not folded). */
export const C_WG_RX_AT = 8;
/** WireGuard: Unix ms of the last one that carried a packet. */
export const C_WG_RX_DATA_AT = 9;
/** WireGuard: Unix ms of the last packet the worker sealed and sent. */
export const C_WG_TX_AT = 10;
/** WireGuard: bytes of the messages the worker opened and kept (not handed over), as `wg show` counts them. */
export const C_WG_RX_WIRE = 11;
/** WireGuard: bytes of the messages the worker sealed. */
export const C_WG_TX_WIRE = 12;
/** WireGuard messages whose tag did not verify (door drop "decrypt"). */
export const G_WG_DECRYPT = 7;
/** WireGuard messages whose counter was a replay or too old (door drop "replay"). */
export const G_WG_REPLAY = 8;
/** WireGuard messages for a receiver index no keypair has, dropped by the worker (door drop "unknown-index"). */
export const G_WG_UNKNOWN = 9;

/** Bytes of a counter block for a table of `capacity` slots. */
export function counterBytes(capacity: number): number {
  return (COUNTER_HEADER + capacity * COUNTERS_PER_SLOT) * 8;
}

/** Float64 index of counter `c` of slot `slot`. */
export function counterIndex(slot: number, c: number): number {
  return COUNTER_HEADER + slot * COUNTERS_PER_SLOT + c;
}

// --- 2. rings
/** Bytes of a ring's header (Int32 words below). */
export const RING_HEADER = 64;
/** Producer position (byte offset into the data area). */
export const R_HEAD = 0;
/** Consumer position. */
export const R_TAIL = 1;
/** Consumer sleep word: R_AWAKE or R_SLEEPING. */
export const R_SIGNAL = 2;
/** The consumer is draining (or will look again before sleeping). */
export const R_AWAKE = 0;
/** The consumer waits for a notify on R_SIGNAL. */
export const R_SLEEPING = 1;
/** Bytes of a record header: u32 payload length, u32 tag. */
export const REC_HEADER = 8;
/** Record length value that means "continue at offset 0". */
export const REC_WRAP = 0xffffffff;
/** Bytes reserved for the sender address in an rx record (sockaddr_in6, 8-aligned). */
export const REC_NAME = 32;
/** Tag of a TUN packet record (tx worker). */
export const TAG_TUN = 1;
/** Tag of a datagram record (rx worker): a REC_NAME address, then the payload. */
export const TAG_DATAGRAM = 2;
/** Like TAG_DATAGRAM, from the WireGuard socket (when it is not the one of `listen`). */
export const TAG_WG_DATAGRAM = 3;
/**
 * A WireGuard transport message the worker opened (in place: header, padded plaintext, the old
 * tag bytes) for the main thread to finish: a REC_NAME address whose last word is the
 * receiver index, then the message.
 */
export const TAG_WG_OPENED = 4;
/** Word of the REC_NAME area that carries the receiver index of a TAG_WG_OPENED record. */
export const REC_NAME_EXTRA = 7;

// --- 4. WireGuard keypairs: one SharedArrayBuffer, KP_HEADER_BYTES then slots of KP_WORDS
//    Int32 words. The main thread writes a slot when a keypair is derived (under K_SEQ, as the
//    table) and frees it; workers read it, advance K_COUNTER (Atomics.add) and the replay window
//    of the keypairs whose messages the kernel steers to them (by receiver index). A receiver
//    index's low bits name its slot (index & (slots - 1)); K_INDEX tells a stale one.
/** Bytes before the first keypair slot. */
export const KP_HEADER_BYTES = 64;
/** Header word: number of keypair slots (a power of two). */
export const KW_SLOTS = 0;
/** Header word: the tunnel MTU (plaintext is padded to 16, not beyond it). */
export const KW_MTU = 1;
/**
 * Header word: keypairs the main thread holds without a slot (their slot was taken). While it
 * is 0, a message whose index no slot holds cannot be anybody's: the worker drops it itself.
 */
export const KW_UNSHARED = 2;
/** Int32 words per keypair slot (8-byte aligned). */
export const KP_WORDS = 160;
/** Seqlock word. */
export const K_SEQ = 0;
/** Our (receiver) index; 0 = free. */
export const K_INDEX = 1;
/** The peer's index, for the header of every message sealed with the keypair. */
export const K_REMOTE = 2;
/** KF_* bits. */
export const K_FLAGS = 3;
/** Forwarding-table slot of the peer's session (its tunnel address). */
export const K_SLOT = 4;
/** Next send counter (Atomics.add; at most SHARED_COUNTER_MAX). */
export const K_COUNTER = 5;
/** Float64 at this word: Unix ms after which the keypair is rejected (REJECT_AFTER_TIME). */
export const K_EXPIRES = 6;
/** Float64 at this word: the replay window's greatest counter. */
export const K_LAST = 8;
/** The sending key, 8 words. */
export const K_SEND_KEY = 10;
/** The receiving key, 8 words. */
export const K_RECV_KEY = 18;
/** The replay window's bitmap, REPLAY_WINDOW_WORDS (128) words. */
export const K_REPLAY = 32;
/** The keypair may send: an initiator's at once, a responder's once the initiator used it. */
export const KF_CONFIRMED = 1;

// --- 3. worker control block (Int32 words)
/** Words in a control block. */
export const CTL_WORDS = 4;
/** CTL_RUN while the worker should loop; CTL_STOP to make it leave. */
export const CTL_STATE = 0;
/** 1 once the worker has left its loop and touches no fd any more. */
export const CTL_DONE = 1;
/** errno of the call that stopped a failed worker (0 = none). */
export const CTL_ERRNO = 2;
/** 1 once the worker runs its loop. */
export const CTL_STARTED = 3;
/** Loop. */
export const CTL_RUN = 0;
/** Leave the loop. */
export const CTL_STOP = 1;

/** The one message the main thread posts to a data-path worker. */
export interface WorkerStart {
  /** Worker number (0..n-1): its data socket's group index - 1 and its TUN queue. */
  index: number;
  /** This worker's TUN queue fd: it reads it (and writes packets for the TUN through it). */
  tunFd: number;
  /** This worker's data socket: it receives on it and sends on it. */
  udpFd: number;
  /** eventfd that wakes the worker out of poll() for STOP. */
  wakeFd: number;
  /** Socket family (AF_INET 2 / AF_INET6 10): the sockaddr layout. */
  family: number;
  /** Largest packet a buffer must hold. */
  packetRoom: number;
  /** Bytes of virtio_net_hdr before every TUN read and write (0 = the TUN has none). */
  vnet: number;
  /** The TUN hands over partial checksums and TCP GSO packets (TUNSETOFFLOAD): use TxGsoEngine. */
  tso: boolean;
  /** With tso: send runs of segments as one UDP_SEGMENT message (else one message each). */
  udpGso: boolean;
  /** With tso: pace bulk sends (tx-gso.ts TSO_TURN_BYTES, loop.ts PACE_US). */
  pace: boolean;
  /** After a turn that received a run of datagrams, wait (a TUN packet ends it) before receiving again (loop.ts LINGER_AFTER, LINGER_US). */
  linger: boolean;
  /** With vnet: coalesce UDP datagrams of a flow into UDP_L4 GSO writes too (TCP always). */
  coalesceUdp: boolean;
  /** Messages per recvmmsg / sendmmsg. */
  batch: number;
  table: SharedArrayBuffer;
  /** This worker's counters (1b). */
  counters: SharedArrayBuffer;
  /** Ring for client datagrams handed to the main thread. */
  rxRing: SharedArrayBuffer;
  /** This worker's WireGuard data socket when WireGuard has a port of its own, else -1. */
  wgUdpFd: number;
  /** Its socket family. */
  wgFamily: number;
  /** The WireGuard keypair table (section 4), or null: WireGuard sessions stay on the main thread. */
  wgTable: SharedArrayBuffer | null;
  /** Ring for TUN packets handed to the main thread. */
  txRing: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

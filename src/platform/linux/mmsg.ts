/**
 * @module platform/linux/mmsg
 * A native `struct mmsghdr[n]` for recvmmsg/sendmmsg with every pointer fixed once:
 * message i owns packet buffer i (`stride` bytes at `data[i * stride]`; its iovec starts
 * `headroom` bytes in, leaving room for a header the caller writes in front), and a
 * 28-byte name area (a sockaddr_in or sockaddr_in6). Per call the caller
 * only sets lengths: `setLen(i, n)` (iov_len), `setNameLen(i, n)`; after recvmmsg it reads
 * `msgLen(i)` and `flags(i)`. Nothing is allocated per packet.
 *
 * All memory is pinned through `nativeBuffer` (BUN-NOTES §2: buffers whose pointer is
 * cached must stay referenced); `release()` unpins it once C no longer holds it.
 * Layouts are the LP64 Linux ones (x86_64, aarch64).
 */

import type { Pointer } from "bun:ffi";
import { nativeBuffer, releaseBuffer } from "./libc.ts";

// struct msghdr (56 bytes) inside struct mmsghdr (64 bytes)
/** Bytes of one struct mmsghdr (message i of a vector starts at `vecPtr + i * MMSG_SIZE`). */
export const MMSG_SIZE = 64;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;
const MMSG_LEN = 56;
// struct iovec
const IOV_SIZE = 16;
const IOV_LEN = 8;
/** Room for a sockaddr_in6. */
const NAME_SIZE = 28;
/** Name area per message, 8-aligned. */
const NAME_STRIDE = 32;

// struct cmsghdr { size_t len; int level; int type; } + u16 UDP_SEGMENT, padded: CMSG_SPACE(2)
const CMSG_SPACE_U16 = 24;
const CMSG_LEN_U16 = 18;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;

/** recvmsg flag: the datagram was longer than the buffer. */
export const MSG_TRUNC = 0x20;
/** Per-call non-blocking flag. */
export const MSG_DONTWAIT = 0x40;

function setPtr(u32: Uint32Array, byteOff: number, p: number): void {
  u32[byteOff >>> 2] = p % 0x100000000;
  u32[(byteOff >>> 2) + 1] = Math.floor(p / 0x100000000);
}

/** A fixed mmsghdr vector with its buffers; see the module comment. */
export class MsgVec {
  /** Number of messages. */
  readonly count: number;
  /** Bytes per packet buffer. */
  readonly stride: number;
  /** Bytes at the start of each buffer outside its iovec. */
  readonly headroom: number;
  /** All packet buffers, message i at `i * stride`. */
  readonly data: Uint8Array;
  /** Address of `data` (for FFI calls on one packet, e.g. write()). */
  readonly dataPtr: number;
  /** Name areas as 32-bit words: message i at word `i * 8`, 7 words used. */
  readonly names: Int32Array;
  /** Pointer to the vector, for recvmmsg/sendmmsg. */
  readonly vecPtr: Pointer;
  readonly #vec: Uint8Array;
  readonly #u32: Uint32Array;
  readonly #nameBuf: Uint8Array;
  readonly #iovBuf: Uint8Array;
  readonly #iov32: Uint32Array;
  #ctl: { buf: Uint8Array; ptr: number; u32: Uint32Array } | null = null;

  /** Bytes of `data` after the last message's buffer, free for the caller (`spare` of the constructor). */
  readonly spare: number;

  constructor(count: number, stride: number, headroom = 0, spare = 0) {
    this.count = count;
    this.stride = stride;
    this.headroom = headroom;
    this.spare = spare;
    const vec = nativeBuffer(count * MMSG_SIZE);
    const iov = nativeBuffer(count * IOV_SIZE);
    const names = nativeBuffer(count * NAME_STRIDE);
    const data = nativeBuffer(count * stride + spare);
    this.#vec = vec.buf;
    this.#iovBuf = iov.buf;
    this.#nameBuf = names.buf;
    this.data = data.buf;
    this.dataPtr = data.ptr;
    this.vecPtr = vec.ptr;
    this.names = new Int32Array(names.buf.buffer);
    this.#u32 = new Uint32Array(vec.buf.buffer);
    const iovU32 = new Uint32Array(iov.buf.buffer);
    for (let i = 0; i < count; i++) {
      setPtr(iovU32, i * IOV_SIZE, data.ptr + i * stride + headroom);
      iovU32[(i * IOV_SIZE + IOV_LEN) >>> 2] = stride - headroom;
      const m = i * MMSG_SIZE;
      setPtr(this.#u32, m + MSG_NAME, names.ptr + i * NAME_STRIDE);
      this.#u32[(m + MSG_NAMELEN) >>> 2] = NAME_SIZE;
      setPtr(this.#u32, m + MSG_IOV, iov.ptr + i * IOV_SIZE);
      this.#u32[(m + MSG_IOVLEN) >>> 2] = 1;
    }
    this.#iov32 = iovU32;
  }

  /** Points message i's iovec at `ptr` (memory the caller keeps pinned until the call returned). */
  setBase(i: number, ptr: number): void {
    setPtr(this.#iov32, i * IOV_SIZE, ptr);
  }

  /**
   * Message i carries a UDP_SEGMENT control message (`segment` > 0: the kernel cuts its
   * payload into datagrams of that many bytes, the last may be shorter) or none (0).
   */
  setSegment(i: number, segment: number): void {
    const m = i * MMSG_SIZE;
    if (segment === 0) {
      this.#u32[(m + MSG_CONTROLLEN) >>> 2] = 0;
      this.#u32[((m + MSG_CONTROLLEN) >>> 2) + 1] = 0;
      return;
    }
    if (this.#ctl === null) {
      const c = nativeBuffer(this.count * CMSG_SPACE_U16);
      this.#ctl = { buf: c.buf, ptr: c.ptr, u32: new Uint32Array(c.buf.buffer) };
      for (let k = 0; k < this.count; k++) {
        const w = (k * CMSG_SPACE_U16) >>> 2;
        this.#ctl.u32[w] = CMSG_LEN_U16;
        this.#ctl.u32[w + 2] = SOL_UDP;
        this.#ctl.u32[w + 3] = UDP_SEGMENT;
        setPtr(this.#u32, k * MMSG_SIZE + MSG_CONTROL, c.ptr + k * CMSG_SPACE_U16);
      }
    }
    const w = (i * CMSG_SPACE_U16) >>> 2;
    this.#ctl.u32[w + 4] = segment & 0xffff;
    this.#u32[(m + MSG_CONTROLLEN) >>> 2] = CMSG_SPACE_U16;
  }

  /** Sets message i's iov_len (bytes to send, or room to receive into). */
  setLen(i: number, n: number): void {
    this.#iov32[(i * IOV_SIZE + IOV_LEN) >>> 2] = n;
  }

  /** Sets message i's msg_namelen (before recvmmsg: NAME_SIZE; before sendmmsg: the address length). */
  setNameLen(i: number, n: number): void {
    this.#u32[(i * MMSG_SIZE + MSG_NAMELEN) >>> 2] = n;
  }

  /** msg_len after the call: bytes received or sent. */
  msgLen(i: number): number {
    return this.#u32[(i * MMSG_SIZE + MMSG_LEN) >>> 2] as number;
  }

  /** msg_flags after recvmmsg (MSG_TRUNC...). */
  flags(i: number): number {
    return this.#u32[(i * MMSG_SIZE + MSG_FLAGS) >>> 2] as number;
  }

  /**
   * Resets the name lengths of the first `n` messages for the next recvmmsg (the kernel
   * overwrites them; iov lengths it leaves alone, and a receive-only vector never changes them).
   */
  armReceive(n: number): void {
    for (let i = 0; i < n; i++) this.#u32[(i * MMSG_SIZE + MSG_NAMELEN) >>> 2] = NAME_SIZE;
  }

  /** Unpins the buffers; C must no longer hold any pointer into them. */
  release(): void {
    releaseBuffer(this.#vec);
    releaseBuffer(this.#iovBuf);
    releaseBuffer(this.#nameBuf);
    releaseBuffer(this.data);
    if (this.#ctl !== null) releaseBuffer(this.#ctl.buf);
  }
}

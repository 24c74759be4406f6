/**
 * @module platform/linux/unix-dgram
 * AF_UNIX datagram sockets through libc, which Bun has no API for: send one datagram to
 * a socket path (how sd_notify reaches systemd), and a bound receiver (what a test plays
 * systemd with). A path starting with `@` names a socket in the abstract namespace
 * (the `@` becomes a NUL byte, as systemd writes NOTIFY_SOCKET). Also the monotonic
 * clock systemd's MONOTONIC_USEC wants.
 *
 * struct sockaddr_un { sa_family_t sun_family (u16, host order); char sun_path[108]; }
 */

import { SysError } from "../../lib/errors.ts";
import { ERRNO } from "../../lib/errno.ts";
import { cString, errno, HOST_LE, libc, SOCK_CLOEXEC, SOCK_DGRAM } from "./libc.ts";

/** Address family of Unix sockets. */
export const AF_UNIX = 1;
/** sizeof(sun_path). */
export const SUN_PATH_SIZE = 108;
/** Offset of sun_path in struct sockaddr_un. */
const SUN_PATH_OFFSET = 2;
/** send(2) flag: no SIGPIPE. */
const MSG_NOSIGNAL = 0x4000;
/** recv(2) flag: do not block. */
const MSG_DONTWAIT = 0x40;
/** clock_gettime(2) clock id. */
const CLOCK_MONOTONIC = 1;
/** Biggest datagram the receiver reads. */
const RECEIVE_SIZE = 4096;

/**
 * The sockaddr_un for `path`, exactly as long as the address length to pass (abstract:
 * no trailing NUL; a file path: with it). Throws a SysError(EINVAL) when it does not fit.
 */
export function unixAddress(path: string): Uint8Array {
  const abstract = path.startsWith("@");
  const name = abstract ? new TextEncoder().encode(path.slice(1)) : cString(path);
  const pathLen = abstract ? name.length + 1 : name.length;
  if (path.length === 0 || pathLen > SUN_PATH_SIZE) throw new SysError("sendto", 22, `use unix socket address ${JSON.stringify(path)}`, `at most ${SUN_PATH_SIZE - 1} bytes`);
  const out = new Uint8Array(SUN_PATH_OFFSET + pathLen);
  new DataView(out.buffer).setUint16(0, AF_UNIX, HOST_LE);
  out.set(name, SUN_PATH_OFFSET + (abstract ? 1 : 0));
  return out;
}

function datagramSocket(what: string): number {
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SysError("socket", errno(), what);
  return fd;
}

/** Sends `message` as one datagram to the socket at `path`. Throws a SysError. */
export function sendDatagram(path: string, message: string): void {
  const addr = unixAddress(path);
  const data = new TextEncoder().encode(message);
  const fd = datagramSocket(`send to ${path}`);
  try {
    const n = libc.sendto(fd, data, data.length, MSG_NOSIGNAL, addr, addr.length);
    if (n < 0) throw new SysError("sendto", errno(), `send to ${path}`);
  } finally {
    libc.close(fd);
  }
}

/** A bound datagram socket that is read without blocking. */
export class DatagramReceiver {
  readonly path: string;
  #fd: number;
  readonly #buf = new Uint8Array(RECEIVE_SIZE);

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /** Binds a new socket to `path` (a file path must not exist yet). Throws a SysError. */
  static bind(path: string): DatagramReceiver {
    const addr = unixAddress(path);
    const fd = datagramSocket(`bind ${path}`);
    if (libc.bind(fd, addr, addr.length) !== 0) {
      const e = errno();
      libc.close(fd);
      throw new SysError("bind", e, `bind ${path}`);
    }
    return new DatagramReceiver(path, fd);
  }

  /** The next datagram as text, or null when none is waiting. Throws a SysError. */
  receive(): string | null {
    const n = libc.recv(this.#fd, this.#buf, this.#buf.length, MSG_DONTWAIT);
    if (n >= 0) return new TextDecoder().decode(this.#buf.subarray(0, n));
    const e = errno();
    if (e === ERRNO.EAGAIN) return null;
    throw new SysError("recv", e, `receive on ${this.path}`);
  }

  /** Closes the socket (a file path stays; the caller removes it). Idempotent. */
  close(): void {
    if (this.#fd >= 0) libc.close(this.#fd);
    this.#fd = -1;
  }
}

/** CLOCK_MONOTONIC in microseconds (what systemd's MONOTONIC_USEC means). */
export function monotonicMicros(): bigint {
  const ts = new BigInt64Array(2); // struct timespec { time_t tv_sec; long tv_nsec; } on 64-bit Linux
  if (libc.clock_gettime(CLOCK_MONOTONIC, ts) !== 0) throw new SysError("clock_gettime", errno(), "read the monotonic clock");
  return (ts[0] as bigint) * 1_000_000n + (ts[1] as bigint) / 1000n;
}

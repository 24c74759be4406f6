/**
 * @module platform/linux/sockbuf
 * Kernel buffer sizes of a UDP socket. Bun.udpSocket has no option for them and the
 * kernel default (net.core.rmem_default, ~208 KiB) overflows under a burst of tunnel
 * traffic (BUN-NOTES §1: 14-68% loss on unpaced bursts). With CAP_NET_ADMIN,
 * SO_RCVBUFFORCE/SO_SNDBUFFORCE go past net.core.rmem_max; without it we fall back
 * to SO_RCVBUF/SO_SNDBUF, which the kernel caps at rmem_max/wmem_max.
 */

import { readlinkSync } from "node:fs";
import { ERRNO } from "../../lib/errno.ts";
import { SysError } from "../../lib/errors.ts";
import { errno, libc } from "./libc.ts";

// --- <asm-generic/socket.h>
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;

/** True when `fd` is an open socket of this process. */
export function isSocketFd(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:");
  } catch {
    return false;
  }
}

function setInt(fd: number, force: number, plain: number, value: number, what: string): void {
  const v = new Int32Array([value]);
  if (libc.setsockopt(fd, SOL_SOCKET, force, v, 4) === 0) return;
  if (libc.setsockopt(fd, SOL_SOCKET, plain, v, 4) === 0) return;
  throw new SysError("setsockopt", errno(), `set the UDP ${what} buffer to ${value} bytes`);
}

function getInt(fd: number, opt: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  return libc.getsockopt(fd, SOL_SOCKET, opt, v, len) === 0 ? (v[0] as number) : -1;
}

/**
 * Sets receive and send buffers of socket `fd` to `bytes` each. Returns what the
 * kernel granted (it reports double the request, for its own bookkeeping).
 */
export function setSocketBuffers(fd: number, bytes: number): { rcvbuf: number; sndbuf: number } {
  if (!isSocketFd(fd)) throw new SysError("setsockopt", ERRNO.ENOTSOCK, `set UDP buffers: fd ${fd} is not a socket`);
  setInt(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes, "receive");
  setInt(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes, "send");
  return { rcvbuf: getInt(fd, SO_RCVBUF), sndbuf: getInt(fd, SO_SNDBUF) };
}

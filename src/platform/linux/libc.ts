/**
 * @module platform/linux/libc
 * The one and only `dlopen("libc.so.6")` in warren: the few system calls the Linux
 * platform layer needs, typed with string FFI names and 32-bit returns (plain numbers,
 * no BigInt). Each thread that imports this module (the main thread, the TUN poll
 * Worker, the data-path workers) gets its own binding and its own `errno`.
 *
 * Rules for callers (BUN-NOTES §2):
 * - Read `errno()` immediately after a call returned -1; a successful call leaves it stale.
 * - A buffer whose pointer is cached as a number must stay referenced for as long as C
 *   may touch it: allocate it with {@link nativeBuffer} and drop it with {@link releaseBuffer}.
 *   Buffers passed directly as a `ptr` argument are only used during that call and need nothing.
 * - Constants below are the Linux generic ABI values (identical on x86_64 and aarch64);
 *   errno values are in `lib/errno.ts` (SysError names them).
 */

import { dlopen, ptr, read as readMem, type Pointer } from "bun:ffi";

const lib = dlopen("libc.so.6", {
  open: { args: ["ptr", "i32", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: "i32" },
  write: { args: ["i32", "ptr", "u64"], returns: "i32" },
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  ppoll: { args: ["ptr", "u64", "ptr", "ptr"], returns: "i32" },
  if_nametoindex: { args: ["ptr"], returns: "u32" },
  eventfd: { args: ["u32", "i32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i32" },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  recvmmsg: { args: ["i32", "ptr", "u32", "i32", "ptr"], returns: "i32" },
  sendmmsg: { args: ["i32", "ptr", "u32", "i32"], returns: "i32" },
  socketpair: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
  clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
});

/**
 * The bound libc functions. `read`/`write`/`open`/`ioctl`/... return -1 on failure
 * (then call {@link errno}); `if_nametoindex` returns 0 on failure.
 */
export const libc = lib.symbols;

/** errno of the calling thread; meaningful only right after a call that failed. */
export function errno(): number {
  const loc = lib.symbols.__errno_location();
  return loc === null ? 0 : readMem.i32(loc, 0);
}

/** True on little-endian hosts (x86_64, aarch64): byte order for host-order struct fields. */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// --- open(2) flags
/** open(2): read and write. */
export const O_RDWR = 0o2;
/** open(2): non-blocking reads and writes. */
export const O_NONBLOCK = 0o4000;
/** open(2): close the fd in exec'd children. */
export const O_CLOEXEC = 0o2000000;

// --- eventfd(2)
/** eventfd flag: close on exec. */
export const EFD_CLOEXEC = 0o2000000;
/** eventfd flag: non-blocking reads and writes. */
export const EFD_NONBLOCK = 0o4000;
/** Bytes of an eventfd counter read or write (u64). */
export const EVENTFD_WORD = 8;

// --- socket(2)
/** Address family of local (Unix) sockets. */
export const AF_UNIX = 1;
/** Address family IPv4. */
export const AF_INET = 2;
/** Address family IPv6. */
export const AF_INET6 = 10;
/** Datagram socket, used only as a handle for interface ioctls. */
export const SOCK_DGRAM = 2;
/** socket(2) type flag: close on exec. */
export const SOCK_CLOEXEC = 0o2000000;
/** socket(2) type flag: non-blocking. */
export const SOCK_NONBLOCK = 0o4000;

// --- poll(2)
/** Data to read. */
export const POLLIN = 0x1;
/** Size of struct pollfd { int fd; short events; short revents; } */
export const POLLFD_SIZE = 8;
/** Offset of `fd` in struct pollfd. */
export const POLLFD_FD = 0;
/** Offset of `events` in struct pollfd. */
export const POLLFD_EVENTS = 4;
/** Offset of `revents` in struct pollfd. */
export const POLLFD_REVENTS = 6;
/** Size of struct timespec { time_t tv_sec; long tv_nsec; } (64-bit), ppoll's timeout. */
export const TIMESPEC_SIZE = 16;
/** Offset of `tv_sec` in struct timespec. */
export const TIMESPEC_SEC = 0;
/** Offset of `tv_nsec` in struct timespec. */
export const TIMESPEC_NSEC = 8;

/** Buffers whose pointers are cached somewhere: kept reachable so the GC cannot free them. */
const keepAlive = new Set<Uint8Array>();

/**
 * A zeroed buffer outside the small-array GC heap, pinned in a module-level set until
 * {@link releaseBuffer}. Returns the view and its pointer (taken once).
 */
export function nativeBuffer(size: number): { buf: Uint8Array; ptr: Pointer } {
  const buf = new Uint8Array(new ArrayBuffer(size));
  keepAlive.add(buf);
  return { buf, ptr: ptr(buf) };
}

/** Unpins a buffer from {@link nativeBuffer}; C must no longer hold its pointer. */
export function releaseBuffer(buf: Uint8Array): void {
  keepAlive.delete(buf);
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of `text` (UTF-8), for `const char *` arguments used during one call. */
export function cString(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}

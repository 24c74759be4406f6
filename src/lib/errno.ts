/**
 * @module lib/errno
 * The errno values warren branches on or names in a message: the one table of them
 * (Linux generic ABI, identical on x86_64 and aarch64). `platform/linux/` compares the
 * errno of a failed call with `ERRNO.EAGAIN` and friends; `SysError` (errors.ts) turns
 * the number back into its name. Numbers only here: no file keeps its own copy.
 */

/** errno name -> number. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  /** File descriptor in bad state: a TUN fd whose interface was deleted. */
  EBADFD: 77,
  ENOTSOCK: 88,
  EMSGSIZE: 90,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENOBUFS: 105,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
} as const;

const NAMES = new Map<number, string>(Object.entries(ERRNO).map(([name, n]) => [n, name]));

/** errno number -> symbolic name (`EACCES`), or `errno N` when unknown. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/**
 * @module platform/linux/tun
 * Creates (or attaches to) a TUN interface: open `/dev/net/tun` non-blocking and
 * close-on-exec, then `TUNSETIFF` with IFF_TUN | IFF_NO_PI (whole IP packets, no
 * packet-info header). The interface is not persistent: it disappears when the last
 * fd is closed. Configuration (address, MTU, up) is `netconf.ts`'s job.
 */

import { ERRNO } from "../../lib/errno.ts";
import { SysError } from "../../lib/errors.ts";
import { cString, errno, HOST_LE, libc, O_CLOEXEC, O_NONBLOCK, O_RDWR } from "./libc.ts";
import { IFR_UNION, ifreqName, newIfreq } from "./ifreq.ts";

/** The TUN clone device. */
export const TUN_DEVICE = "/dev/net/tun";
/** `_IOW('T', 202, int)`: attach the fd to an interface (linux/if_tun.h). */
export const TUNSETIFF = 0x400454ca;
/** Layer-3 device: reads and writes are IP packets. */
export const IFF_TUN = 0x0001;
/** No 4-byte packet-info header before each packet. */
export const IFF_NO_PI = 0x1000;
/** Offset of `ifr_flags` (a short) in struct ifreq. */
const IFR_FLAGS = IFR_UNION;

const ROOT_HINT = "run as root or with CAP_NET_ADMIN";
const MODULE_HINT = "load the tun module (modprobe tun)";

const { EACCES, EBUSY, EINVAL, ENODEV, ENOENT, ENXIO, EPERM } = ERRNO;

/** Fix hint for a failed open of /dev/net/tun. */
function openHint(err: number): string | undefined {
  if (err === EACCES || err === EPERM) return ROOT_HINT;
  if (err === ENOENT || err === ENODEV || err === ENXIO) return MODULE_HINT;
  return undefined;
}

/** Fix hint for a failed TUNSETIFF on `name`. */
function setIffHint(err: number, name: string): string | undefined {
  if (err === EBUSY) return `interface ${name} is in use by another process`;
  if (err === EPERM || err === EACCES) return `${ROOT_HINT} (interface ${name} may belong to another user)`;
  if (err === EINVAL) return `an interface named ${name} exists and is not a TUN device of this kind`;
  return undefined;
}

/**
 * Opens TUN interface `name` (created if missing) and returns the fd (O_NONBLOCK,
 * O_CLOEXEC; the caller owns it and must close it) and the name the kernel chose
 * (differs from `name` only for templates such as `warren%d`).
 * Throws ConfigError for an invalid name, SysError (with a fix hint) when a call fails.
 */
export function openTun(name: string): { fd: number; name: string } {
  const { buf, view } = newIfreq(name);
  view.setUint16(IFR_FLAGS, IFF_TUN | IFF_NO_PI, HOST_LE);
  const fd = libc.open(cString(TUN_DEVICE), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    const err = errno();
    throw new SysError("open", err, `open ${TUN_DEVICE}`, openHint(err));
  }
  let attached = false;
  try {
    if (libc.ioctl(fd, TUNSETIFF, buf) < 0) {
      const err = errno();
      throw new SysError("ioctl TUNSETIFF", err, `create TUN interface ${name}`, setIffHint(err, name));
    }
    attached = true;
    return { fd, name: ifreqName(buf) };
  } finally {
    if (!attached) libc.close(fd);
  }
}

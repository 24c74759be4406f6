/**
 * @module platform/linux/tun
 * Creates (or attaches to) a TUN interface: open `/dev/net/tun` non-blocking and
 * close-on-exec, then `TUNSETIFF` with IFF_TUN | IFF_NO_PI (whole IP packets, no
 * packet-info header). The interface is not persistent: it disappears when the last
 * fd is closed. Configuration (address, MTU, up) is `netconf.ts`'s job.
 */

import type { Pointer } from "bun:ffi";
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
/** Several fds (queues) on one interface; the kernel spreads packets over them by flow. */
export const IFF_MULTI_QUEUE = 0x0100;
/** Every read and write starts with a struct virtio_net_hdr (VNET_HDR_LEN bytes): offloads. */
export const IFF_VNET_HDR = 0x4000;
/** Bytes of the virtio_net_hdr the kernel uses by default. */
export const VNET_HDR_LEN = 10;
/** `_IOW('T', 208, unsigned int)`: which offloads user space handles (the argument is the value). */
const TUNSETOFFLOAD = 0x400454d0;
/** TUNSETOFFLOAD bit: partial checksums. */
export const TUN_F_CSUM = 0x01;
/** TUNSETOFFLOAD bit: TCP segmentation offload, IPv4. */
export const TUN_F_TSO4 = 0x02;
/** TUNSETOFFLOAD bit: TCP segmentation offload, IPv6. */
export const TUN_F_TSO6 = 0x04;

/** How openTun creates (or attaches to) the interface. */
export interface TunFlags {
  /** IFF_MULTI_QUEUE: more queues may be opened later with the same name and flags. */
  multiQueue?: boolean;
  /** IFF_VNET_HDR: every packet carries a virtio_net_hdr (see VNET_HDR_LEN). */
  vnetHdr?: boolean;
}
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
  if (err === EINVAL) return `an interface named ${name} exists and is not a TUN device of this kind (or not multi-queue)`;
  return undefined;
}

/**
 * Opens TUN interface `name` (created if missing) and returns the fd (O_NONBLOCK,
 * O_CLOEXEC; the caller owns it and must close it) and the name the kernel chose
 * (differs from `name` only for templates such as `warren%d`). With `flags.multiQueue` the
 * interface is created with IFF_MULTI_QUEUE, and calling this again with the same name
 * and flags opens another queue of it (each fd reads its share of the packets; any fd
 * may write). With `flags.vnetHdr` every read and write carries a virtio_net_hdr.
 * Throws ConfigError for an invalid name, SysError (with a fix hint) when a call fails
 * (EINVAL when the interface exists without the multi-queue flag asked for).
 */
export function openTun(name: string, flags: TunFlags = {}): { fd: number; name: string } {
  const { buf, view } = newIfreq(name);
  const extra = (flags.multiQueue === true ? IFF_MULTI_QUEUE : 0) | (flags.vnetHdr === true ? IFF_VNET_HDR : 0);
  view.setUint16(IFR_FLAGS, IFF_TUN | IFF_NO_PI | extra, HOST_LE);
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

/**
 * Tells the kernel which offloads the reader of `fd` handles (TUN_F_* bits; 0 = none:
 * the kernel then hands over only whole, checksummed packets). Needs IFF_VNET_HDR.
 * Throws SysError.
 */
export function setTunOffload(fd: number, flags: number): void {
  if (libc.ioctl(fd, TUNSETOFFLOAD, flags as unknown as Pointer) < 0) throw new SysError("ioctl TUNSETOFFLOAD", errno(), "set the TUN offloads");
}
